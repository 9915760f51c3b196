#!/usr/bin/env bash
# The main job: build the running kernel's linux-headers package from its own kheaders archive, or,
# where the kernel has none (most CI machines and VMs), from the bundled real 6.12 archive. On a
# fresh checkout it first installs the dependencies (npm ci, with what they compile with) and builds.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ]; then
  . bin/native-build-env.sh
  echo "khpkg: npm ci: compiling the native addons (better-sqlite3, lzma-native -O2, zstd-napi) takes about three minutes; their compiler lines follow"
  npm ci --foreground-scripts
fi
[ -f dist/commands/build.js ] || npm run build
out=${KHPKG_OUT:-out}
fixture=test/fixtures/6.12.117+deb12-amd64-x86_64
if [ -e /sys/kernel/kheaders.tar.xz ] || modinfo kheaders >/dev/null 2>&1; then
  echo "Building the running kernel's headers ($(uname -r)) into $out/"
  src=()
else
  echo "The running kernel ($(uname -r)) has no kheaders archive: using the bundled real archive $fixture.tar.xz"
  src=("$fixture.tar.xz" --config "$fixture.config")
fi
node bin/run.js inspect "${src[@]:0:1}"
node bin/run.js build "${src[@]}" --out "$out" --format deb --format rpm --verbose
if command -v dpkg-deb >/dev/null; then
  for deb in "$out"/*.deb; do
    dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'
    echo "  $(dpkg-deb --contents "$deb" | wc -l) entries, e.g.:"
    dpkg-deb --contents "$deb" | grep -E ' ./lib/modules/.*/build| ./usr/src/[^/]+/include/linux/kconfig.h$| \./usr/src/[^/]+/\.config$' | sed 's/^/    /'
  done
fi
if command -v rpm >/dev/null; then
  for r in "$out"/*.rpm; do
    rpm -qp --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}\n' "$r"
    rpm -K "$r"
    rpm -qp --provides "$r" | sed 's/^/  provides /'
  done
fi
