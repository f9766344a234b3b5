"""One line answering calls: its Line, its Engine, its retries (LineFleet runs one per
configured line, each in its own task on one event loop).

API:
    LineRunner(name, line, engine, status)      one line, its engine, its dashboard entry
        await .run()            open the line and answer calls until retired (see below)
        .retire() -> bool       answer no further call; True when the line is idle now
                                (the caller may cancel .run()), False while a call
                                rings or runs (.run() returns once it ends)
        .failures               failures since the last call that went through
    build_lines(box, status, settings, entries=None, realtime_sim=True,
                engine_options=None) -> [LineRunner]
                                a Line (from `open_line`) and an Engine per entry of
                                `line_list(settings)` (or `entries`), not yet opened
    all_idle(runners) -> bool   no line is ringing or in a call (a restore may swap data)

The lines share the Box (store, mailboxes, outbox, one call log whose `line` column is
the runner's name), and nothing else: each has its own task, its own Line and its own
Engine, and sees the config through `Box.line_settings(name)` (its rings, transfer and
entry node).

Why not `Engine.run()`: it retries a failed call at once, which is right for one line,
but a line that fails without ever waiting (a device that refuses to open, a backend
raising on every call) would then spin without yielding and starve the other lines on
the shared loop. Here a failure is logged, shown on the dashboard as that line's last
error, and the line waits before its next try, doubling from RETRY_FIRST_S up to
RETRY_MAX_S while failures follow each other. A device unplugged in a call ends only
that call (LineGone); the line then reports "missing" until the device is back, as its
backend notices. Those waits are between calls on the failing line only; no call's
timing depends on the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from firmware.settings import LineEntry, Settings, for_line, line_list

log = logging.getLogger("ivrbox")

RETRY_FIRST_S = 1.0  # wait after the second failure in a row (the first retries at once)
RETRY_MAX_S = 30.0  # never wait longer than this between tries
BUSY_STATES = ("ringing", "in_call")


@dataclass
class LineRunner:
    name: str
    line: Any  # firmware.line.base.Line
    engine: Any  # firmware.ivr.engine.Engine
    status: Any  # firmware.appliance.StatusBoard
    failures: int = 0
    opened: bool = field(default=False, init=False)
    retiring: bool = field(default=False, init=False)

    def retire(self) -> bool:
        """The line was removed from the config: finish the call in progress, take no
        other. True when no call rings or runs now, so cancelling `run()` yanks nothing."""
        self.retiring = True
        return self.engine.state not in BUSY_STATES

    def _failed(self, what: str, exc: BaseException) -> float:
        """Log and show a failure; how long to wait before the next try (seconds)."""
        self.failures += 1
        text = f"{type(exc).__name__}: {exc}"
        self.engine.last_error = text
        log.error("line %s: %s failed: %s", self.name, what, text, exc_info=exc)
        state = "missing" if not self.opened else "idle"
        self.status.set(self.name, state, None if self.opened else str(exc), error=text)
        return 0.0 if self.failures == 1 else min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (self.failures - 2))

    async def _open(self) -> None:
        while not self.opened:
            try:
                await self.line.open()
                self.opened = True
                self.failures = 0
                self.status.set(self.name, self.engine.state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a device that will not open: retry, others go on
                await asyncio.sleep(self._failed("opening the line", exc))

    async def run(self) -> None:
        await self._open()
        while not self.retiring:
            try:
                await self.engine.handle_call()
                self.failures = 0
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one line's failure never reaches the other lines
                wait = self._failed("a call", exc)
            self.engine.state = "idle"
            with contextlib.suppress(Exception):  # on-hook if the device still listens
                await self.line.hangup()
            await asyncio.sleep(wait)  # always yields: a failing line cannot hog the loop


def build_lines(box: Any, status: Any, settings: Settings,
                entries: Iterable[LineEntry] | None = None,
                realtime_sim: bool = True,
                engine_options: dict[str, Any] | None = None) -> list[LineRunner]:
    """A Line and an Engine for each line (not opened yet: `LineRunner.run` opens it)."""
    from firmware.appliance import open_line

    runners = []
    for entry in (line_list(settings) if entries is None else entries):
        view = for_line(settings, entry.name)
        options: dict[str, Any] = {}
        if entry.backend == "sim":
            options = {"realtime": realtime_sim, "name": entry.name,
                       "three_way_transfer": (entry.transfer or view.line.transfer) == "transfer"}
        line = open_line(entry.backend, entry.device, _with_board(view, entry), **options)
        engine = box.engine(line, line_name=entry.name, on_event=status.event_sink(entry.name),
                            **(engine_options or {}))
        runners.append(LineRunner(entry.name, line, engine, status))
    return runners


def _with_board(view: Settings, entry: LineEntry) -> Settings:
    """`open_line` reads the FXO pin map from `settings.line.board`."""
    if entry.board and entry.board != view.line.board:
        return view.model_copy(update={"line": view.line.model_copy(update={"board": entry.board})})
    return view


def all_idle(runners: Iterable[LineRunner]) -> bool:
    return not any(r.engine.state in BUSY_STATES for r in runners)
