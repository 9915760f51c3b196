#!/usr/bin/env bash
# Makes, once, the arm64 tests' real arm64 kheaders: Debian's kernels carry none (their configs say
# `# CONFIG_IKHEADERS is not set`), so it is made the way the shared corpus' x86-64 archives were, by
# the kernel's own build: Debian's linux-source-6.12 with Debian's arm64 config plus CONFIG_IKHEADERS=m,
# cross-built (`make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- kernel/kheaders.o`, which runs
# kernel/gen_kheaders.sh), then kernel/kheaders.c and that archive built as a module with kbuild's
# M= rules (modpost without vmlinux's symbols: KBUILD_MODPOST_WARN). Kept in $dir/arm64-kheaders-<rel>/:
# kheaders.tar.xz (what /sys/kernel/kheaders.tar.xz serves), kheaders.ko.xz (as Debian compresses
# modules) and config (the config it was built with, for /proc/config.gz).
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then default=/var/cache/khpkg-test; else default="${XDG_CACHE_HOME:-$HOME/.cache}/khpkg-test"; fi
dir="${KHPKG_TEST_DEBS:-$default}"
config=$(ls "$dir"/arm64-kernel-*/boot/config-* 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$config" ] || [ ! -f "$dir/linux-source-6.12.tar.xz" ]; then
  echo "arm64 kheaders: no arm64 kernel config or linux-source-6.12 in $dir (bin/fetch-kbuild-test-debs.sh): the arm64 tests will say they cannot run" >&2
  exit 0
fi
rel=${config##*/config-}
out="$dir/arm64-kheaders-$rel"
if [ -f "$out/kheaders.ko.xz" ]; then echo "arm64 kheaders: $out (cached)"; exit 0; fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then echo "arm64 kheaders: needs Debian's gcc-aarch64-linux-gnu" >&2; exit 1; fi
work="$dir/arm64-kheaders.work"
rm -rf "$work" "$out.part" && mkdir -p "$work/module" "$out.part"
trap 'rm -rf "$work"' EXIT
tar -xJf "$dir/linux-source-6.12.tar.xz" -C "$work"
src="$work/linux-source-6.12"
kmake=(make -C "$src" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- "KERNELRELEASE=$rel" "KBUILD_BUILD_TIMESTAMP=Thu Nov 20 00:00:00 UTC 2025" -j"$(nproc)")
cp "$config" "$src/.config"
"$src/scripts/config" --file "$src/.config" --module IKHEADERS
"${kmake[@]}" olddefconfig >"$work/build.log" 2>&1
"${kmake[@]}" modules_prepare kernel/kheaders.o >>"$work/build.log" 2>&1 || { tail -5 "$work/build.log" >&2; exit 1; }
cp "$src/kernel/kheaders.c" "$src/kernel/kheaders_data.tar.xz" "$work/module/"
printf 'obj-m := kheaders.o\n$(obj)/kheaders.o: $(obj)/kheaders_data.tar.xz\n' > "$work/module/Kbuild"
KBUILD_MODPOST_WARN=1 "${kmake[@]}" M="$work/module" modules >>"$work/build.log" 2>&1 || { tail -5 "$work/build.log" >&2; exit 1; }
cp "$src/kernel/kheaders_data.tar.xz" "$out.part/kheaders.tar.xz"
cp "$src/.config" "$out.part/config"
xz --check=crc32 -c "$work/module/kheaders.ko" > "$out.part/kheaders.ko.xz"
mv "$out.part" "$out"
echo "arm64 kheaders: $out ($(du -sh "$out" | cut -f1))"
