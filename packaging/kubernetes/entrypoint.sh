#!/bin/sh
# khpkg node agent: installs the running node's kernel headers into the host it runs on, then idles
# (a DaemonSet pod) or exits (KHPKG_AGENT_MODE=oneshot: a Job or an init container).
#
# The host's / is mounted at $KHPKG_HOST_ROOT (/host). Headers land at the host's /usr/src, linked
# from /lib/modules/<release>/{source,build}, where BPF tools on the host and in other pods look; the
# links are relative under a root, so they resolve from the host's view and wherever another
# container mounts the host's /lib/modules and /usr/src. Where the headers come from, first found:
#   KHPKG_ARCHIVE           an archive or kheaders.ko the pod was given;
#   /sys/kernel/kheaders.tar.xz   the node's kernel, built with CONFIG_IKHEADERS=y (or the module loaded);
#   the host's /lib/modules/<release>/.../kheaders.ko[.xz|.zst|.gz], read offline: no modprobe and no
#   privileges needed.
# A node whose kernel has no kheaders at all is told in the log and left alone (the pod idles).
set -u
host=${KHPKG_HOST_ROOT:-/host}
mode=${KHPKG_AGENT_MODE:-daemon}
release=${KHPKG_RUNNING_RELEASE:-$(uname -r)}
khpkg=${KHPKG:-}
if [ -z "$khpkg" ]; then
  for k in /opt/khpkg-*/khpkg /usr/bin/khpkg; do [ -x "$k" ] && khpkg=$k; done
fi
say() { echo "khpkg-agent: $*" >&2; }
[ -n "$khpkg" ] || { say "no khpkg in this image"; exit 1; }
[ -d "$host/usr" ] || { say "the host's root is not mounted at $host (hostPath / at $host)"; exit 1; }

# An immutable node (its /usr read-only: Flatcar, Fedora CoreOS): khpkg installs the headers as a
# system extension, which systemd-sysext must merge in the host's own mount namespace, PID 1's
# (hostPID: true, privileged: true; mountPropagation: HostToContainer shows the merge here).
if [ ! -w "$host/usr" ] && [ -z "${KHPKG_SYSEXT_NAMESPACE:-}" ]; then
  if [ "$(readlink /proc/1/ns/mnt 2>/dev/null)" != "$(readlink /proc/self/ns/mnt)" ]; then
    export KHPKG_SYSEXT_NAMESPACE=1
  else
    say "the node's /usr is read-only: its headers go in as a system extension, merged in the host's mount namespace, which this pod cannot reach (give it hostPID: true and privileged: true: daemonset-immutable.yaml)"
    [ "$mode" = oneshot ] && exit 1
    trap 'exit 0' TERM INT
    while :; do sleep 3600 & wait $!; done
  fi
fi

if [ -n "${KHPKG_ARCHIVE:-}" ]; then
  set -- "$KHPKG_ARCHIVE"
elif [ -e "${KHPKG_KHEADERS:-/sys/kernel/kheaders.tar.xz}" ]; then
  set --
else
  set -- --kernel "$release"
fi
"$khpkg" install "$@" --root "$host" 2>&1
status=$?
if [ "$status" -eq 0 ]; then
  "$khpkg" list --root "$host" "$release" 2>&1
else
  say "headers of $release were not installed (exit $status): see the line above"
fi
[ "$mode" = oneshot ] && exit "$status"
# A failure is logged, not restarted in a loop: the node's kernel will not change until it reboots.
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
