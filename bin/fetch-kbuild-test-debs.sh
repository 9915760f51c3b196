#!/usr/bin/env bash
# Fetches the Debian packages the module-build tests use, once, into KHPKG_TEST_DEBS (default
# /var/cache/khpkg-test): the kernel source of the bundled archive's major.minor (linux-source-6.12),
# and the newest linux-image-*-cloud-amd64-unsigned with its linux-headers of that series (its
# modules to rebuild Module.symvers from, and Debian's own Module.symvers to compare with). The ABI
# is whatever Debian serves that day, so the tests do not break when Debian moves on.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then default=/var/cache/khpkg-test; else default="${XDG_CACHE_HOME:-$HOME/.cache}/khpkg-test"; fi
dir="${KHPKG_TEST_DEBS:-$default}"
series=6.12
mkdir -p "$dir"
cd "$dir"
# The newest ABI of the series Debian serves today, from the machine's apt lists; lists that are old
# (a machine image's, made months ago) or absent name kernels the mirror no longer has: updated once.
newest_abi() { apt-cache search --names-only "^linux-headers-${series//./\\.}\\.[0-9]+\\+deb[0-9]+-cloud-amd64\$" | awk '{print $1}' | sed 's/^linux-headers-//' | sort -V | tail -1; }
abi=""
[ -f abi ] && [ -d "image-$(cat abi)" ] && abi=$(cat abi)
if [ -z "$abi" ]; then
  apt-get update -qq || echo "fetch: apt-get update failed; trying the lists the machine has" >&2
  abi=$(newest_abi)
fi
if [ -z "$abi" ]; then echo "fetch: Debian serves no linux-headers-${series}.*-cloud-amd64 in this machine's apt sources (after apt-get update; Debian 12 has them in bookworm-security): the module-build tests need one" >&2; exit 1; fi
fetch() { ls "$1"_*.deb >/dev/null 2>&1 || apt-get download -qq "$1"; }
# Unpacked once: the source tarball, the modules (and their System.map stub) and Debian's Module.symvers.
if [ ! -f "linux-source-${series}.tar.xz" ]; then
  fetch "linux-source-${series}"
  dpkg-deb --fsys-tarfile "linux-source-${series}"_*.deb | tar -xO "./usr/src/linux-source-${series}.tar.xz" > "linux-source-${series}.tar.xz.part"
  mv "linux-source-${series}.tar.xz.part" "linux-source-${series}.tar.xz"
  rm -f "linux-source-${series}"_*.deb
fi
if [ ! -d "image-${abi}" ]; then
  fetch "linux-image-${abi}-unsigned"
  fetch "linux-headers-${abi}"
  rm -rf "image-${abi}.part" && mkdir "image-${abi}.part"
  dpkg-deb -x "linux-image-${abi}-unsigned"_*.deb "image-${abi}.part"
  dpkg-deb -x "linux-headers-${abi}"_*.deb "image-${abi}.part"
  mv "image-${abi}.part" "image-${abi}"
  rm -f "linux-image-${abi}-unsigned"_*.deb "linux-headers-${abi}"_*.deb
fi
# The kernel package's own maintainer scripts (postinst runs /etc/kernel/postinst.d, where DKMS and
# khpkg hook in), for the DKMS tests' kernel package.
if [ ! -f "image-${abi}.control/postinst" ]; then
  fetch "linux-image-${abi}-unsigned"
  rm -rf "image-${abi}.control" && dpkg-deb -e "linux-image-${abi}-unsigned"_*.deb "image-${abi}.control"
  rm -f "linux-image-${abi}-unsigned"_*.deb
fi
echo "$abi" > abi

# The kernel package of the bundled 6.12 archive's own kernel: its vmlinuz (BTF, for the CO-RE tests),
# and the whole .deb, kept in kernel-pkgs/ (the fleet tests read real distro kernel packages). Named by
# the fixture's release; Debian serves it as long as that upload is current.
fixture_rel=6.12.117+deb12-amd64
if [ ! -f "vmlinuz-${fixture_rel}" ] || ! ls kernel-pkgs/linux-image-"${fixture_rel}"-unsigned_*.deb >/dev/null 2>&1; then
  if fetch "linux-image-${fixture_rel}-unsigned"; then
    dpkg-deb --fsys-tarfile "linux-image-${fixture_rel}-unsigned"_*.deb | tar -xO "./boot/vmlinuz-${fixture_rel}" > "vmlinuz-${fixture_rel}.part"
    mv "vmlinuz-${fixture_rel}.part" "vmlinuz-${fixture_rel}"
    mkdir -p kernel-pkgs
    mv "linux-image-${fixture_rel}-unsigned"_*.deb kernel-pkgs/
  else
    echo "fetch: Debian no longer serves linux-image-${fixture_rel}-unsigned: the CO-RE tests use ${abi}'s image with raw BTF, and the fleet tests say they cannot run" >&2
  fi
