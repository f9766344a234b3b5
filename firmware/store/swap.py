"""Swapping a data dir's pieces (database, config, greetings, voicemail) for new ones so
that a power cut at any moment leaves either the old data or the new, never a mix.

A restore unpacks into a staging dir inside the data dir, then renames: the old pieces
into a trash dir, the new ones into place. Renames are atomic one by one, not as a
group, so before the first one a journal (which pieces existed, where staging and trash
are) goes to disk; the next Store to open the data dir finds it and finishes the job:
if every new piece was placed the swap is complete and only the trash is removed,
otherwise the new pieces placed so far go and the old ones come back. Left-over staging
and trash dirs without a journal (a cut while unpacking, or while deleting the trash)
are removed. A lock file keeps a restore and another process's recovery apart.

API:
    with swap_lock(root): ...                 hold it for the whole restore
    make_work_dirs(root) -> (staging, trash)  inside root (same filesystem: renames)
    swap_in(root, staging, trash, items, extra_old)
                                              put staging/<items> in place (old ones and
                                              extra_old, e.g. the WAL, go to trash)
    recover(root) -> "completed" | "rolled back" | None
                                              repair after a cut (call with the lock held,
                                              before opening the database)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from firmware.store.files import atomic_write, fsync_dir

log = logging.getLogger("ivrbox")

JOURNAL = ".restore-journal.json"
LOCK = ".swap.lock"  # stays: an empty file, taken with flock
STAGING_PREFIX = ".restore-new-"
TRASH_PREFIX = ".restore-old-"


@contextlib.contextmanager
def swap_lock(root: Path) -> Iterator[None]:
    """An advisory lock on the data dir's swap (released by the kernel if we die)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def make_work_dirs(root: Path) -> tuple[Path, Path]:
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    trash = Path(tempfile.mkdtemp(prefix=TRASH_PREFIX, dir=root))
    return staging, trash


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def swap_in(root: Path, staging: Path, trash: Path, items: Sequence[str],
            extra_old: Sequence[str] = ()) -> None:
    """Raises what a rename raised, with the old data put back; the journal makes a cut
    anywhere in between repairable by recover()."""
    existing = [name for name in [*items, *extra_old] if (root / name).exists()]
    atomic_write(root / JOURNAL, json.dumps(
        {"staging": staging.name, "trash": trash.name, "items": list(items), "moved": existing}))
    fsync_dir(root)
    moved: list[str] = []
    placed: list[str] = []
    try:
        for name in existing:
            os.rename(root / name, trash / name)
            moved.append(name)
        for name in items:
            os.rename(staging / name, root / name)
            placed.append(name)
        fsync_dir(root)
    except BaseException:
        for name in placed:
            with contextlib.suppress(OSError):
                _remove(root / name)
        for name in reversed(moved):
            os.rename(trash / name, root / name)  # failing here: the journal still has it
        fsync_dir(root)
        (root / JOURNAL).unlink(missing_ok=True)
        raise
    (root / JOURNAL).unlink()
    fsync_dir(root)


def recover(root: Path) -> str | None:
    """Finish or undo a swap cut short; remove work dirs nobody uses (lock held)."""
    outcome = None
    journal = root / JOURNAL
    if journal.exists():
        outcome = _replay(root, json.loads(journal.read_text(encoding="utf-8")))
        journal.unlink()
        fsync_dir(root)
    for leftover in [*root.glob(f"{STAGING_PREFIX}*"), *root.glob(f"{TRASH_PREFIX}*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    return outcome


def _replay(root: Path, journal: dict[str, object]) -> str:
    staging, trash = root / str(journal["staging"]), root / str(journal["trash"])
    items = [str(n) for n in journal["items"]]  # type: ignore[attr-defined]
    moved = [str(n) for n in journal["moved"]]  # type: ignore[attr-defined]
    if not any((staging / name).exists() for name in items):
        log.warning("a restore cut short had placed all the new data: it is complete")
        return "completed"
    for name in items:  # placed new pieces: where staging no longer has them
        if not (staging / name).exists() and (root / name).exists() \
                and (name not in moved or (trash / name).exists()):
            _remove(root / name)
    for name in moved:
        if (trash / name).exists():
            os.rename(trash / name, root / name)
    fsync_dir(root)
    log.warning("a restore cut short was undone: the data from before it is back")
    return "rolled back"
