#!/usr/bin/env bash
# A VPS-like test bed for molecule, without Docker: a Debian bookworm root filesystem with its own
# users, files and cron, whose sshd listens on a loopback port and lets in an `admin` user with
# passwordless sudo (as a cloud image's default user), plus the Zoho stand-in on the controller's
# loopback. The target shares the controller's network namespace, so it reaches the stand-in too.
#
#   scripts/molecule-testbed.sh create DIR           # rootfs (cached or debootstrapped), sshd, stand-in
#   scripts/molecule-testbed.sh destroy DIR          # stop all of it, unmount, remove DIR
#   scripts/molecule-testbed.sh check-destroyed DIR  # fail, naming them, if processes, mounts or files remain
#
# DIR then holds: rootfs/, id_ed25519 (the admin's key), known_hosts (the target's host key),
# sshd.port, sandbox.url (the stand-in's base URL) and sandbox.log.
# Needs root (debootstrap, chroot, mount). The pristine rootfs comes from scripts/debian-rootfs.sh,
# which caches it.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE=bookworm
# python3 for Ansible's modules, python3-apt for the apt module's check mode (Debian's cloud images
# ship it with unattended-upgrades), sshd, sudo for become. cron is left out: installing it is the
# role's job. The tools need nothing beyond python3's standard library.
PACKAGES=python3,python3-apt,openssh-server,sudo
ADMIN=admin
# uid 1000 stays free for OpenClaw's node user, which prepare creates.
ADMIN_UID=1001
MARKER=.molecule-testbed

TESTBED_NAME=molecule-testbed
# shellcheck source=scripts/testbed-lib.sh
. "$REPO/scripts/testbed-lib.sh"

# What a provider's image adds: name resolution, no daemons started by package scripts inside a
# chroot, an admin user that logs in with a key and has passwordless sudo.
configure_rootfs() {
  local dir=$1 rootfs=$1/rootfs
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  # sudo looks the host name up; the chroot shares the controller's.
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$(hostname)" >"$rootfs/etc/hosts"
  printf '#!/bin/sh\n# molecule test bed: package scripts must not start daemons in the chroot.\nexit 101\n' \
    >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  chroot "$rootfs" useradd --create-home --shell /bin/bash --uid "$ADMIN_UID" --groups sudo "$ADMIN"
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$ADMIN" >"$rootfs/etc/sudoers.d/90-$ADMIN"
  chmod 0440 "$rootfs/etc/sudoers.d/90-$ADMIN"
  ssh-keygen -q -t ed25519 -N '' -C "molecule-testbed-$ADMIN" -f "$dir/id_ed25519"
  install -d -m 0700 -o "$ADMIN_UID" -g "$ADMIN_UID" "$rootfs/home/$ADMIN/.ssh"
  install -m 0600 -o "$ADMIN_UID" -g "$ADMIN_UID" "$dir/id_ed25519.pub" "$rootfs/home/$ADMIN/.ssh/authorized_keys"
}

mount_filesystems() {
  local rootfs=$1
  mount -t proc proc "$rootfs/proc"
  mount --bind /dev "$rootfs/dev"
  mount --bind /dev/pts "$rootfs/dev/pts"
}

free_loopback_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# sshd with fresh host keys on a free loopback port; known_hosts pins the key, so Ansible checks it.
start_sshd() {
  local dir=$1 rootfs=$1/rootfs port
  chroot "$rootfs" ssh-keygen -A >/dev/null
  mkdir -p "$rootfs/run/sshd"
  port=$(free_loopback_port)
  chroot "$rootfs" /usr/sbin/sshd -o ListenAddress=127.0.0.1 -o Port="$port" -o PidFile=/run/sshd.pid
  printf '%s\n' "$port" >"$dir/sshd.port"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$rootfs/etc/ssh/ssh_host_ed25519_key.pub")" >"$dir/known_hosts"
  local attempt
  for attempt in $(seq 50); do
    if ssh -q -o BatchMode=yes -o ControlMaster=no -o StrictHostKeyChecking=yes \
      -o UserKnownHostsFile="$dir/known_hosts" -i "$dir/id_ed25519" -p "$port" "$ADMIN@127.0.0.1" sudo -n true; then
      log "sshd is up: $ADMIN@127.0.0.1 port $port (attempt $attempt)"
      return
    fi
    sleep 0.2
  done
  die "cannot log in to the target over ssh on port $port"
}

start_sandbox() {
  local dir=$1 attempt pid
  # setsid and no inherited descriptors: it outlives this script and Ansible's task.
  setsid "$REPO/.venv/bin/python" -m zoho_sandbox --port 0 --ready-file "$dir/sandbox.url" \
    </dev/null >"$dir/sandbox.log" 2>&1 &
  pid=$!
  for attempt in $(seq 100); do
    if [[ -s $dir/sandbox.url ]]; then
      log "the Zoho stand-in is up at $(cat "$dir/sandbox.url") (attempt $attempt)"
      return
    fi
    kill -0 "$pid" 2>/dev/null || die "the Zoho stand-in exited: $(tail -n 5 "$dir/sandbox.log")"
    sleep 0.1
  done
  die "the Zoho stand-in did not write $dir/sandbox.url"
}

create() {
  local dir=$1
  [[ ! -e $dir ]] || die "$dir exists; run: $0 destroy $dir"
  mkdir -p "$dir"
  chmod 0700 "$dir"
  : >"$dir/$MARKER"
  "$REPO/scripts/debian-rootfs.sh" "$SUITE" "$PACKAGES" "$dir/rootfs"
  configure_rootfs "$dir"
  mount_filesystems "$dir/rootfs"
  start_sshd "$dir"
  start_sandbox "$dir"
}

stop_processes() {
  local dir=$1 socket
  # Ansible's ControlPersist masters would linger for a minute after the last task.
  for socket in "$dir"/cp/*; do
    [[ -S $socket ]] && ssh -o ControlPath="$socket" -O exit target 2>/dev/null || true
  done
  testbed_stop_processes "$dir"
}

destroy() {
  local dir=${1%/}
  [[ -e $dir ]] || { log "$dir does not exist: nothing to destroy"; return; }
  [[ -f $dir/$MARKER ]] || die "$dir was not made by this script (no $MARKER); not touching it"
  stop_processes "$dir"
  testbed_unmount_and_remove "$dir"
}

testbed_main "debootstrap, chroot, mount" "create|destroy|check-destroyed" "$@"
