#!/bin/sh
# The peers of the e2e tests leave a few things at fixed host paths that no flag moves: Podman 4.3
# its SHM lock file, containerd's shims their fifo/ and s/ directories under /run/containerd, and
# slipway-runc under Podman (which cannot pass --root to its cleanup) its default root with the
# seccomp cache. `save STATE` (before any test) records which of them exist; `remove STATE` (after
# the last test) removes those that did not, and only in the shape the peers leave them: empty
# directories, the runtime root with nothing but its cache, the lock file.
# usage: tests/peer_leftovers.sh save|remove STATE_FILE
set -eu
[ "$(id -u)" -eq 0 ] || exit 0  # the peers run in root and e2e tests only
state=$2
paths="/dev/shm/libpod_lock /run/containerd/fifo /run/containerd/s /run/containerd /run/slipway-runc"
case $1 in
  save)
    : >"$state"
    for p in $paths; do [ -e "$p" ] && echo "$p" >>"$state"; done
    exit 0 ;;
  remove)
    [ -f "$state" ] || exit 0
    for p in $paths; do
      grep -qxF "$p" "$state" && continue
      case $p in
        /dev/shm/libpod_lock) rm -f "$p" ;;
        /run/slipway-runc) [ -d "$p/.cache" ] && [ -z "$(ls -A "$p" | grep -vx .cache)" ] && rm -rf "$p/.cache"
                           rmdir "$p" 2>/dev/null || true ;;
        *) rmdir "$p" 2>/dev/null || true ;;
      esac
    done
    rm -f "$state" ;;
  *) echo "usage: $0 save|remove STATE_FILE" >&2; exit 2 ;;
esac
