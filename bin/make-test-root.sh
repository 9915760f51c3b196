#!/usr/bin/env bash
# Makes, once, the minimal Debian root the release tests run khpkg in: `debootstrap --variant=minbase`
# from Debian's packages on the machine's own mirror. It has no Node.js, no compiler, no python3:
# what a production server or a container base image has. Cached at $dir/minbase-<suite>.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then default=/var/cache/khpkg-test; else default="${XDG_CACHE_HOME:-$HOME/.cache}/khpkg-test"; fi
dir="${KHPKG_TEST_DEBS:-$default}"
suite=bookworm
root="$dir/minbase-$suite"
mirror=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true; grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true; } | grep -v -- '-security' | head -1 || true)
if [ -x "$root/usr/bin/dpkg" ]; then
  echo "test root: $root (cached)"
else
  if [ "$(id -u)" -ne 0 ]; then echo "test root: debootstrap needs root; the release tests will say they cannot run" >&2; exit 0; fi
  if [ -z "$mirror" ]; then echo "test root: no Debian mirror in the machine's apt sources" >&2; exit 1; fi
  mkdir -p "$dir"
  rm -rf "$root.part"
  debootstrap --variant=minbase "$suite" "$root.part" "$mirror" >"$dir/debootstrap.log" 2>&1 || { tail -5 "$dir/debootstrap.log" >&2; exit 1; }
  rm -rf "$root.part/var/cache/apt/archives/"*.deb
  mv "$root.part" "$root"
  echo "test root: $root ($(du -sh "$root" | cut -f1))"
fi

# The arm64 tests' sysroot: an arm64 Debian root that is only unpacked (debootstrap --foreign: its
# second stage would run arm64 programs, and without binfmt_misc this machine cannot exec them),
# which qemu-aarch64-static reads libc6 and libstdc++6 from (QEMU_LD_PREFIX). Cached at $dir/minbase-<suite>-arm64.
arm_root="$root-arm64"
if [ -e "$arm_root/usr/lib/aarch64-linux-gnu/libstdc++.so.6" ]; then
  echo "arm64 sysroot: $arm_root (cached)"
elif [ "$(id -u)" -ne 0 ]; then
  echo "arm64 sysroot: debootstrap needs root; the arm64 tests will say they cannot run" >&2
elif [ -z "$mirror" ]; then
  echo "arm64 sysroot: no Debian mirror in the machine's apt sources" >&2; exit 1
else
  rm -rf "$arm_root.part"
  debootstrap --arch=arm64 --variant=minbase --foreign "$suite" "$arm_root.part" "$mirror" >"$dir/debootstrap-arm64.log" 2>&1 || { tail -5 "$dir/debootstrap-arm64.log" >&2; exit 1; }
  rm -rf "$arm_root.part/var/cache/apt/archives/"*.deb "$arm_root.part/debootstrap/"*.deb
  mv "$arm_root.part" "$arm_root"
  echo "arm64 sysroot: $arm_root ($(du -sh "$arm_root" | cut -f1))"
fi

# The DKMS tests' root: the minimal root with what a DKMS machine has, from Debian's packages on the
# same mirror: Debian's dkms (and the compiler it pulls in), linux-base (the kernel package's
# maintainer scripts use it), kbuild's build needs (flex, bison, libelf-dev, libssl-dev, bc) and two
# real third-party DKMS packages that build on 6.12: acpi-call-dkms (vmlinux's exports) and dpdk-kmods-dkms
# (igb_uio, which uses uio.ko's exports: Module.symvers matters). Cached at $dir/dkms-<suite>.
dkms_root="$dir/dkms-$suite"
# The DKMS packages as .debs, for the tests' own apt-get runs with no network: the two the root has
# (apt-get install --reinstall) and a third (apt-get install of a DKMS package after a headers-only
# kernel must end configured): lime-forensics-dkms, which depends on nothing but dkms.
mkdir -p "$dir/dkms-debs"
for pkg in acpi-call-dkms dpdk-kmods-dkms lime-forensics-dkms; do
  ls "$dir/dkms-debs/${pkg}"_*.deb >/dev/null 2>&1 && continue
  (cd "$dir/dkms-debs" && apt-get download -qq "$pkg" 2>/dev/null) || { echo "dkms test root: apt-get download $pkg failed (the DKMS tests need it)" >&2; exit 1; }
done
if [ -x "$dkms_root/usr/sbin/dkms" ]; then echo "dkms test root: $dkms_root (cached)"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then echo "dkms test root: needs root; the DKMS tests will say they cannot run" >&2; exit 0; fi
rm -rf "$dkms_root.part"
cp -a "$root" "$dkms_root.part"
cp /etc/resolv.conf "$dkms_root.part/etc/resolv.conf" 2>/dev/null || true
mount --bind /proc "$dkms_root.part/proc"
trap 'umount -l "$dkms_root.part/proc" 2>/dev/null || true' EXIT
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$dkms_root.part" "$@"; }
in_root apt-get update -qq >"$dir/dkms-root.log" 2>&1 || { tail -5 "$dir/dkms-root.log" >&2; exit 1; }
in_root apt-get install -y -qq --no-install-recommends dkms linux-base kmod flex bison libelf-dev libssl-dev bc xz-utils openssl \
  acpi-call-dkms dpdk-kmods-dkms >>"$dir/dkms-root.log" 2>&1 || { tail -5 "$dir/dkms-root.log" >&2; exit 1; }
in_root apt-get clean
umount -l "$dkms_root.part/proc"
trap - EXIT
mv "$dkms_root.part" "$dkms_root"
echo "dkms test root: $dkms_root ($(du -sh "$dkms_root" | cut -f1))"
