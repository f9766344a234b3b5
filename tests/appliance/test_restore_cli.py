"""`ivrbox restore` while the engine runs: the backup is handed to the engine (as the web
page does), which swaps the data between calls; refused cleanly if nobody takes it."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource, StatusBoard
from firmware.cli import main
from firmware.errors import UploadRejected
from firmware.restore_handoff import apply_pending_restore, hand_over
from firmware.store import Store
from firmware.store.backup import make_backup
from tests.appliance.test_backup_status import make_data

REPO = Path(__file__).resolve().parents[2]


def _backup(tmp_path: Path, name: str = "Backed Up") -> Path:
    zip_path = tmp_path / "backup.zip"
    make_backup(make_data(tmp_path / "src", name), zip_path)
    return zip_path


def _config_name(data: Path) -> str:
    text = (data / "config" / "current.yaml").read_text()
    return "Backed Up" if "Backed Up" in text else "Current" if "Current" in text else "?"


def _leftovers(data: Path) -> list[str]:
    return sorted(p.name for p in data.iterdir() if "restore-" in p.name)


def _wait_for_state(data: Path, state: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while StatusBoard(data).read().get("line1", {}).get("state") != state:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, f"the engine never reported {state}"
        time.sleep(0.1)


def test_restore_is_handed_to_a_running_engine_process(tmp_path: Path, capsys) -> None:
    zip_path = _backup(tmp_path)
    data = make_data(tmp_path / "data", "Current")
    Store(data).kv.set("marker", "before")  # not in the backup: gone after the swap
    proc = subprocess.Popen([sys.executable, "-m", "firmware", "engine", "--line", "sim",
                             "--data", str(data)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_state(data, "idle", proc)
        assert main(["restore", str(zip_path), "--data", str(data)]) == 0
        out, err = capsys.readouterr()
        assert "the engine is running (line1 idle): handing" in err
        assert "the engine restored" in out and "3 file(s)" in out
        assert _config_name(data) == "Backed Up"
        store = Store(data)
        assert store.kv.get("marker") is None and len(store.messages.list()) == 1
        store.close()
        assert _leftovers(data) == []
        assert proc.poll() is None  # still answering calls
    finally:
        proc.send_signal(signal.SIGTERM)
        _, log = proc.communicate(timeout=60)
    assert "restored a handed-over backup (3 files)" in log
    assert StatusBoard(data).read()["line1"]["state"] == "stopped"


def test_a_bad_zip_is_refused_at_once_and_an_untaken_one_withdrawn(tmp_path: Path,
                                                                   capsys) -> None:
    data = make_data(tmp_path / "data", "Current")
    StatusBoard(data).set("line1", "in_call")  # the board of an engine that never answers
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    started = time.monotonic()
    assert main(["restore", str(bad), "--data", str(data), "--wait", "60"]) == 2
    assert time.monotonic() - started < 10  # validated here, not after the wait
    assert "not a readable zip" in capsys.readouterr().err

    zip_path = _backup(tmp_path)
    assert main(["restore", str(zip_path), "--data", str(data), "--wait", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "did not take the backup within 0.5 s" in err and "nothing was changed" in err
    assert _leftovers(data) == []
    box = Box(data, ConfigSource(data / "config" / "current.yaml", fallback=DEFAULT_CONFIG))
    assert not apply_pending_restore(box, StatusBoard(data))  # a late engine finds nothing
    box.close()
    assert _config_name(data) == "Current"
    assert main(["restore", str(zip_path), "--data", str(data), "--wait", "0"]) == 2
    assert "--wait: 0 is not a positive number" in capsys.readouterr().err


def test_a_backup_the_engine_claimed_is_waited_for_past_the_wait(tmp_path: Path) -> None:
    zip_path = _backup(tmp_path)
    data = make_data(tmp_path / "data", "Current")
    box = Box(data, ConfigSource(data / "config" / "current.yaml", fallback=DEFAULT_CONFIG))
    close = box.store.close

    def slow_close() -> None:  # the engine claimed the zip, then is slow to let go
        time.sleep(1.0)
        close()

    box.store.close = slow_close  # type: ignore[method-assign]
    applied: list[bool] = []

    def engine() -> None:
        deadline = time.monotonic() + 30
        while not applied and time.monotonic() < deadline:
            if apply_pending_restore(box, StatusBoard(data)):
                applied.append(True)
            time.sleep(0.02)

    thread = threading.Thread(target=engine)
    thread.start()
    info = hand_over(data, StatusBoard(data), zip_path, wait_s=0.3)
    thread.join(30)
    assert applied and info.files == 3 and _config_name(data) == "Backed Up"
    assert _leftovers(data) == []
    box.close()


def test_the_engine_s_refusal_reaches_the_restorer(tmp_path: Path) -> None:
    data = make_data(tmp_path / "data", "Current")
    box = Box(data, ConfigSource(data / "config" / "current.yaml", fallback=DEFAULT_CONFIG))
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    done = threading.Event()

    def engine() -> None:
        while not done.is_set() and not apply_pending_restore(box, StatusBoard(data)):
            time.sleep(0.02)

    thread = threading.Thread(target=engine)
    thread.start()
    try:
        with pytest.raises(UploadRejected, match="not an ivrbox backup"):
            hand_over(data, StatusBoard(data), empty, wait_s=20)
    finally:
        done.set()
        thread.join(30)
    assert _config_name(data) == "Current" and _leftovers(data) == []
    box.close()
