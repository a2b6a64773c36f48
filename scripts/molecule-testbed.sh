#!/usr/bin/env bash
# A VPS-like test bed for molecule, without Docker: a Debian root filesystem of the given release
# (bullseye, bookworm, trixie) with its own users, files and daemons, whose sshd listens on a
# loopback port and lets in an `admin` user with passwordless sudo (as a cloud image's default
# user), plus the Zoho stand-in on the controller's loopback. The target shares the controller's
# network namespace, so it reaches the stand-in too.
#
#   scripts/molecule-testbed.sh create DIR SUITE [STAND-IN OPTIONS]   # rootfs, sshd, stand-in
#   scripts/molecule-testbed.sh destroy DIR           # stop all of it (cron too), unmount, remove DIR
#   scripts/molecule-testbed.sh check-destroyed DIR   # fail, naming them, if processes, mounts or files remain
#
# STAND-IN OPTIONS go to `python -m zoho_sandbox` (e.g. --access-token-lifetime 900).
# DIR then holds: rootfs/, id_ed25519 (the admin's key), known_hosts (the target's host key),
# sshd.port, sandbox.url (the stand-in's base URL) and sandbox.log.
# Needs root (debootstrap, chroot, mount). The machine itself comes from scripts/chroot-testbed.sh
# (the pristine rootfs from scripts/debian-rootfs.sh, which caches it).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# python3 for Ansible's modules, python3-apt for the apt module's check mode (Debian's cloud images
# ship it with unattended-upgrades), sshd, sudo for become. cron is left out: installing it is the
# role's job. The tools need nothing beyond python3's standard library.
PACKAGES=python3,python3-apt,openssh-server,sudo
ADMIN=admin
# uid 1000 stays free for OpenClaw's node user, which prepare creates.
ADMIN_UID=1001

TESTBED_NAME=molecule-testbed
# shellcheck source=scripts/testbed-lib.sh
. "$REPO/scripts/testbed-lib.sh"

# What a provider's image adds: an admin user that logs in with a key and has passwordless sudo,
# and an init system's part in package installs: cron, once installed, runs (as systemd starts it
# on a VPS), so the refresh is scheduled by a real cron daemon; no other package script may start
# a daemon in the chroot.
configure_rootfs() {
  local dir=$1 rootfs=$1/rootfs
  cat >"$rootfs/usr/sbin/policy-rc.d" <<'POLICY'
#!/bin/sh
# molecule test bed: package scripts start cron (as on a VPS) and no other daemon in the chroot.
[ "$1" = cron ] && exit 0
exit 101
POLICY
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  chroot "$rootfs" useradd --create-home --shell /bin/bash --uid "$ADMIN_UID" --groups sudo "$ADMIN"
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$ADMIN" >"$rootfs/etc/sudoers.d/90-$ADMIN"
  chmod 0440 "$rootfs/etc/sudoers.d/90-$ADMIN"
  ssh-keygen -q -t ed25519 -N '' -C "molecule-testbed-$ADMIN" -f "$dir/id_ed25519"
  install -d -m 0700 -o "$ADMIN_UID" -g "$ADMIN_UID" "$rootfs/home/$ADMIN/.ssh"
  install -m 0600 -o "$ADMIN_UID" -g "$ADMIN_UID" "$dir/id_ed25519.pub" "$rootfs/home/$ADMIN/.ssh/authorized_keys"
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
  shift
  # setsid and no inherited descriptors: it outlives this script and Ansible's task.
  setsid "$REPO/.venv/bin/python" -m zoho_sandbox --port 0 --ready-file "$dir/sandbox.url" "$@" \
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
  local dir=$1 suite=$2
  shift 2
  "$REPO/scripts/chroot-testbed.sh" create "$dir" "$suite" "$PACKAGES"
  configure_rootfs "$dir"
  start_sshd "$dir"
  start_sandbox "$dir" "$@"
}

# chroot-testbed.sh stops what is rooted in the target (sshd and its sessions, cron and its jobs)
# and what names DIR (the stand-in). Ansible's ControlPersist masters, whose sockets live in DIR,
# are asked to exit first: killed, they would leave their sockets behind.
destroy() {
  local dir=$1 socket
  for socket in "$dir"/cp/*; do
    [[ -S $socket ]] && ssh -o ControlPath="$socket" -O exit target 2>/dev/null || true
  done
  "$REPO/scripts/chroot-testbed.sh" destroy "$dir"
}

main() {
  local usage="usage: $0 create DIR SUITE [STAND-IN OPTIONS] | destroy DIR | check-destroyed DIR"
  [[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mount)"
  case ${1-}:$# in
    create:0 | create:1 | create:2) die "$usage" ;;
    create:*) create "$(realpath --canonicalize-missing "$2")" "${@:3}" ;;
    destroy:2) destroy "$(realpath --canonicalize-missing "$2")" ;;
    check-destroyed:2) exec "$REPO/scripts/chroot-testbed.sh" "$@" ;;
    *) die "$usage" ;;
  esac
}

main "$@"
