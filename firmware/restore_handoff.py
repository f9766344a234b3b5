"""A restore handed to the running call engine, which swaps the data between calls.

Part of the composition root (split out of appliance.py): under systemd the engine and
the page are separate processes, and `ivrbox restore` is a third. Two processes must
never both hold the database while its files are renamed (SQLite would clean up the old
write-ahead log by name, i.e. the new one), so whoever restores drops the zip into the
data dir as `restore-pending-<token>.zip` and waits; the engine, between calls, claims
it (renames it to `restore-claimed-<token>.zip`), closes its store, swaps, reopens, and
posts the verdict under "restore" on the status board. A restorer that gives up deletes
the pending file: if that succeeds the engine never had it and nothing changed; if the
engine claimed it first, the restorer waits for the verdict after all.

API:
    hand_over(data_root, status, zip_path, wait_s=RESTORE_WAIT_S) -> BackupInfo
                            drop the zip for the engine, wait for its verdict (blocking);
                            raises UploadRejected (HandOverTimeout: nobody took it,
                            nothing changed)
    restore_via_engine(box, status, zip_path) -> BackupInfo
                            the page's hand-over: its own store closed meanwhile
    apply_pending_restore(box, status) -> bool
                            engine side: swap in a pending backup (call only between calls)
    validate_config_text(text)   what a backup's config must pass before anything changes
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from firmware.errors import UploadRejected

if TYPE_CHECKING:
    from firmware.appliance import Box, StatusBoard
    from firmware.store.backup import BackupInfo

log = logging.getLogger("ivrbox")

RESTORE_PENDING_GLOB = "restore-pending-*.zip"
CLAIMED_PREFIX = "restore-claimed-"
RESTORE_WAIT_S = 120.0
RESTORE_POLL_S = 0.25
# a restorer withdraws its file after RESTORE_WAIT_S; one older than this was left by a
# restorer that was killed: nobody waits for it, so it is dropped, never applied later
STALE_PENDING_S = 2 * RESTORE_WAIT_S


class HandOverTimeout(UploadRejected):
    """No engine took the backup in time (stopped, or a call lasted the whole wait); the
    backup was withdrawn, so the data is unchanged."""


def validate_config_text(text: str) -> None:
    """What a backup's config must pass before anything is replaced."""
    from firmware.settings import parse

    parse(text, "backup:config/current.yaml")


def hand_over(data_root: Path, status: StatusBoard, zip_path: Path,
              wait_s: float = RESTORE_WAIT_S) -> BackupInfo:
    """Give a backup to the engine and wait for its verdict (blocking: wall-clock polling,
    never in the call path). The pending file is gone afterwards whatever happened; a
    backup the engine claimed is always waited for (the swap itself takes seconds)."""
    import secrets
    import time

    from firmware.store.backup import BackupInfo

    token = secrets.token_hex(8)
    root = Path(data_root)
    pending = root / f"restore-pending-{token}.zip"
    tmp = root / f".restore-pending-{token}.part"
    try:
        shutil.copyfile(zip_path, tmp)
        os.replace(tmp, pending)  # the engine sees a whole file or none
        deadline, claimed = time.monotonic() + wait_s, False
        while True:
            result = status.read().get("restore", {})
            if result.get("token") == token:
                if not result.get("ok"):
                    raise UploadRejected(str(result.get("detail") or "the restore failed"))
                return BackupInfo(**result["info"])
            if time.monotonic() >= deadline:
                if claimed:
                    raise UploadRejected("the call engine took the backup but gave no verdict; "
                                         "see its log (`journalctl -u ivrbox-engine`)")
                if _withdraw(pending):
                    raise HandOverTimeout("the call engine did not take the backup in time; "
                                          "is it running?")
                deadline, claimed = time.monotonic() + RESTORE_WAIT_S, True  # verdict is due
            time.sleep(RESTORE_POLL_S)
    finally:
        pending.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def _withdraw(pending: Path) -> bool:
    """Take an unclaimed backup back: True if the engine never had it."""
    try:
        pending.unlink()
        return True
    except FileNotFoundError:
        return False


def _drop_leftovers(root: Path, now_s: float | None = None) -> None:
    """A claimed backup is ours alone and is deleted when its swap ends: one found here
    was left by an engine that died mid-restore (the data itself was repaired when the
    store opened; its restorer has long reported no verdict). Pending files and parts
    nobody waits for any more would otherwise be applied by surprise, or fill the disk."""
    import time

    now_s = time.time() if now_s is None else now_s
    for claimed in root.glob(f"{CLAIMED_PREFIX}*.zip"):
        log.warning("dropping %s, left by a restore that was cut short", claimed.name)
        claimed.unlink(missing_ok=True)
    for stale in [*root.glob(RESTORE_PENDING_GLOB), *root.glob(".restore-pending-*.part")]:
        try:
            old = now_s - stale.stat().st_mtime > STALE_PENDING_S
        except FileNotFoundError:
            continue
        if old:
            log.warning("dropping %s: its restorer is gone", stale.name)
            stale.unlink(missing_ok=True)


def restore_via_engine(box: Box, status: StatusBoard, zip_path: Path) -> BackupInfo:
    """The page's restore while the engine runs in another process: the page closes its
    connection for the swap and reopens on the new database. Blocking: run it in a
    worker thread."""
    box.store.close()
    try:
        return hand_over(box.store.data.root, status, zip_path)
    finally:
        box.store.reopen()


def apply_pending_restore(box: Box, status: StatusBoard) -> bool:
    """Engine side: swap in a backup handed over (call only between calls). True if one
    was found (whether it was good or refused)."""
    from dataclasses import asdict

    from firmware.store.backup import restore_backup

    root = box.store.data.root
    _drop_leftovers(root)
    for pending in sorted(root.glob(RESTORE_PENDING_GLOB)):
        token = pending.stem.rsplit("-", 1)[-1]
        claimed = root / f"{CLAIMED_PREFIX}{token}.zip"
        try:
            os.replace(pending, claimed)  # from now on the restorer waits for our verdict
        except FileNotFoundError:
            continue  # withdrawn by a restorer that gave up
        box.store.close()
        try:
            info = restore_backup(claimed, root, validate_config=validate_config_text)
            status.set_result("restore", {"token": token, "ok": True, "info": asdict(info)})
            log.warning("restored a handed-over backup (%d files)", info.files)
        except Exception as exc:  # the restorer shows the reason; the data is unchanged
            status.set_result("restore", {"token": token, "ok": False, "detail": str(exc)})
            log.error("a handed-over restore failed: %s", exc)
        finally:
            claimed.unlink(missing_ok=True)
            box.store.reopen()
        return True
    return False
