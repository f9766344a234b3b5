#!/usr/bin/env bash
# Install the Debian packages named as arguments if any are missing.
# Used by the Makefile (make run / make test) and by the image's install script.
# As root it installs; with password-less sudo it uses sudo; otherwise it says exactly
# which packages are missing and how to install them, and fails.
set -euo pipefail

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "ivrbox: not a Debian system; make sure these are installed: $*" >&2
  exit 0
fi

missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "ivrbox: missing Debian packages: ${missing[*]}" >&2
  echo "ivrbox: install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "ivrbox: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
