#!/usr/bin/env bash
# Debian packages the test suite needs on the controller: a venv-capable Python, make,
# debootstrap and an ssh client for the molecule target, cron so crontab exists for the role tests.
set -euo pipefail
packages=(python3-venv make debootstrap openssh-client cron)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
