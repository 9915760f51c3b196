#!/usr/bin/env bash
# Makes, once, real kernels with CONFIG_IKHEADERS=y for the tests of kernel images as SOURCE (Debian's
# own kernels are =m or off): Debian's linux-source-6.1 with `make tinyconfig` plus 64BIT, SYSFS and
# IKHEADERS, built once (`make bzImage`, about 1.5 minutes on 2 cores) and its payload compressed three
# ways (zstd, then lz4 and lzo by relinking only the compressed part, seconds each): bzImage-zstd,
# bzImage-lz4, bzImage-lzo. kbuild's own kernel/kheaders_data.tar.xz, which each image embeds, is kept
# beside them as the ground truth, with the config. Cached at $dir/ikheaders-y-6.1.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then default=/var/cache/khpkg-test; else default="${XDG_CACHE_HOME:-$HOME/.cache}/khpkg-test"; fi
dir="${KHPKG_TEST_DEBS:-$default}"
out="$dir/ikheaders-y-6.1"
if [ -f "$out/bzImage-lzo" ]; then echo "IKHEADERS=y kernels: $out (cached)"; exit 0; fi
mkdir -p "$dir"
src="$dir/linux-source-6.1.tar.xz"
if [ ! -f "$src" ]; then
  (cd "$dir" && apt-get download -qq linux-source-6.1 2>/dev/null) || { echo "IKHEADERS=y kernels: apt-get download linux-source-6.1 failed (Debian 12 serves it)" >&2; exit 1; }
  dpkg-deb --fsys-tarfile "$dir"/linux-source-6.1_*.deb | tar -xO ./usr/src/linux-source-6.1.tar.xz > "$src.part"
  mv "$src.part" "$src"
  rm -f "$dir"/linux-source-6.1_*.deb
fi
work=$(mktemp -d "$dir/ikheaders-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xJf "$src"
cd "$work"/linux-source-6.1
log="$dir/ikheaders-build.log"
: > "$log"
make tinyconfig >>"$log" 2>&1
./scripts/config -e 64BIT -e SYSFS -e IKHEADERS -d KERNEL_GZIP -e KERNEL_ZSTD
make olddefconfig >>"$log" 2>&1
rm -rf "$out.part" && mkdir -p "$out.part"
build() { make -j"$(nproc)" bzImage >>"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }; cp arch/x86/boot/bzImage "$out.part/bzImage-$1"; }
build zstd
# The config the archive was made with (its autoconf.h): what /proc/config.gz of these kernels says of the headers.
cp .config "$out.part/config"
# The same vmlinux, its payload compressed another way: only arch/x86/boot/compressed is made again.
./scripts/config -d KERNEL_ZSTD -e KERNEL_LZ4 && make olddefconfig >>"$log" 2>&1 && build lz4
./scripts/config -d KERNEL_LZ4 -e KERNEL_LZO && make olddefconfig >>"$log" 2>&1 && build lzo
cp kernel/kheaders_data.tar.xz "$out.part/kheaders_data.tar.xz"
make -s kernelrelease > "$out.part/release"
rm -rf "$out" && mv "$out.part" "$out"
echo "IKHEADERS=y kernels: $out ($(cat "$out/release"): zstd, lz4 and lzo bzImages)"
