"""Two lines in one box, answered by LineFleet as `ivrbox run` and `ivrbox engine` start
it (the fleet builds one Line and Engine per configured line, one task each on one
event loop, sharing the store, the mailboxes and the call log). Keys reach the engines
as DTMF audio from SimCaller scripts; time is each line's sample clock.

Checked: overlapping calls (a caller in a menu on one line while another leaves a
voicemail on the other) both logged with their line's name and the message saved; each
line's own entry node; a call transferred on one line while the other rings and
answers; a device unplugged in a call, a device that will not open and an engine that
raises on every call each stay on their line while the other line's call completes;
the page's dashboard shows both lines; `--line` is refused with two lines.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import firmware.appliance
from firmware.appliance import Box, ConfigSource, StatusBoard, web_services
from firmware.cli.lines_fleet import LineFleet
from firmware.cli.lines_run import LineRunner
from firmware.dsp.audiofile import write_wav
from firmware.dsp.callerid import CallerIdInfo
from firmware.errors import LineError
from firmware.line.base import ms_to_samples
from firmware.line.sim import SimCaller, SimLine, SimParty
from firmware.settings import line_list
from tests.ivr.conftest import KNOWN, OPEN, SpyPrompts, session_prompts, voice, write_config

__all__ = ["session_prompts"]  # the TTS-cache fixture, shared with the engine tests

IN_MENU = "wait 0.5; press 1; wait 3; press 1; wait 3; hangup"  # info twice, then leaves
TO_SUPPORT = "wait 0.5; press 3; waitbeep; wait 0.3"  # speak once the beep is over
LINES = {"lines": [{"name": "front"}, {"name": "back", "rings": 3}]}
CALL_TIMEOUT_S = 60.0  # wall-clock guard only: a stuck test fails instead of hanging
FOLLOW_S = 0.01  # the fleet looks at the config file this often in the tests


class WatchedBoard(StatusBoard):
    """The real status file, plus every engine event per line for the test to read."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.hooks: dict[tuple[str, str], Any] = {}  # (line, kind) -> action, run once

    def event_sink(self, line: str):  # type: ignore[no-untyped-def]
        sink = super().event_sink(line)

        def record(kind: str, detail: dict[str, Any]) -> None:
            sink(kind, detail)
            self.events.append((line, kind, detail))
            action = self.hooks.pop((line, kind), None)
            if action is not None:
                action()
            self.changed.set()

        return record

    def ends(self, line: str) -> list[dict[str, Any]]:
        return [d for n, k, d in self.events if n == line and k == "call_end"]

    def first(self, line: str, kind: str) -> int:
        """Where the line's first event of this kind is in the order of all events."""
        return next(i for i, (n, k, _) in enumerate(self.events) if n == line and k == kind)

    async def until(self, done: Any) -> None:
        async with asyncio.timeout(CALL_TIMEOUT_S):
            while not done():
                self.changed.clear()
                await self.changed.wait()


def _box(tmp_path: Path, prompts: SpyPrompts, overrides: dict[str, Any],
         when: dt.datetime = OPEN) -> Box:
    path = tmp_path / "data" / "config" / "current.yaml"
    write_config(path, overrides)
    now = lambda: int(when.timestamp() * 1000)  # noqa: E731
    box = Box(tmp_path / "data", ConfigSource(path, fallback=None), now_ms=now)
    box.store.db.now_ms = now
    box.prompts = box.services.prompts = prompts
    return box


def _fleet(box: Box, board: WatchedBoard) -> LineFleet:
    """As `ivrbox run` builds it, with simulated lines running as fast as the loop
    allows (a simulated ring cycle may outlast 8 s of loop time: hence ring_gap_s)."""
    return LineFleet(box, board, realtime_sim=False, engine_options={"ring_gap_s": 30.0})


async def _until(done: Callable[[], Any]) -> None:
    """Wall-clock guard for things outside any call (a task starting, a line released)."""
    async with asyncio.timeout(CALL_TIMEOUT_S):
        while not done():
            await asyncio.sleep(0.005)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # fleet.run releases every line, then ends
        await task


def _tried(runner: LineRunner | None) -> bool:
    """The line's task has run: its device opened, or failed to."""
    return runner is not None and (runner.opened or runner.failures > 0)