fi
echo "fetch: kbuild test inputs in $dir (linux-source-${series}, ${abi})"

# An arm64 kernel package, through a private apt state with [arch=arm64] on the machine's mirror (the
# machine's own apt configuration is never changed): the newest 6.12 arm64 image Debian 12 serves.
# Kept: its vmlinuz (the BTF tests read its Image.gz/EFI zboot payload) and its config, as
# arm64-kernel-<release>/boot/config-<release> (Debian's kernels carry no kheaders: the arm64 tests'
# archive is made from it by bin/make-arm64-kheaders.sh).
if ! ls vmlinuz-*-arm64 >/dev/null 2>&1 || ! ls -d arm64-kernel-* >/dev/null 2>&1; then
  mirror=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true; grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true; } | grep -v -- '-security' | head -1 || true)
  state="$dir/arm64-apt"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  echo "deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/debian*}/debian-security bookworm-security main" > "$state/sources.list"
  apt_arm64=(-o Acquire::Check-Valid-Until=false -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o "Dir::State=$state" -o "Dir::State::Lists=$state/lists"
    -o Dir::State::status=/dev/null -o "Dir::Cache=$state/cache" -o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null -o APT::Sandbox::User=root)
  apt-get "${apt_arm64[@]}" update -qq
  arm_pkg=$(apt-cache "${apt_arm64[@]}" search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-arm64-unsigned$' | awk '{print $1}' | sort -V | tail -1)
  if [ -n "$arm_pkg" ]; then
    (cd "$state" && apt-get "${apt_arm64[@]}" download -qq "$arm_pkg:arm64")
    arm_rel=${arm_pkg#linux-image-}; arm_rel=${arm_rel%-unsigned}
    dpkg-deb --fsys-tarfile "$state/${arm_pkg}"_*.deb | tar -xO "./boot/vmlinuz-${arm_rel}" > "vmlinuz-${arm_rel}.part"
    mv "vmlinuz-${arm_rel}.part" "vmlinuz-${arm_rel}"
    rm -rf "arm64-kernel-${arm_rel}.part" && mkdir "arm64-kernel-${arm_rel}.part"
    dpkg-deb --fsys-tarfile "$state/${arm_pkg}"_*.deb | tar -x -C "arm64-kernel-${arm_rel}.part" "./boot/config-${arm_rel}"
    mv "arm64-kernel-${arm_rel}.part" "arm64-kernel-${arm_rel}"
  else
    echo "fetch: Debian 12 serves no linux-image-6.12.*-arm64-unsigned: the arm64 BTF test will say it cannot run" >&2
  fi
  rm -rf "$state"
fi

# The newest series (7.x, CONFIG_MODVERSIONS off, Kconfig's rustc_cfg): Debian sid's linux-source-7.2,
# through a private apt state that lists sid on the machine's own Debian mirror (the machine's apt
# sources and state are never changed).
new_series=7.2
if [ ! -f "linux-source-${new_series}.tar.xz" ]; then
  mirror=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true; grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true; } | grep -v -- '-security' | head -1 || true)
  if [ -z "$mirror" ]; then echo "fetch: no Debian mirror in the machine's apt sources to fetch sid's linux-source-${new_series} from" >&2; exit 1; fi
  state="$dir/sid-apt"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" > "$state/sources.list"
  # A mirror's sid Release can be past its Valid-Until for a while: this private state does not mind.
  apt_sid=(-o Acquire::Check-Valid-Until=false -o "Dir::State=$state" -o "Dir::State::Lists=$state/lists" -o Dir::State::status=/var/lib/dpkg/status -o "Dir::Cache=$state/cache"
    -o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null -o APT::Sandbox::User=root)
  apt-get "${apt_sid[@]}" update -qq
  apt-get "${apt_sid[@]}" download -qq "linux-source-${new_series}"
  dpkg-deb --fsys-tarfile "linux-source-${new_series}"_*.deb | tar -xO "./usr/src/linux-source-${new_series}.tar.xz" > "linux-source-${new_series}.tar.xz.part"
  mv "linux-source-${new_series}.tar.xz.part" "linux-source-${new_series}.tar.xz"
  rm -rf "linux-source-${new_series}"_*.deb "$state"
fi
echo "fetch: linux-source-${new_series} in $dir"
