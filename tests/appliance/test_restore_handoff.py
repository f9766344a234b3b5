"""A restore made on the page while the engine runs in another process: the page hands
the zip to the engine, which swaps the data between calls; both then see the backup."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource, StatusBoard
from firmware.restore_handoff import apply_pending_restore, restore_via_engine
from firmware.store.backup import make_backup


def _box(data: Path) -> Box:
    return Box(data, ConfigSource(data / "config" / "current.yaml", fallback=DEFAULT_CONFIG))


def test_page_hands_the_restore_to_the_engine_and_both_see_it(tmp_path: Path) -> None:
    source = _box(tmp_path / "source")
    source.store.kv.set("marker", "from the backup")
    zip_path = tmp_path / "backup.zip"
    make_backup(source.store.data.root, zip_path)
    source.close()

    data = tmp_path / "data"
    engine_side, page_side = _box(data), _box(data)  # two processes' views of one dir
    engine_side.store.kv.set("marker", "before")
    status_engine, status_page = StatusBoard(data), StatusBoard(data)
    result: dict[str, object] = {}

    def page() -> None:
        result["info"] = restore_via_engine(page_side, status_page, zip_path)

    thread = threading.Thread(target=page)
    thread.start()
    deadline = time.monotonic() + 30
    while not apply_pending_restore(engine_side, status_engine):
        assert time.monotonic() < deadline, "the page never handed the zip over"
        time.sleep(0.05)
    thread.join(30)
    assert result["info"].files >= 1  # type: ignore[union-attr]
    assert engine_side.store.kv.get("marker") == "from the backup"
    assert page_side.store.kv.get("marker") == "from the backup"
    engine_side.store.kv.set("marker", "written after")
    assert page_side.store.kv.get("marker") == "written after"  # one database, no stale WAL
    engine_side.close()
    page_side.close()


def test_a_bad_zip_is_refused_by_the_engine_and_nothing_changes(tmp_path: Path) -> None:
    import pytest

    from firmware.errors import UploadRejected

    data = tmp_path / "data"
    engine_side, page_side = _box(data), _box(data)
    engine_side.store.kv.set("marker", "kept")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: no database in it
    status = StatusBoard(data)
    thread = threading.Thread(target=lambda: apply_loop(engine_side, status))
    thread.start()
    with pytest.raises(UploadRejected):
        restore_via_engine(page_side, StatusBoard(data), bad)
    thread.join(30)
    assert page_side.store.kv.get("marker") == "kept"
    engine_side.close()
    page_side.close()


def apply_loop(box: Box, status: StatusBoard) -> None:
    deadline = time.monotonic() + 30
    while not apply_pending_restore(box, status) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_leftovers_of_a_dead_engine_or_restorer_are_dropped_not_applied(tmp_path: Path) -> None:
    """A claimed zip outlives an engine killed mid-restore; a pending zip outlives a
    restorer killed while waiting. Neither is applied later by surprise."""
    import os

    from firmware.restore_handoff import CLAIMED_PREFIX, STALE_PENDING_S

    source = _box(tmp_path / "source")
    source.store.kv.set("marker", "from the backup")
    zip_path = tmp_path / "backup.zip"
    make_backup(source.store.data.root, zip_path)
    source.close()
    box = _box(tmp_path / "data")
    box.store.kv.set("marker", "mine")
    root = box.store.data.root
    claimed = root / f"{CLAIMED_PREFIX}0123456789abcdef.zip"
    stale = root / "restore-pending-fedcba9876543210.zip"
    part = root / ".restore-pending-00aa00aa00aa00aa.part"
    for path in (claimed, stale, part):
        path.write_bytes(zip_path.read_bytes())
    old = time.time() - STALE_PENDING_S - 60
    os.utime(stale, (old, old))
    os.utime(part, (old, old))
    fresh = root / "restore-pending-1111222233334444.zip"  # a restorer waits for this one
    fresh.write_bytes(zip_path.read_bytes())
    status = StatusBoard(root)

    assert apply_pending_restore(box, status) is True  # the fresh one, and only it
    assert status.read()["restore"]["token"] == "1111222233334444"
    assert sorted(p.name for p in root.iterdir() if "restore-" in p.name) == []
    assert box.store.kv.get("marker") == "from the backup"
    box.close()