def _serve(fleet: LineFleet, board: WatchedBoard, done: Callable[[], Any],
           setup: Callable[[dict[str, LineRunner]], None]) -> dict[str, LineRunner]:
    """Run the fleet until `done()`; once every configured line has tried its device,
    `setup` places the callers on the runners (by name). Returns those runners."""

    async def scenario() -> dict[str, LineRunner]:
        names = [e.name for e in line_list(fleet.box.config.current())]
        task = asyncio.create_task(fleet.run(FOLLOW_S))
        try:
            await _until(lambda: all(_tried(fleet.runner(n)) for n in names))
            runners = {n: fleet.runner(n) for n in names}
            setup(runners)  # type: ignore[arg-type]
            await board.until(done)
        finally:
            await _stop(task)
        return runners  # type: ignore[return-value]

    return asyncio.run(scenario())


def _message_wav(tmp_path: Path, seconds: float = 2.0) -> Path:
    path = tmp_path / "msg.wav"
    write_wav(path, voice(seconds))
    return path


def _both_ended(board: WatchedBoard) -> Callable[[], bool]:
    return lambda: bool(board.ends("front") and board.ends("back"))


def test_two_overlapping_calls_share_the_call_log_and_the_mailboxes(
        tmp_path: Path, session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts, LINES)
    board = WatchedBoard(box.store.data.root)
    assert [(e.name, e.rings) for e in line_list(box.config.current())] == [("front", 2), ("back", 3)]

    def start(runners: dict[str, LineRunner]) -> None:
        runners["front"].line.incoming(SimCaller(IN_MENU, caller_id=None))
        runners["back"].line.incoming(
            SimCaller(f"{TO_SUPPORT}; speak {_message_wav(tmp_path)}; press #; wait 8"))

    runners = _serve(_fleet(box, board), board, _both_ended(board), start)
    front, back = runners["front"].line, runners["back"].line
    assert isinstance(front, SimLine) and isinstance(back, SimLine) and front is not back
    assert runners["front"].engine is not runners["back"].engine

    # overlapping: each line answered before either call ended
    assert board.first("front", "answered") < board.first("back", "call_end")
    assert board.first("back", "answered") < board.first("front", "call_end")
    rings = {n: max(d["count"] for m, k, d in board.events if m == n and k == "ring")
             for n in ("front", "back")}
    assert rings == {"front": 2, "back": 3}  # each line's own rings
    calls = {c.line: c for c in box.store.calls.recent(limit=10)}
    assert set(calls) == {"front", "back"}
    assert calls["back"].outcome == "voicemail"
    assert calls["front"].outcome != "voicemail"
    messages = box.store.messages.list("support")
    assert len(messages) == 1 and 1900 <= messages[0].duration_ms <= 2150
    assert board.ends("front")[0]["path"].count("info") == 2  # pressed 1 twice in the menu
    state = board.read()
    assert state["front"]["state"] == state["back"]["state"] == "stopped"
    assert not front.is_open and not back.is_open  # released when the fleet stopped
    box.close()


def test_each_line_starts_at_its_own_entry(tmp_path: Path, session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts,
               {"lines": [{"name": "front"}, {"name": "back", "entry": "closed"}]})
    board = WatchedBoard(box.store.data.root)

    def start(runners: dict[str, LineRunner]) -> None:  # the same caller on both lines
        for r in runners.values():
            r.line.incoming(SimCaller("wait 0.5; press 1; wait 2; hangup", caller_id=None))

    _serve(_fleet(box, board), board, _both_ended(board), start)
    assert board.ends("front")[0]["path"][:2] == ["start", "main"]
    assert board.ends("back")[0]["path"][0] == "closed"
    box.close()


def test_a_transfer_on_one_line_while_the_other_rings(tmp_path: Path,
                                                      session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts, LINES)
    board = WatchedBoard(box.store.data.root)
    sales = SimParty.answers("wait 2.5; press 1; wait 20")  # picks up, accepts with 1
    transferred = SimCaller("wait 0.5; press 2; wait 60; hangup", caller_id=CallerIdInfo(number=KNOWN))
    lines: dict[str, LineRunner] = {}

    def back_rings() -> None:  # as the front line dials sales for its caller
        lines["back"].line.incoming(SimCaller(IN_MENU, caller_id=None))

    def start(runners: dict[str, LineRunner]) -> None:
        lines.update(runners)
        runners["front"].line.exchange.parties["202"] = sales
        runners["front"].line.incoming(transferred)
        board.hooks[("front", "forward_dial")] = back_rings

    _serve(_fleet(box, board), board, _both_ended(board), start)
    front, back = lines["front"].line, lines["back"].line
    assert board.first("front", "forward_dial") < board.first("back", "ring")
    assert board.first("back", "ring") < board.first("front", "call_end")  # rang meanwhile
    result = next(d for n, k, d in board.events if n == "front" and k == "forward_result")
    assert result["result"] == "accepted"
    assert transferred.outcome == "transferred" and transferred.connected_to is sales
    assert len(front.exchange.transfers) == 1 and not back.exchange.transfers  # type: ignore[attr-defined]
    assert board.ends("front")[0]["end_reason"] == "transferred"
    assert board.ends("back")[0]["path"].count("info") == 2  # its menu ran undisturbed
    rings = max(d["count"] for n, k, d in board.events if n == "back" and k == "ring")
    assert rings == 3
    calls = {c.line: c for c in box.store.calls.recent(limit=10)}
    assert calls["front"].outcome == "forwarded" and calls["front"].end_reason == "transferred"
    assert calls["back"].outcome not in ("forwarded", "voicemail")
    box.close()


