#!/usr/bin/env bash
# Debian packages the test suite needs on the controller: a venv-capable Python, make,
# debootstrap and an ssh client for the molecule target, cron so crontab exists for the role tests,
# docker.io (the engine the Docker test bed starts by hand: scripts/docker-testbed.sh) and npm (it
# fetches Node 24 and the OpenClaw CLI for the agent's image; any npm will do, so Debian's comes in
# only when the machine has none).
set -euo pipefail
packages=(python3-venv make debootstrap openssh-client cron docker.io)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
command -v npm >/dev/null || missing+=(npm)
((${#missing[@]})) || exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "missing Debian packages: ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi

# docker.io's postinst starts the engine through invoke-rc.d (/etc/init.d/docker: a daemon with a
# bridge and iptables rules under /var/lib/docker). The test bed starts its own, so every service
# start is denied while apt runs; a policy the machine already has is put back afterwards.
policy=/usr/sbin/policy-rc.d
saved_policy=$policy.install-system-packages
restore_policy() {
  rm -f "$policy"
  if [[ -e $saved_policy ]]; then mv "$saved_policy" "$policy"; fi
}
if [[ -e $policy ]]; then mv "$policy" "$saved_policy"; fi
trap restore_policy EXIT
printf '#!/bin/sh\n# scripts/install-system-packages.sh: no service starts while it installs packages.\nexit 101\n' >"$policy"
chmod 0755 "$policy"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
