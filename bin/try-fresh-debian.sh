#!/usr/bin/env bash
# Tries the README's two set-up commands as a new user would: in a fresh Debian 12 root
# (debootstrap --variant=minbase: no python3, no make, no compiler, no git) given Node 20 and nothing
# else (the node binary, npm, and the headers a Node install keeps, at /usr/local as the official
# tarball lays them), with this project cloned into /root/khpkg (mode 700, where root's clone goes).
# Prints each command's wall time. Needs root (chroot, bind mounts) and the network to Debian's
# mirror; takes most of an hour (the second command installs every test tool and runs the suite).
#   bin/try-fresh-debian.sh [WORKDIR]        (default /var/tmp/khpkg-fresh; removed first)
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "try-fresh-debian: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/khpkg-fresh}
root=$work/root
mirror=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true; grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true; } | grep -v -- '-security' | head -1 || true)
[ -n "$mirror" ] || { echo "try-fresh-debian: no Debian mirror in the machine's apt sources" >&2; exit 1; }

mounts=()
cleanup() { for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
# Never rm -rf through a bind mount of the host's /dev or /proc that an earlier run left behind.
if grep -q " $work/" /proc/mounts; then echo "try-fresh-debian: something is still mounted under $work: umount it first" >&2; exit 1; fi
rm -rf "$work" && mkdir -p "$work"
echo "try-fresh-debian: debootstrap --variant=minbase bookworm $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -5 "$work/debootstrap.log" >&2; exit 1; }

# Node 20, as a Node install has it: the binary, npm, and include/node (the headers node-gyp builds against).
node=$(readlink -f "$(command -v node)")
prefix=$(dirname "$(dirname "$node")")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/include"
cp "$node" "$root/usr/local/bin/node"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
cp -a "$prefix/include/node" "$root/usr/local/include/node"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A Debian 12 machine's apt sources, as the installer writes them (bookworm, -updates, -security:
# Debian's 6.12 kernels for bookworm come from bookworm-security), not debootstrap's one line.
if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
  cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" && rm -f "$root/etc/apt/sources.list"
fi
# This workplace reaches the npm registry through its own TLS authority: a machine of it has that CA
# in its bundle and npm's global config naming it. Carried over as such (the environment, not khpkg's).
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  mkdir -p "$root/etc/ssl/certs" "$root/usr/local/etc"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  for rc in /usr/etc/npmrc /etc/npmrc; do [ -f "$rc" ] && cp "$rc" "$root/usr/local/etc/npmrc" && break; done
fi
# The clone, as git makes it (the root itself has no git): committed files only.
git clone -q "$here" "$root/root/khpkg"
chmod 700 "$root/root"
for m in proc sys dev dev/pts; do
  mkdir -p "$root/$m"
  mount --bind "/$m" "$root/$m"
  mounts=("$root/$m" "${mounts[@]}")
done
in_root() { env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 CI="${CI:-}" ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS} chroot "$root" sh -c "cd /root/khpkg && $1"; }

t0=$(date +%s)
first=0
in_root 'npm start' >"$work/first.log" 2>&1 || first=$?
grep -E '^khpkg:|^Building|^The running|^installed|^wrote|Package:|entries' "$work/first.log" | sed 's/^/  first: /' | tail -20
t1=$(date +%s)
echo "try-fresh-debian: the first command (npm start) exited $first in $((t1 - t0)) s"
second=0
in_root 'npm run setup && npm test' >"$work/second.log" 2>&1 || second=$?
t2=$(date +%s)
tail -25 "$work/second.log" | sed 's/^/  second: /'
echo "try-fresh-debian: the second command (npm run setup && npm test) exited $second in $((t2 - t1)) s (log: $work/second.log)"
[ "$first" -eq 0 ] && [ "$second" -eq 0 ]
