"""A power cut during a restore's swap: the next open finds the old data or the new one,
whole, never a mix. The cut is real: a forked child runs the restore and dies (os._exit,
no clean-up code runs) just before its N-th rename, for every N of the swap."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from firmware.store import Store
from firmware.store import swap as swap_module
from firmware.store.backup import make_backup, restore_backup

CUT_EXIT = 77


def _data(root: Path, name: str, messages: int) -> Path:
    (root / "config").mkdir(parents=True)
    (root / "config" / "current.yaml").write_text(f"business: {{name: {name}}}\n")
    store = Store(root)
    store.kv.set("who", name)
    for n in range(messages):
        wav = store.data.inside(store.data.voicemail, "general", f"msg-{n}.wav")
        wav.write_bytes(b"RIFF" + name.encode())
        store.messages.add("general", path=store.data.relative(wav), duration_ms=1000)
    (store.data.greetings / "welcome.wav").write_bytes(name.encode())
    store.close()
    return root


def _state(root: Path) -> tuple[str, str, str, int]:
    """(config's name, database's name, greeting's name, messages): one of two whole sets."""
    store = Store(root)  # first: opening the data dir repairs it
    config = (root / "config" / "current.yaml").read_text()
    try:
        who = store.kv.get("who")
        count = len(store.messages.list())
        wavs = {p.read_bytes()[4:].decode() for p in (root / "voicemail").rglob("*.wav")}
        assert wavs <= {who}, f"voicemail of another data set: {wavs} in {who}'s database"
    finally:
        store.close()
    greeting = (root / "greetings" / "welcome.wav").read_bytes().decode()
    return config.split("name: ")[1].rstrip("}\n"), who, greeting, count


OLD = ("Old", "Old", "Old", 1)
NEW = ("New", "New", "New", 2)


def _restore_dying_at(zip_path: Path, root: Path, cut_at: int) -> None:
    renames = 0
    real_rename = os.rename

    def rename(src: object, dst: object) -> None:
        nonlocal renames
        renames += 1
        if renames == cut_at:
            os._exit(CUT_EXIT)  # the power goes: no except/finally runs
        real_rename(src, dst)

    swap_module.os.rename = rename  # type: ignore[assignment]  # only in this child
    restore_backup(zip_path, root)
    os._exit(0)


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    zip_path = tmp_path / "new.zip"
    make_backup(_data(tmp_path / "new", "New", messages=2), zip_path)
    return zip_path


def test_a_cut_at_any_rename_of_the_swap_leaves_the_old_data_whole(
        tmp_path: Path, backup: Path) -> None:
    outcomes = []
    for cut_at in range(1, 12):
        root = _data(tmp_path / f"box{cut_at}", "Old", messages=1)
        child = multiprocessing.get_context("fork").Process(
            target=_restore_dying_at, args=(backup, root, cut_at))
        child.start()
        child.join(60)
        state = _state(root)  # Store() repairs first
        assert state in (OLD, NEW), f"cut at rename {cut_at}: {state}"
        assert not [p.name for p in root.iterdir() if p.name.startswith(".restore-")
                    and p.name != swap_module.LOCK], f"cut at rename {cut_at}: work left over"
        outcomes.append((child.exitcode, state))
        if child.exitcode == 0:
            break
    # every cut inside the swap was repaired; the run with no cut restored
    assert outcomes[-1] == (0, NEW)
    cut = [state for code, state in outcomes if code == CUT_EXIT]
    # 4 old pieces and the WAL aside, 4 new ones in: a cut before any of them rolls back
    # (a cut after the last one is the journal test below)
    assert len(cut) >= 8 and set(cut) == {OLD}


def test_a_journal_with_every_new_piece_placed_completes_the_restore(tmp_path: Path,
                                                                      backup: Path) -> None:
    root = _data(tmp_path / "box", "Old", messages=1)
    restore_backup(backup, root)
    # as if cut after the last rename: the journal and the trash are still there
    trash = root / ".restore-old-cut"
    trash.mkdir()
    (trash / "config").mkdir()
    (root / swap_module.JOURNAL).write_text(
        '{"staging": ".restore-new-cut", "trash": ".restore-old-cut", '
        '"items": ["config", "greetings", "voicemail", "ivrbox.db"], "moved": ["config"]}')
    with swap_module.swap_lock(root):
        assert swap_module.recover(root) == "completed"
    assert _state(root) == NEW
    assert not trash.exists() and not (root / swap_module.JOURNAL).exists()


def test_a_failed_rename_puts_the_old_data_back_at_once(tmp_path: Path, backup: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = _data(tmp_path / "box", "Old", messages=1)
    real_rename = os.rename
    calls = 0

    def rename(src: object, dst: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 6:  # while placing the new pieces
            raise OSError(5, "Input/output error")
        real_rename(src, dst)

    monkeypatch.setattr(swap_module.os, "rename", rename)
    with pytest.raises(OSError):
        restore_backup(backup, root)
    monkeypatch.undo()
    assert _state(root) == OLD
    assert not (root / swap_module.JOURNAL).exists()


def test_a_rollback_that_fails_too_is_finished_at_the_next_open(
        tmp_path: Path, backup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fails while placing the new data and again while putting the old back:
    the journal stays, and so must the new data it names (staging) and the old (trash),
    or the next open would take the swap for complete and delete the old data."""
    root = _data(tmp_path / "box", "Old", messages=1)
    real_rename = os.rename
    calls = 0

    def rename(src: object, dst: object) -> None:
        nonlocal calls
        calls += 1
        if calls in (6, 7):  # placing the first new piece, then the first put-back
            raise OSError(5, "Input/output error")
        real_rename(src, dst)

    monkeypatch.setattr(swap_module.os, "rename", rename)
    with pytest.raises(OSError):
        restore_backup(backup, root)
    monkeypatch.undo()
    assert (root / swap_module.JOURNAL).exists()
    assert _state(root) == OLD  # Store() finished the rollback
    assert not [p.name for p in root.iterdir() if p.name.startswith(".restore-")
                and p.name != swap_module.LOCK]
