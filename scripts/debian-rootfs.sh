#!/usr/bin/env bash
# A pristine Debian root filesystem for the test beds (molecule targets, the agent's container image,
# a newcomer's fresh machine): unpacked from a cached tarball when one is there and sound, else
# debootstrapped (minbase plus PACKAGES) and then cached.
#
#   scripts/debian-rootfs.sh SUITE PACKAGES DEST     # PACKAGES: comma-separated, may be empty
#
# SUITE is a Debian release name (bullseye, bookworm, trixie). DEST must not exist. The cache lives
# under $TESTBED_CACHE_DIR (default /var/cache/zoho-crm-testbed), keyed by suite, architecture and
# package list; a full or read-only cache directory only costs the next run time. The rootfs keeps
# no ssh host keys and no apt package cache. Needs root (debootstrap, chroot).
set -euo pipefail

CACHE_DIR=${TESTBED_CACHE_DIR:-/var/cache/zoho-crm-testbed}

log() { printf 'debian-rootfs: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# apt's own view of where the controller's release comes from (every sources format, no hard-coded
# mirror); Debian's mirror serves the other releases at the same address.
debian_mirror() {
  local mirror codename
  codename=$(. /etc/os-release && printf '%s' "$VERSION_CODENAME")
  mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI)' \
    "Release: $codename" 'Identifier: Packages' 'Target-Of: deb' | head -n 1)
  [[ -n $mirror ]] || die "apt has no Debian source; add one under /etc/apt/sources.list.d"
  printf '%s\n' "$mirror"
}

cache_file() {
  local suite=$1 packages=$2 key
  key=$(printf '%s %s minbase %s\n' "$suite" "$(dpkg --print-architecture)" "$packages" | sha256sum | cut -c1-16)
  printf '%s/%s-%s.tar\n' "$CACHE_DIR" "$suite" "$key"
}

main() {
  [[ $# -eq 3 ]] || die "usage: $0 SUITE PACKAGES DEST"
  [[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot)"
  local suite=$1 packages=$2 rootfs=$3 cache
  [[ ! -e $rootfs ]] || die "$rootfs exists"
  cache=$(cache_file "$suite" "$packages")
  if [[ -f $cache ]]; then
    log "unpacking the cached $suite rootfs $cache"
    mkdir -p "$rootfs"
    if tar --extract --numeric-owner --preserve-permissions --file "$cache" --directory "$rootfs" \
      && [[ -x $rootfs/bin/sh ]]; then
      return
    fi
    log "the cached rootfs is unusable; removing it and building a new one"
    rm -rf --one-file-system "$rootfs" "$cache"
  fi
  log "debootstrapping $suite with ${packages:-nothing but minbase} (log: $rootfs.debootstrap.log)"
  if ! debootstrap --variant=minbase ${packages:+--include="$packages"} "$suite" "$rootfs" "$(debian_mirror)" \
    >"$rootfs.debootstrap.log" 2>&1; then
    tail -n 20 "$rootfs.debootstrap.log" >&2
    die "debootstrap of $suite failed"
  fi
  # Every test bed makes its own host keys; the cache keeps none.
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  chroot "$rootfs" apt-get clean
  if mkdir -p "$CACHE_DIR" && tar --create --numeric-owner --file "$cache.tmp.$$" --directory "$rootfs" . \
    && mv "$cache.tmp.$$" "$cache"; then
    log "cached the rootfs as $cache"
  else
    rm -f "$cache.tmp.$$"
    log "could not cache the rootfs under $CACHE_DIR; continuing without"
  fi
}

main "$@"
