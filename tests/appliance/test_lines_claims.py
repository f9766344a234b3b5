"""The hardware a running line holds (LineFleet): a new line that needs the modem of a
line still finishing its call waits for that call to end, also when the config names
the modem by its other name (a /dev/serial/by-id link and /dev/ttyACM0 are one port);
and `ivrbox run --line/--device` keeps its override of line1 when the page adds a line.

The modem lines are simulated (the fleet's builder makes a SimLine for each; the device
claim is the config's), callers are SimCallers whose keys reach the engine as DTMF audio.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import pytest

from firmware.cli import lines_fleet
from firmware.cli.lines_fleet import LineFleet, line_key
from firmware.cli.run_cmd import _entries, _entries_while_running
from firmware.line.sim import SimCaller, SimLine
from firmware.settings import devices
from firmware.web.configs import ConfigPublisher
from firmware.web.lines_edit import add_line
from tests.appliance.test_lines_hot import FOLLOW_S, _answering, _fleet, _stop, _until
from tests.appliance.test_two_lines import TO_SUPPORT, WatchedBoard, _box, _message_wav
from tests.ivr.conftest import SpyPrompts, session_prompts

__all__ = ["session_prompts"]

BY_ID = "/dev/serial/by-id/usb-Conexant_USB_Modem_24680-if00"


@pytest.fixture
def dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A /dev of the test's own: ttyACM0 and its by-id link."""
    root = tmp_path / "dev"
    (root / "serial" / "by-id").mkdir(parents=True)
    (root / "ttyACM0").touch()
    (root / BY_ID[len("/dev/"):]).symlink_to("../../ttyACM0")
    monkeypatch.setattr(devices, "DEV", root)
    return root


@pytest.fixture
def simulated_modems(monkeypatch: pytest.MonkeyPatch) -> None:
    real = lines_fleet.build_lines

    def build(box: Any, status: Any, settings: Any, entries: Any, *args: Any) -> Any:
        return real(box, status, settings, [e.model_copy(update={"backend": "sim"}) for e in entries], *args)

    monkeypatch.setattr(lines_fleet, "build_lines", build)


def test_a_new_line_waits_for_a_modem_held_by_a_line_in_a_call(
        tmp_path: Path, dev: Path, simulated_modems: None, session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts,
               {"lines": [{"name": "old", "backend": "modem", "device": "/dev/ttyACM0"}]})
    board = WatchedBoard(box.store.data.root)
    publisher = ConfigPublisher(box.store, box.config.path, lambda: 0)
    fleet = _fleet(box, board)
    seen: dict[str, Any] = {}

    def replug() -> None:  # published while the old line records a message
        publisher.edit(lambda d: d.update(lines=[{"name": "new", "backend": "modem", "device": BY_ID}]),
                       "the modem moves to line new")

    def old_ended() -> None:
        seen["retiring"] = fleet.retiring()
        seen["new_at_old_end"] = fleet.runner("new")

    async def scenario() -> None:
        task = asyncio.create_task(fleet.run(FOLLOW_S))
        await _until(lambda: _answering(fleet, "old"))
        old = fleet.runner("old")
        assert old is not None
        old.line.incoming(SimCaller(f"{TO_SUPPORT}; speak {_message_wav(tmp_path, 6.0)}; press #; wait 8"))
        board.hooks[("old", "recording")] = replug
        board.hooks[("old", "call_end")] = old_ended
        await board.until(lambda: board.ends("old"))
        await _until(lambda: _answering(fleet, "new"))
        seen["old_open"] = old.line.is_open
        new = fleet.runner("new")
        assert new is not None and isinstance(new.line, SimLine)
        new.line.incoming(SimCaller("wait 0.5; press 1; wait 2; hangup", caller_id=None))
        await board.until(lambda: board.ends("new"))
        await _stop(fleet, task)

    asyncio.run(scenario())
    assert seen["retiring"] == ["old"]  # the change was seen while the call went on...
    assert seen["new_at_old_end"] is None  # ...and the new line did not take the modem from it
    assert seen["old_open"] is False
    calls = {c.line: c for c in box.store.calls.recent(limit=10)}
    assert calls["old"].outcome == "voicemail" and calls["old"].end_reason == "goodbye"
    assert len(box.store.messages.list("support")) == 1
    assert "info" in board.ends("new")[0]["path"]
    box.close()


def test_run_device_override_survives_a_line_added_on_the_page(tmp_path: Path,
                                                               session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts, {})
    args = argparse.Namespace(line="modem", device="/dev/ttyACM0")
    (first,) = _entries(box.config.current(), args)
    publisher = ConfigPublisher(box.store, box.config.path, lambda: 0)
    publisher.edit(lambda d: add_line(d, {"name": "back"}), "line back added")
    line1, back = _entries_while_running(box.config.current(), args)
    assert (line1.name, line1.backend, line1.device) == ("line1", "modem", "/dev/ttyACM0")
    assert line_key(line1) == line_key(first)  # the fleet keeps the running modem line
    assert (back.name, back.backend) == ("back", "sim")
    box.close()


def test_a_line_never_opens_a_modem_another_line_answers_on(
        tmp_path: Path, dev: Path, simulated_modems: None, session_prompts: SpyPrompts) -> None:
    """--device gave line1 the modem the page then gives a new line (the config cannot
    know): the new line is shown missing with the reason, line1 keeps answering."""
    box = _box(tmp_path, session_prompts, {})
    board = WatchedBoard(box.store.data.root)
    args = argparse.Namespace(line="modem", device="/dev/ttyACM0")
    fleet = LineFleet(box, board, entries_of=lambda s: _entries_while_running(s, args),
                      realtime_sim=False, engine_options={"ring_gap_s": 30.0})
    publisher = ConfigPublisher(box.store, box.config.path, lambda: 0)

    async def scenario() -> None:
        task = asyncio.create_task(fleet.run(FOLLOW_S))
        await _until(lambda: _answering(fleet, "line1"))
        first = fleet.runner("line1")
        publisher.edit(lambda d: add_line(d, {"name": "back", "backend": "modem", "device": BY_ID}), "back")
        await _until(lambda: board.read().get("back", {}).get("state") == "missing")
        assert fleet.runner("back") is None and fleet.runner("line1") is first
        await _stop(fleet, task)

    asyncio.run(scenario())
    assert "held by line line1" in board.read()["back"]["detail"]
    box.close()
