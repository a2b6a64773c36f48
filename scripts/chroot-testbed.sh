#!/usr/bin/env bash
# A Debian machine in a directory, for the test beds that run in a chroot (the molecule targets,
# a newcomer's fresh machine): a pristine root filesystem from scripts/debian-rootfs.sh with what
# an installer leaves (name resolution, /etc/hosts) and the kernel's file systems mounted, and the
# way to take all of it down again.
#
#   scripts/chroot-testbed.sh create DIR SUITE PACKAGES   # DIR/rootfs: minbase plus PACKAGES (comma-separated)
#   scripts/chroot-testbed.sh destroy DIR                 # stop its processes, unmount, remove DIR
#   scripts/chroot-testbed.sh check-destroyed DIR         # fail, naming them, if processes, mounts or files remain
#
# The chroot shares the controller's network namespace. Its processes are the ones rooted in
# DIR/rootfs (daemons started in it, such as sshd or cron, and what they run) or naming DIR on
# their command line (helpers the caller started outside it). Needs root (debootstrap, chroot, mount).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MARKER=.chroot-testbed

log() { printf 'chroot-testbed: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

create() {
  local dir=$1 suite=$2 packages=$3 rootfs=$1/rootfs
  [[ ! -e $dir ]] || die "$dir exists; run: $0 destroy $dir"
  mkdir -p "$dir"
  chmod 0700 "$dir"
  : >"$dir/$MARKER"
  "$REPO/scripts/debian-rootfs.sh" "$suite" "$packages" "$rootfs"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  # sudo, Ansible's facts and mail agents look the host name up; the chroot shares the controller's.
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$(hostname)" >"$rootfs/etc/hosts"
  mount -t proc proc "$rootfs/proc"
  mount --bind /dev "$rootfs/dev"
  mount --bind /dev/pts "$rootfs/dev/pts"
  # Its own /dev/shm: POSIX semaphores (Python's multiprocessing, so Ansible) for unprivileged users.
  mount -t tmpfs -o mode=1777,nosuid,nodev shm "$rootfs/dev/shm"
}

testbed_pids() {
  TESTBED_DIR=$1 python3 - <<'EOF'
import os
directory = os.environ["TESTBED_DIR"].rstrip("/")
# This script and its callers name DIR too.
ancestors, pid = set(), os.getpid()
while pid > 1:
    ancestors.add(pid)
    with open(f"/proc/{pid}/stat") as f:
        pid = int(f.read().rpartition(")")[2].split()[1])
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) in ancestors:
        continue
    try:
        root = os.readlink(f"/proc/{pid}/root")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:  # gone meanwhile
        continue
    if root.startswith(directory + "/") or directory in cmdline:
        print(pid, cmdline or "[" + root + "]")
EOF
}

# Mount points at or under DIR, deepest first.
testbed_mounts() {
  local dir=${1%/}
  awk -v dir="$dir" '$5 == dir || index($5, dir "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

stop_processes() {
  local dir=$1 signal pids
  pids=$(testbed_pids "$dir")
  [[ -z $pids ]] || log "stopping:"$'\n'"$pids"
  for signal in TERM TERM TERM TERM TERM KILL; do
    pids=$(testbed_pids "$dir" | cut -d' ' -f1)
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086 # one argument per pid
    kill -"$signal" $pids 2>/dev/null || true
    sleep 0.5
  done
  pids=$(testbed_pids "$dir")
  [[ -z $pids ]] || die "processes survived SIGKILL: $pids"
}

destroy() {
  local dir=$1 mountpoint
  [[ -e $dir ]] || { log "$dir does not exist: nothing to destroy"; return; }
  [[ -f $dir/$MARKER ]] || die "$dir was not made by this script (no $MARKER); not touching it"
  stop_processes "$dir"
  for mountpoint in $(testbed_mounts "$dir"); do
    umount "$mountpoint"
  done
  [[ -z $(testbed_mounts "$dir") ]] || die "still mounted under $dir: $(testbed_mounts "$dir")"
  # --one-file-system: never follow into a mount that appeared meanwhile (such as the host's /dev).
  rm -rf --one-file-system "$dir"
  log "destroyed $dir"
}

check_destroyed() {
  local dir=$1 leftovers
  leftovers=$(
    testbed_pids "$dir" | sed 's/^/process: /'
    testbed_mounts "$dir" | sed 's/^/mount: /'
    if [[ -e $dir ]]; then echo "directory: $dir"; fi
  )
  [[ -z $leftovers ]] || die "left behind by the test bed:"$'\n'"$leftovers"
  log "nothing of $dir is left: no process, mount or file"
}

main() {
  local usage="usage: $0 create DIR SUITE PACKAGES | destroy DIR | check-destroyed DIR"
  [[ $# -ge 2 ]] || die "$usage"
  [[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mount)"
  local command=$1 dir
  dir=$(realpath --canonicalize-missing "$2")
  case $command:$# in
    create:4) create "$dir" "$3" "$4" ;;
    destroy:2) destroy "$dir" ;;
    check-destroyed:2) check_destroyed "$dir" ;;
    *) die "$usage" ;;
  esac
}

main "$@"
