"""What ModemLine opens: a serial port (a character device, through a symlink such as
/dev/serial/by-id/... too), never a pyserial URL, a plain file or a folder. Each refusal
shows on the dashboard as a missing line with the reason, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.line.base import LineStatus
from firmware.line.modem import ModemLine
from tests.fakes.modem_emulator import ModemEmulator
from tests.line.rig import run
from tests.line.test_modem import FAST


async def _first_status(line: ModemLine) -> LineStatus:
    await line.open()
    try:
        event = await line.next_event()
        assert isinstance(event, LineStatus), event
        return event
    finally:
        await line.close()


def test_a_pyserial_url_is_never_opened(tmp_path: Path) -> None:
    emu = ModemEmulator("usr5637")
    emu.start()
    log = tmp_path / "ivrbox.db"
    try:
        for url in (f"spy://{emu.path}?file={log}", "socket://127.0.0.1:9", "loop://"):
            status = run(lambda url=url: _first_status(ModemLine(url, **FAST)), timeout_s=10.0)
            assert status.state == "missing" and "does not exist" in (status.detail or "")
    finally:
        emu.stop()
    assert not log.exists()  # the spy wrapper would have created it and logged AT traffic
    assert emu.commands == []  # nothing reached the modem


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_path_that_is_not_a_device_is_refused_before_opening(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "ivrbox.db"
    if kind == "file":
        path.write_bytes(b"SQLite format 3\x00 data")
    else:
        path.mkdir()
    status = run(lambda: _first_status(ModemLine(str(path), **FAST)), timeout_s=10.0)
    assert status.state == "missing"
    assert f"{path} is not a serial port (a {kind})" in (status.detail or "")
    if kind == "file":
        assert path.read_bytes() == b"SQLite format 3\x00 data"  # not truncated, no AT written


def test_a_by_id_symlink_to_the_port_opens(tmp_path: Path) -> None:
    emu = ModemEmulator("usr5637")
    emu.start()
    by_id = tmp_path / "usb-U.S._Robotics_USR5637_56K_Faxmodem-if00"
    by_id.symlink_to(emu.path)
    try:
        status = run(lambda: _first_status(ModemLine(str(by_id), **FAST)), timeout_s=10.0)
    finally:
        emu.stop()
    assert status.state == "ready"