def test_an_unplugged_device_ends_only_its_own_call(tmp_path: Path,
                                                    session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts, LINES)
    board = WatchedBoard(box.store.data.root)
    lines: dict[str, LineRunner] = {}
    seen: dict[str, Any] = {}

    def unplug_front_soon() -> None:  # the back line's caller is in the menu by then
        front = lines["front"].line
        front.unplug(at=front.clock + ms_to_samples(1_500), for_ms=10_000)

    def note_back_state() -> None:
        seen["back_when_front_missing"] = lines["back"].engine.state

    def start(runners: dict[str, LineRunner]) -> None:
        lines.update(runners)
        runners["front"].line.incoming(
            SimCaller("wait 0.5; press 1; wait 3; press 1; wait 20; hangup", caller_id=None))
        runners["back"].line.incoming(
            SimCaller(f"{TO_SUPPORT}; speak {_message_wav(tmp_path, 6.0)}; press #; wait 8"))
        board.hooks[("back", "answered")] = unplug_front_soon
        board.hooks[("front", "call_end")] = note_back_state

    fleet = _fleet(box, board)
    _serve(fleet, board, _both_ended(board), start)
    assert seen["back_when_front_missing"] == "in_call"  # the calls overlapped
    assert board.ends("front")[0]["end_reason"] == "line_lost"
    statuses = [d.get("state") for n, k, d in board.events if n == "front" and k == "line_status"]
    assert "missing" in statuses  # the dashboard showed the front line missing
    calls = {c.line: c for c in box.store.calls.recent(limit=10)}
    assert calls["back"].outcome == "voicemail" and calls["back"].end_reason == "goodbye"
    messages = box.store.messages.list("support")
    assert len(messages) == 1 and 5900 <= messages[0].duration_ms <= 6150  # not cut short
    assert calls["front"].ended_ms is not None and calls["front"].end_reason == "line_lost"
    assert lines["front"].failures == 0  # a lost line is an ended call, not a crash
    assert fleet.runner("front") is lines["front"]  # the same line, never rebuilt
    box.close()


def test_a_line_back_after_unplugging_answers_again(tmp_path: Path,
                                                   session_prompts: SpyPrompts) -> None:
    box = _box(tmp_path, session_prompts, LINES)
    board = WatchedBoard(box.store.data.root)

    def start(runners: dict[str, LineRunner]) -> None:
        front = runners["front"].line
        front.incoming(SimCaller("wait 0.5; press 1; wait 20; hangup", caller_id=None))
        front.unplug(at=front.clock + ms_to_samples(12_000), for_ms=2_000)
        # a second caller long after the device came back
        front.incoming(SimCaller("wait 0.5; press 1; wait 3; hangup", caller_id=None),
                       at=front.clock + ms_to_samples(60_000))

    _serve(_fleet(box, board), board, lambda: len(board.ends("front")) >= 2, start)
    statuses = [d.get("state") for n, k, d in board.events if n == "front" and k == "line_status"]
    assert "missing" in statuses and statuses[-1] == "ready"
    second = board.ends("front")[1]
    assert "info" in second["path"]
    box.close()


class BrokenLine(SimLine):
    """A backend that fails without ever waiting: the hazard for a shared event loop."""

    def __init__(self, *args: Any, fail_open: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fail_open = fail_open
        self.tries = 0

    async def open(self) -> None:
        self.tries += 1
        if self.fail_open:
            raise LineError("no such device /dev/ttyACM7")
        await super().open()

    async def next_event(self):  # type: ignore[no-untyped-def]
        self.tries += 1
        raise RuntimeError("driver bug")


@pytest.mark.parametrize("fail_open", [False, True], ids=["raises-every-call", "never-opens"])
def test_a_failing_line_never_stops_the_other(tmp_path: Path, session_prompts: SpyPrompts,
                                              monkeypatch: pytest.MonkeyPatch,
                                              fail_open: bool) -> None:
    box = _box(tmp_path, session_prompts, LINES)
    board = WatchedBoard(box.store.data.root)
    real_open_line = firmware.appliance.open_line
    built: list[BrokenLine] = []

    def open_line(kind: str, device: str | None = None, settings: Any = None,
                  **options: Any) -> Any:  # the fleet builds the front line on a broken backend
        if options.get("name") != "front":
            return real_open_line(kind, device, settings, **options)
        built.append(BrokenLine(fail_open=fail_open, **options))
        return built[-1]

    monkeypatch.setattr(firmware.appliance, "open_line", open_line)

    def start(runners: dict[str, LineRunner]) -> None:
        runners["back"].line.incoming(
            SimCaller(f"{TO_SUPPORT}; speak {_message_wav(tmp_path)}; press #; wait 8"))

    fleet = _fleet(box, board)
    runners = _serve(fleet, board, lambda: bool(board.ends("back")), start)
    assert [runners["front"].line] == built  # built once: the fleet never rebuilds it
    assert board.ends("back")[0]["outcome"] == "voicemail"
    assert len(box.store.messages.list("support")) == 1
    assert built[0].tries >= 1
    front = board.read()["front"]
    assert front["state"] == "stopped"  # released at the end, after showing the error
    assert ("no such device" if fail_open else "driver bug") in front["last_error"]
    assert runners["front"].failures >= 1
    box.close()


def test_the_dashboard_and_self_test_list_every_line(tmp_path: Path,
                                                     session_prompts: SpyPrompts) -> None:
    from fastapi.testclient import TestClient

    from firmware.web.app import create_app
    from firmware.web.context import LANG_COOKIE
    from tests.web.conftest import FAST_HASHER, do_setup

    box = _box(tmp_path, session_prompts, LINES)
    status = StatusBoard(box.store.data.root)
    status.set("front", "in_call")
    status.set("back", "missing", "simulated device unplugged", error="LineGone: gone")
    services = web_services(box, status, engine_in_process=True)
    services.password_hasher = FAST_HASHER
    assert [(n, s.state) for n, s in services.lines_state()] == [("front", "in_call"), ("back", "missing")]
    assert services.line_state().state == "in_call"  # a restore waits for the busy line
    names = [r.name for r in services.selftest()]
    assert "line (engine) front" in names and "line (engine) back" in names
    with TestClient(create_app(services), base_url="http://ivrbox.local") as client:
        do_setup(client)
        api = client.get("/api/status").json()
        page = client.get("/").text
        client.cookies.set(LANG_COOKIE, "zh-TW")
        zh = client.get("/").text
    assert [(x["name"], x["state"]) for x in api["lines"]] == [("front", "in_call"), ("back", "missing")]
    assert "back: LineGone: gone" in api["last_error"]
    assert 'data-line="front"' in page and 'data-line="back"' in page
    assert "Line front:" in page and "On a call" in page and "Line back:" in page
    assert "the other lines keep answering" in page
    assert "線路 back：" in zh and "其他線路照常接聽" in zh
    box.close()


def test_one_line_keeps_the_single_card(tmp_path: Path, session_prompts: SpyPrompts) -> None:
    from fastapi.testclient import TestClient

    from firmware.web.app import create_app
    from tests.web.conftest import FAST_HASHER, do_setup

    box = _box(tmp_path, session_prompts, {})
    status = StatusBoard(box.store.data.root)
    status.set("line1", "missing", "no modem")
    services = web_services(box, status, engine_in_process=True)
    services.password_hasher = FAST_HASHER
    with TestClient(create_app(services), base_url="http://ivrbox.local") as client:
        do_setup(client)
        page = client.get("/").text
    assert page.count("data-refresh-status") == 1 and "data-line=" not in page
    assert "Line line1" not in page and "Calls are not answered until it is back" in page
    box.close()


def test_line_flag_is_refused_with_several_lines(tmp_path: Path) -> None:
    from firmware.cli import main

    data = tmp_path / "data"
    write_config(data / "config" / "current.yaml", LINES)
    assert main(["engine", "--data", str(data), "--line", "sim"]) == 2
