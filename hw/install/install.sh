#!/usr/bin/env bash
# Install (or update) ivrbox on Debian 12 / Raspberry Pi OS. One script for both the SD
# image's pi-gen stage and a manual install on an existing Pi:
#
#   sudo hw/install/install.sh [--source DIR] [--hostname ivrbox] [--no-start]
#   sudo hw/install/install.sh --rollback        back to the previous release (and db)
#
# It installs the Debian packages, creates the unprivileged `ivrbox` user (groups
# dialout, audio, gpio), builds a virtualenv for this release under
# /opt/ivrbox/releases/<version>, points /opt/ivrbox/current at it (keeping the previous
# release for rollback), installs the systemd units, caps the journal for the SD card,
# sets up mDNS, and leaves /var/lib/ivrbox (config, messages) untouched on an update.
#
# Updates: the new release must pass its start checks *before* anything switches:
#   1. it runs (`ivrbox --version`),
#   2. it accepts the current config (`ivrbox config check`),
#   3. it migrates a copy of the database (`ivrbox migrate` on a snapshot).
# Only then is the database snapshotted to $DATA/backups/, migrated for real, and
# `current` switched (`previous` keeps the old release). If the restarted engine does not
# come up, the switch is undone and the snapshot restored. `--rollback` does the same by
# hand.
#
# Options for tests and unusual hosts (the slow test uses them in a chroot; the fast test
# runs the release logic unprivileged in a temp dir):
#   --no-system      touch only $IVRBOX_PREFIX and $IVRBOX_DATA: no apt, no user, no systemd
#                    units, no host files; runs without root
#   --python PY      interpreter for the release's venv (default python3)
#   --pip-args ARGS  extra arguments for `pip install` (e.g. "--no-index --find-links W")
#   --offline        do not upgrade pip in the new venv
#   --no-start       install and enable, but do not (re)start the services
# Environment: IVRBOX_PREFIX (default /opt/ivrbox), IVRBOX_DATA (default /var/lib/ivrbox).
set -euo pipefail

SOURCE="$(cd "$(dirname "$0")/../.." && pwd)"
HOSTNAME_WANTED=""
START=1
SYSTEM=1
ROLLBACK=0
OFFLINE=0
PY=python3
PIP_ARGS=""
PREFIX="${IVRBOX_PREFIX:-/opt/ivrbox}"
DATA="${IVRBOX_DATA:-/var/lib/ivrbox}"
START_WAIT_S="${IVRBOX_START_WAIT_S:-20}"
while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE="$(cd "$2" && pwd)"; shift 2 ;;
    --hostname) HOSTNAME_WANTED="$2"; shift 2 ;;
    --no-start) START=0; shift ;;
    --no-system) SYSTEM=0; START=0; shift ;;
    --python) PY="$2"; shift 2 ;;
    --pip-args) PIP_ARGS="$2"; shift 2 ;;
    --offline) OFFLINE=1; shift ;;
    --rollback) ROLLBACK=1; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$SYSTEM" -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or pass --no-system for a private install" >&2
  exit 1
fi

say() { echo "ivrbox-install: $*"; }
as_service_user() {  # run a command as the service user (or as ourselves with --no-system)
  if [ "$SYSTEM" -eq 1 ]; then runuser -u ivrbox -- "$@"; else "$@"; fi
}
services() {  # systemctl on our units, when systemd is running here
  [ "$SYSTEM" -eq 1 ] && [ -d /run/systemd/system ] && systemctl "$@" \
    ivrbox-engine.service ivrbox-web.service
}
snapshot_db() {  # snapshot_db PYTHON FROM TO: a consistent copy of a live WAL database
  "$1" - "$2" "$3" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2])
with dst:
    src.backup(dst)
dst.close(); src.close()
PY
}

# --- rollback: back to `previous`, with the database as it was before the update -------
switch_back() {
  local prev_target cur_target
  [ -L "$PREFIX/previous" ] || { say "no previous release to roll back to"; return 1; }
  prev_target="$(readlink -f "$PREFIX/previous")"
  cur_target="$(readlink -f "$PREFIX/current")"
  services stop || true
  local snap="$DATA/backups/ivrbox.db.before-$(basename "$cur_target")"
  if [ -f "$snap" ]; then
    say "restoring the database as it was before $(basename "$cur_target")"
    cp -p "$snap" "$DATA/ivrbox.db.rollback-tmp"
    rm -f "$DATA/ivrbox.db-wal" "$DATA/ivrbox.db-shm"
    mv -f "$DATA/ivrbox.db.rollback-tmp" "$DATA/ivrbox.db"
  fi
  ln -sfn "$prev_target" "$PREFIX/current"
  ln -sfn "$cur_target" "$PREFIX/failed"
  rm -f "$PREFIX/previous"
  say "current is $(basename "$prev_target") again ($(basename "$cur_target") kept as 'failed')"
  [ "$START" -eq 1 ] && services start || true
}
if [ "$ROLLBACK" -eq 1 ]; then
  switch_back
  exit $?
fi

# --- the host: packages, user, groups ---------------------------------------------------
RUNTIME_DEBS=(python3 python3-venv python3-dev espeak-ng libsndfile1 libportaudio2 ffmpeg
              avahi-daemon libnss-mdns ca-certificates)
if [ "$SYSTEM" -eq 1 ]; then
  say "Debian packages"
  "$SOURCE/hw/scripts/ensure-debs.sh" "${RUNTIME_DEBS[@]}"
  say "user and groups"
  getent group gpio >/dev/null || groupadd --system gpio
  if ! id ivrbox >/dev/null 2>&1; then
    useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin ivrbox
  fi
  usermod -a -G dialout,audio,gpio ivrbox
  install -d -o ivrbox -g ivrbox -m 0750 "$DATA" "$DATA/config" "$DATA/backups"
else
  install -d -m 0750 "$DATA" "$DATA/config" "$DATA/backups"
fi

# --- the release ------------------------------------------------------------------------
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$SOURCE/firmware/__init__.py")"
[ -n "$VERSION" ] || { echo "install.sh: no __version__ in $SOURCE/firmware/__init__.py" >&2; exit 1; }
RELEASE="$PREFIX/releases/$VERSION"
say "release $VERSION in $RELEASE"
install -d "$PREFIX/releases"
if [ -d "$RELEASE" ]; then   # reinstalling the same version: keep it until the new one works
  rm -rf "$RELEASE.old"; mv "$RELEASE" "$RELEASE.old"
fi
restore_old_release() {
  rm -rf "$RELEASE"
  if [ -d "$RELEASE.old" ]; then mv "$RELEASE.old" "$RELEASE"; fi
}
install -d "$RELEASE"
cp -a "$SOURCE/firmware" "$SOURCE/audio" "$SOURCE/config" "$SOURCE/hw" "$SOURCE/setup.py" \
      "$SOURCE/README.md" "$RELEASE/"
find "$RELEASE" -name __pycache__ -prune -exec rm -rf {} +
if ! { "$PY" -m venv "$RELEASE/venv" \
       && { [ "$OFFLINE" -eq 1 ] || "$RELEASE/venv/bin/pip" install -q --upgrade pip; } \
       && "$RELEASE/venv/bin/pip" install -q $PIP_ARGS "$RELEASE[hw]"; }; then
  say "building the release's virtualenv failed; keeping the installed release"
  restore_old_release
  exit 1
fi

# --- start checks, before anything switches ---------------------------------------------
NEW="$RELEASE/venv/bin/ivrbox"
CHECK_DIR="$(mktemp -d)"
trap 'rm -rf "$CHECK_DIR"' EXIT
start_checks() {
  "$NEW" --version >/dev/null || { say "start check: the new release does not run"; return 1; }
  if [ -f "$DATA/config/current.yaml" ] && ! "$NEW" config check "$DATA/config/current.yaml"; then
    say "start check: the new release refuses the current config"; return 1
  fi
  if [ -f "$DATA/ivrbox.db" ]; then
    snapshot_db "$RELEASE/venv/bin/python" "$DATA/ivrbox.db" "$CHECK_DIR/ivrbox.db"
    "$NEW" migrate --data "$CHECK_DIR" >/dev/null \
      || { say "start check: the new release cannot migrate (a copy of) the database"; return 1; }
  fi
}
if ! start_checks; then
  say "the new release failed its start checks; keeping the installed one"
  restore_old_release
  exit 1
fi
rm -rf "$RELEASE.old"

# --- switch: snapshot the db, migrate it, move the symlinks -----------------------------
OLD_TARGET=""
if [ -L "$PREFIX/current" ]; then OLD_TARGET="$(readlink -f "$PREFIX/current")"; fi
if [ -n "$OLD_TARGET" ] && [ "$OLD_TARGET" != "$(readlink -f "$RELEASE")" ]; then
  services stop || true
  if [ -f "$DATA/ivrbox.db" ]; then
    snapshot_db "$RELEASE/venv/bin/python" "$DATA/ivrbox.db" \
      "$DATA/backups/ivrbox.db.before-$VERSION"
  fi
  ln -sfn "$OLD_TARGET" "$PREFIX/previous"
fi
ln -sfn "$RELEASE" "$PREFIX/current"

if [ ! -f "$DATA/config/current.yaml" ]; then
  say "default config"
  install -m 0640 "$SOURCE/config/default.yaml" "$DATA/config/current.yaml"
fi
[ "$SYSTEM" -eq 1 ] && chown -R ivrbox:ivrbox "$DATA"
say "database migration"
as_service_user "$PREFIX/current/venv/bin/ivrbox" migrate --data "$DATA"

# Releases older than `previous` are removed: two fit on any SD card.
for dir in "$PREFIX"/releases/*; do
  [ -d "$dir" ] || continue
  case "$(readlink -f "$dir")" in
    "$(readlink -f "$PREFIX/current")"|"$(readlink -f "$PREFIX/previous" 2>/dev/null)") ;;
    *) rm -rf "$dir" ;;
  esac
done

if [ "$SYSTEM" -eq 0 ]; then
  say "done: ivrbox $VERSION in $PREFIX (no system changes)"
  exit 0
fi

# --- the host: command, units, journal, banner, hostname --------------------------------
ln -sfn "$PREFIX/current/venv/bin/ivrbox" /usr/local/bin/ivrbox
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
  [ -f /etc/hosts ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost\n' > /etc/hosts
  sed -i "s/^127\.0\.1\.1.*/127.0.1.1\t$HOSTNAME_WANTED/" /etc/hosts
  grep -q "^127\.0\.1\.1" /etc/hosts || echo -e "127.0.1.1\t$HOSTNAME_WANTED" >> /etc/hosts
fi
if command -v systemctl >/dev/null 2>&1 \
   && systemctl enable ivrbox-firstboot.service ivrbox-engine.service ivrbox-web.service \
        avahi-daemon.service >/dev/null 2>&1; then
  say "services enabled"
else  # a chroot without systemd: enable by hand, as `systemctl enable` would
  install -d /etc/systemd/system/multi-user.target.wants
  for unit in ivrbox-firstboot ivrbox-engine ivrbox-web; do
    ln -sfn "/etc/systemd/system/$unit.service" \
      "/etc/systemd/system/multi-user.target.wants/$unit.service"
  done
  say "systemctl unavailable (no systemd here): units linked into multi-user.target.wants"
fi
if [ "$START" -eq 1 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl restart ivrbox-engine.service ivrbox-web.service
  # The engine says READY=1 only once the line is open; a release that cannot get there
  # within START_WAIT_S is rolled back automatically.
  for _ in $(seq "$START_WAIT_S"); do
    systemctl is-active --quiet ivrbox-engine.service && break
    sleep 1
  done
  if ! systemctl is-active --quiet ivrbox-engine.service && [ -L "$PREFIX/previous" ]; then
    say "the engine of $VERSION did not start; rolling back"
    switch_back
    exit 1
  fi
fi
say "done: ivrbox $VERSION; 'ivrbox selftest' checks the hardware"
