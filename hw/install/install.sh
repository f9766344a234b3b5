#!/usr/bin/env bash
# Install (or update) ivrbox on Debian 12 / Raspberry Pi OS. One script for both the SD
# image's pi-gen stage and a manual install on an existing Pi:
#
#   sudo hw/install/install.sh [--source DIR] [--hostname ivrbox] [--no-start]
#
# It installs the Debian packages, creates the unprivileged `ivrbox` user (groups
# dialout, audio, gpio), builds a virtualenv for this release under
# /opt/ivrbox/releases/<version>, points /opt/ivrbox/current at it (keeping the previous
# release for rollback), installs the systemd units, caps the journal for the SD card,
# sets up mDNS, and leaves /var/lib/ivrbox (config, messages) untouched on an update.
set -euo pipefail

SOURCE="$(cd "$(dirname "$0")/../.." && pwd)"
HOSTNAME_WANTED=""
START=1
PREFIX="${IVRBOX_PREFIX:-/opt/ivrbox}"
DATA="${IVRBOX_DATA:-/var/lib/ivrbox}"
while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE="$2"; shift 2 ;;
    --hostname) HOSTNAME_WANTED="$2"; shift 2 ;;
    --no-start) START=0; shift ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }

say() { echo "ivrbox-install: $*"; }

RUNTIME_DEBS=(python3 python3-venv python3-dev espeak-ng libsndfile1 libportaudio2 ffmpeg
              avahi-daemon libnss-mdns ca-certificates)
say "Debian packages"
"$SOURCE/hw/scripts/ensure-debs.sh" "${RUNTIME_DEBS[@]}"

say "user and groups"
getent group gpio >/dev/null || groupadd --system gpio
if ! id ivrbox >/dev/null 2>&1; then
  useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin ivrbox
fi
usermod -a -G dialout,audio,gpio ivrbox
install -d -o ivrbox -g ivrbox -m 0750 "$DATA" "$DATA/config"

VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$SOURCE/firmware/__init__.py")"
RELEASE="$PREFIX/releases/$VERSION"
say "release $VERSION in $RELEASE"
if [ -d "$RELEASE" ]; then   # reinstalling the same version: keep it until the new one works
  rm -rf "$RELEASE.old"; mv "$RELEASE" "$RELEASE.old"
fi
install -d "$RELEASE"
cp -a "$SOURCE/firmware" "$SOURCE/audio" "$SOURCE/config" "$SOURCE/hw" "$SOURCE/setup.py" \
      "$SOURCE/README.md" "$RELEASE/"
python3 -m venv "$RELEASE/venv"
"$RELEASE/venv/bin/pip" install -q --upgrade pip
"$RELEASE/venv/bin/pip" install -q "$RELEASE[hw]"

# Start checks before switching: the new release must run and accept the current config.
if ! "$RELEASE/venv/bin/ivrbox" --version >/dev/null \
   || { [ -f "$DATA/config/current.yaml" ] && ! "$RELEASE/venv/bin/ivrbox" config check "$DATA/config/current.yaml"; }; then
  say "the new release failed its start checks; keeping the installed one"
  rm -rf "$RELEASE"
  [ -d "$RELEASE.old" ] && mv "$RELEASE.old" "$RELEASE"
  exit 1
fi
rm -rf "$RELEASE.old"

if [ -L "$PREFIX/current" ] && [ "$(readlink -f "$PREFIX/current")" != "$(readlink -f "$RELEASE")" ]; then
  ln -sfn "$(readlink -f "$PREFIX/current")" "$PREFIX/previous"
fi
ln -sfn "$RELEASE" "$PREFIX/current"
ln -sfn "$PREFIX/current/venv/bin/ivrbox" /usr/local/bin/ivrbox

if [ ! -f "$DATA/config/current.yaml" ]; then
  say "default config"
  install -o ivrbox -g ivrbox -m 0640 "$SOURCE/config/default.yaml" "$DATA/config/current.yaml"
fi
say "database migration"
runuser -u ivrbox -- "$PREFIX/current/venv/bin/ivrbox" migrate --data "$DATA"

say "systemd units"
install -m 0644 "$SOURCE"/config/systemd/*.service /etc/systemd/system/
install -d /etc/systemd/journald.conf.d
cat > /etc/systemd/journald.conf.d/ivrbox.conf <<'CONF'
# Spare the SD card: keep the journal in RAM, capped.
[Journal]
Storage=volatile
RuntimeMaxUse=32M
CONF
install -d /etc/issue.d
cat > /etc/issue.d/ivrbox.issue <<'CONF'
ivrbox auto-attendant: open http://ivrbox.local/ or http://\4/ in a browser on this network.
CONF
if [ -n "$HOSTNAME_WANTED" ]; then
  echo "$HOSTNAME_WANTED" > /etc/hostname
  sed -i "s/^127\.0\.1\.1.*/127.0.1.1\t$HOSTNAME_WANTED/" /etc/hosts
  grep -q "^127\.0\.1\.1" /etc/hosts || echo -e "127.0.1.1\t$HOSTNAME_WANTED" >> /etc/hosts
fi
systemctl enable ivrbox-firstboot.service ivrbox-engine.service ivrbox-web.service avahi-daemon.service \
  >/dev/null 2>&1 || say "systemctl enable failed (no systemd here?); units are installed"
if [ "$START" -eq 1 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl restart ivrbox-engine.service ivrbox-web.service
fi
say "done: ivrbox $VERSION; 'ivrbox selftest' checks the hardware"
