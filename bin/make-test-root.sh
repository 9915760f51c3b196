#!/usr/bin/env bash
# Makes, once, the minimal Debian root the release tests run khpkg in: `debootstrap --variant=minbase`
# from Debian's packages on the machine's own mirror. It has no Node.js, no compiler, no python3:
# what a production server or a container base image has. Cached at $dir/minbase-<suite>.
set -euo pipefail
if [ "$(id -u)" -eq 0 ]; then default=/var/cache/khpkg-test; else default="${XDG_CACHE_HOME:-$HOME/.cache}/khpkg-test"; fi
dir="${KHPKG_TEST_DEBS:-$default}"
suite=bookworm
root="$dir/minbase-$suite"
[ -x "$root/usr/bin/dpkg" ] && { echo "test root: $root (cached)"; exit 0; }
if [ "$(id -u)" -ne 0 ]; then echo "test root: debootstrap needs root; the release tests will say they cannot run" >&2; exit 0; fi
mirror=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true; grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true; } | grep -v -- '-security' | head -1 || true)
if [ -z "$mirror" ]; then echo "test root: no Debian mirror in the machine's apt sources" >&2; exit 1; fi
mkdir -p "$dir"
rm -rf "$root.part"
debootstrap --variant=minbase "$suite" "$root.part" "$mirror" >"$dir/debootstrap.log" 2>&1 || { tail -5 "$dir/debootstrap.log" >&2; exit 1; }
rm -rf "$root.part/var/cache/apt/archives/"*.deb
mv "$root.part" "$root"
echo "test root: $root ($(du -sh "$root" | cut -f1))"
