# Sourced by bin/main-job.sh and bin/setup-test-deps.sh before `npm ci`: what the native addons
# (better-sqlite3, lzma-native's -O2 rebuild, zstd-napi) need to compile on a machine that has only
# Node.js. A fresh Debian 12 lacks python3, make and a C++ compiler, and bzip2 (lzma-native unpacks
# its bundled xz-5.2.3.tar.bz2): installed from Debian's packages when root (else one line says what
# to install). node-gyp would download Node's headers, which a
# machine that reaches only the package registries cannot: it is pointed at the headers the local
# Node install keeps (<prefix>/include/node, as the official tarballs and Debian's nodejs lay them).
need=()
command -v python3 >/dev/null || need+=(python3)
command -v make >/dev/null || need+=(make)
command -v g++ >/dev/null || need+=(g++)
command -v bzip2 >/dev/null || need+=(bzip2)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "khpkg: the native addons need ${need[*]} to compile, and installing them needs root: apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "khpkg: installing what the native addons compile with: ${need[*]} (Debian's packages)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi
