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

TESTBED_NAME=chroot-testbed
# shellcheck source=scripts/testbed-lib.sh
. "$REPO/scripts/testbed-lib.sh"

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

destroy() {
  local dir=$1
  [[ -e $dir ]] || { log "$dir does not exist: nothing to destroy"; return; }
  [[ -f $dir/$MARKER ]] || die "$dir was not made by this script (no $MARKER); not touching it"
  testbed_stop_processes "$dir"
  testbed_unmount_and_remove "$dir"
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
    check-destroyed:2) testbed_check_destroyed "$dir" ;;
    *) die "$usage" ;;
  esac
}

main "$@"
