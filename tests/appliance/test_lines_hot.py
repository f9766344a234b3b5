"""Lines added and removed in a running box (LineFleet, as `ivrbox run` starts it): the
config is published the way the page publishes it (ConfigPublisher.edit with the page's
add_line/remove_line), the fleet follows the file, and callers are SimCallers whose keys
reach the engines as DTMF audio.

Checked: a line added to a one-line box answers a call at its own entry while the first
line keeps its Line and Engine; an idle line removed stops at once; a line removed in a
call finishes that call (the whole message kept) and then stops, while the other line's
call, in progress at the same time, ends normally and that line answers again; a line
re-plugged (new transfer on a sim line) is replaced only after its call ends.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from firmware.cli.lines_fleet import LineFleet
from firmware.line.sim import SimCaller
from firmware.web.configs import ConfigPublisher
from firmware.web.lines_edit import add_line, remove_line
from tests.appliance.test_two_lines import (FOLLOW_S, IN_MENU, LINES, TO_SUPPORT, WatchedBoard, _box,
                                            _fleet, _message_wav, _until)
from tests.ivr.conftest import SpyPrompts, session_prompts

__all__ = ["session_prompts"]

def _answering(fleet: LineFleet, name: str) -> bool:
    runner = fleet.runner(name)
    return runner is not None and runner.opened


async def _stop(fleet: LineFleet, task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def test_a_line_added_on_the_page_answers_and_an_idle_one_removed_stops(
        tmp_path: Path, session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts, {})
    board = WatchedBoard(box.store.data.root)
    publisher = ConfigPublisher(box.store, box.config.path, lambda: 0)
    fleet = _fleet(box, board)
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        task = asyncio.create_task(fleet.run(FOLLOW_S))
        await _until(lambda: _answering(fleet, "line1"))
        first = fleet.runner("line1")
        publisher.edit(lambda d: add_line(d, {"name": "back", "entry": "closed"}), "line back added")
        await _until(lambda: _answering(fleet, "back"))
        back = fleet.runner("back")
        assert back is not None
        back.line.incoming(SimCaller("wait 0.5; press 1; wait 2; hangup", caller_id=None))
        await board.until(lambda: board.ends("back"))
        seen["same_first"] = fleet.runner("line1") is first
        seen["board_after_add"] = dict(board.read())
        publisher.edit(lambda d: remove_line(d, "back"), "line back removed")
        await _until(lambda: fleet.runner("back") is None and not fleet.retiring())
        seen["back_open"] = back.line.is_open
        seen["first_task_alive"] = fleet.runner("line1") is first
        # the first line still answers after both changes
        first.line.incoming(SimCaller("wait 0.5; press 1; wait 2; hangup", caller_id=None))
        await board.until(lambda: board.ends("line1"))
        await _stop(fleet, task)

    asyncio.run(scenario())
    assert seen["same_first"] and seen["first_task_alive"]  # never restarted
    assert board.ends("back")[0]["path"][0] == "closed"  # its own entry node
    assert seen["board_after_add"]["back"]["state"] == "idle"
    assert seen["back_open"] is False  # released
    assert "back" not in board.read() and board.read()["line1"]["state"] == "stopped"
    assert board.ends("line1")[0]["path"][:2] == ["start", "main"]
    calls = {c.line for c in box.store.calls.recent(limit=10)}
    assert calls == {"line1", "back"}
    box.close()


def test_a_line_removed_in_a_call_finishes_it_and_the_other_call_is_undisturbed(
        tmp_path: Path, session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts, LINES)
    board = WatchedBoard(box.store.data.root)
    publisher = ConfigPublisher(box.store, box.config.path, lambda: 0)
    fleet = _fleet(box, board)
    seen: dict[str, Any] = {}

    def remove_back() -> None:  # published while both lines are in a call
        seen["states"] = {n: fleet.runner(n).engine.state for n in ("front", "back")}  # type: ignore[union-attr]
        publisher.edit(lambda d: remove_line(d, "back"), "line back removed")

    def back_ended() -> None:
        seen["retiring_at_end"] = fleet.retiring()

    async def scenario() -> None:
        task = asyncio.create_task(fleet.run(FOLLOW_S))
        await _until(lambda: _answering(fleet, "front") and _answering(fleet, "back"))
        front, back = fleet.runner("front"), fleet.runner("back")
        assert front is not None and back is not None
        back.line.incoming(SimCaller(f"{TO_SUPPORT}; speak {_message_wav(tmp_path, 6.0)}; press #; wait 8"))
        front.line.incoming(SimCaller("wait 0.5; press 1; wait 3; press 1; wait 60; hangup", caller_id=None))
        board.hooks[("back", "recording")] = remove_back
        board.hooks[("back", "call_end")] = back_ended
        await board.until(lambda: board.ends("back") and board.ends("front"))
        await _until(lambda: not fleet.retiring())
        seen["back_open"] = back.line.is_open
        seen["front_same"] = fleet.runner("front") is front
        front.line.incoming(SimCaller("wait 0.5; press 1; wait 2; hangup", caller_id=None))
        await board.until(lambda: len(board.ends("front")) == 2)
        await _stop(fleet, task)

    asyncio.run(scenario())
    assert seen["states"] == {"front": "in_call", "back": "in_call"}  # removed mid-call, both busy
    assert seen["retiring_at_end"] == ["back"]  # removed, yet it kept its call to the end
    assert seen["back_open"] is False and seen["front_same"]
    calls = {c.line: c for c in box.store.calls.recent(limit=10)}
    assert calls["back"].outcome == "voicemail" and calls["back"].end_reason == "goodbye"
    messages = box.store.messages.list("support")
    assert len(messages) == 1 and 5900 <= messages[0].duration_ms <= 6150  # not cut short
    first, second = board.ends("front")
    assert first["path"].count("info") == 2 and first["end_reason"] == "goodbye"  # the menu timed out as usual
    assert "info" in second["path"]  # the remaining line answers again
    assert "back" not in board.read()
    box.close()


def test_a_replugged_line_is_replaced_after_its_call(tmp_path: Path,
                                                    session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts, LINES)
    board = WatchedBoard(box.store.data.root)
    publisher = ConfigPublisher(box.store, box.config.path, lambda: 0)
    fleet = _fleet(box, board)
    seen: dict[str, Any] = {}

    def conference() -> None:  # the sim line's exchange is built for call transfer
        publisher.edit(lambda d: d["lines"][0].update(transfer="conference"), "front: 3-way")

    async def scenario() -> None:
        task = asyncio.create_task(fleet.run(FOLLOW_S))
        await _until(lambda: _answering(fleet, "front"))
        old = fleet.runner("front")
        assert old is not None
        old.line.incoming(SimCaller(IN_MENU, caller_id=None))
        board.hooks[("front", "answered")] = conference
        await board.until(lambda: board.ends("front"))
        await _until(lambda: _answering(fleet, "front") and fleet.runner("front") is not old)
        seen["old_open"] = old.line.is_open
        new = fleet.runner("front")
        seen["three_way"] = new.line.exchange.three_way_transfer  # type: ignore[union-attr]
        await _stop(fleet, task)

    asyncio.run(scenario())
    assert board.ends("front")[0]["path"].count("info") == 2  # the call was not cut
    assert seen["old_open"] is False and seen["three_way"] is False
    box.close()
