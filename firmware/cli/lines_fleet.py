"""The running lines kept in step with the published config, between calls.

API:
    LineFleet(box, status, entries_of=line_list, realtime_sim=True, engine_options=None)
        await .run(follow_s=FOLLOW_CONFIG_S)   start every line, then follow the config
                                  until cancelled; then every line is released
        .reconcile(strict=False)  start the lines the config added, retire the ones it
                                  removed or re-plugged (called by .run on each change;
                                  strict: raise a line that cannot be built, at start-up)
        await .stop()             every line cancelled and released (also if .run never ran)
        .runner(name) -> LineRunner | None     the line answering under that name
        .live() -> [LineRunner]   every line with a task: answering, or finishing the
                                  last call of a removed line (a restore waits for these)
        .retiring() -> [str]      names of removed lines still finishing a call
    line_key(entry) -> tuple      what a running Line was built from; a change means a
                                  new Line (backend, device, FXO board, a sim's transfer)

Why: the page adds and removes lines by publishing a config, and the owner expects the
new line to answer without a restart. The config file is the only channel (under
systemd the page is another process), so the fleet re-reads it (`ConfigSource.current`
is a stat while unchanged) every FOLLOW_CONFIG_S and acts only when it changed.

Never mid-call: a removed line that is idle stops at once; one that rings or talks
finishes that call with the config it started with (`LineRunner.retire`), then its
task ends and its Line is released. A new line that needs the device (or FXO pin map)
of a line still finishing a call waits for it; so does a re-plugged line of the same
name. Other lines are never touched: each keeps its task, its Line and its Engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from firmware.cli.lines_run import LineRunner, build_lines
from firmware.errors import UsageError
from firmware.settings import LineEntry, Settings, line_list
from firmware.settings.devices import same_port

log = logging.getLogger("ivrbox")

FOLLOW_CONFIG_S = 1.0  # how often the published config is looked at (between calls)


def line_key(entry: LineEntry) -> tuple[Any, ...]:
    """What the Line object depends on; the rest (rings, entry...) is read per call."""
    hardware = entry.backend != "sim"
    return (entry.backend, (entry.device or "").strip() if hardware else None,
            entry.board if entry.backend == "fxo" else None,
            entry.transfer if entry.backend == "sim" else None)


def _claims(entry: LineEntry) -> set[tuple[str, str]]:
    """The hardware a line holds while it runs: its device (the real port: a by-id link
    and /dev/ttyACM0 are one modem), and an FXO board's pins."""
    claims: set[tuple[str, str]] = {("name", entry.name)}
    if entry.backend != "sim" and entry.device:
        claims.add(("device", same_port(entry.device)))
    if entry.backend == "fxo" and entry.board:
        claims.add(("board", entry.board))
    return claims


@dataclass
class _Live:
    runner: LineRunner
    entry: LineEntry
    claims: set[tuple[str, str]]  # resolved at start: a port unplugged later is still held
    task: asyncio.Task[None] | None = None


class LineFleet:
    """Every line of the config answering at once, one task each (see the module doc)."""

    def __init__(self, box: Any, status: Any,
                 entries_of: Callable[[Settings], Sequence[LineEntry]] = line_list,
                 realtime_sim: bool = True, engine_options: dict[str, Any] | None = None):
        self.box = box
        self.status = status
        self.entries_of = entries_of
        self.realtime_sim = realtime_sim
        self.engine_options = engine_options
        self._active: dict[str, _Live] = {}
        self._retiring: list[_Live] = []
        self._seen: Settings | None = None
        self._dirty = True  # a line ended: a waiting line may have its device now
        self._changed = asyncio.Event()
        self._stopping = False

    def runner(self, name: str) -> LineRunner | None:
        live = self._active.get(name)
        return live.runner if live else None

    def live(self) -> list[LineRunner]:
        return [live.runner for live in (*self._active.values(), *self._retiring)]

    def retiring(self) -> list[str]:
        return [live.runner.name for live in self._retiring]

    def reconcile(self, strict: bool = False) -> None:
        """Bring the running lines in line with the newest config (no-op if unchanged).

        A line whose backend cannot even be built (unknown pin map...) is shown on the
        dashboard with the reason and left out; with `strict` (at start-up) the error
        is raised instead, before any line starts."""
        settings = self.box.config.current()
        if settings is self._seen and not self._dirty:
            return
        self._seen, self._dirty = settings, False
        try:
            wanted = {entry.name: entry for entry in self.entries_of(settings)}
        except UsageError as exc:  # a config the command line cannot run
            if strict:
                raise
            log.error("lines: the new config is not applied: %s", exc)
            return
        for name, live in list(self._active.items()):
            entry = wanted.get(name)
            if entry is None or line_key(entry) != line_key(live.entry):
                self._retire(name, "removed" if entry is None else "re-plugged")
        held = set().union(*(live.claims for live in self._retiring))
        answering = {claim: live.runner.name for live in self._active.values()
                     for claim in live.claims if claim[0] != "name"}
        built: list[tuple[LineEntry, LineRunner]] = []
        for name, entry in wanted.items():
            if name in self._active:
                continue
            claims = _claims(entry)
            if claims & held:
                log.info("line %s: waits for the line that holds its device to end its call", name)
                continue
            taken = sorted({answering[c] for c in claims if c in answering})
            if taken:  # e.g. the device `ivrbox run --device` gave line1: never open it twice
                reason = f"its device is held by line {', '.join(taken)}"
                log.error("line %s: not started: %s", name, reason)
                self.status.set(name, "missing", reason, error=f"line {name}: {reason}")
                continue
            try:
                built.append((entry, build_lines(self.box, self.status, settings, [entry],
                                                 self.realtime_sim, self.engine_options)[0]))
            except Exception as exc:
                if strict:
                    raise
                log.error("line %s: cannot start: %s", name, exc)
                self.status.set(name, "missing", str(exc), error=f"{type(exc).__name__}: {exc}")
        for entry, runner in built:
            self._start(entry, runner)

    def _start(self, entry: LineEntry, runner: LineRunner) -> None:
        live = _Live(runner, entry, _claims(entry))
        self._active[entry.name] = live
        live.task = asyncio.create_task(self._life(live), name=f"line-{entry.name}")
        live.task.add_done_callback(lambda _: self._ended(live))
        log.info("line %s: %s%s", entry.name, entry.backend,
                 f" on {entry.device}" if entry.device else "")

    def _retire(self, name: str, why: str) -> None:
        live = self._active.pop(name)
        self._retiring.append(live)
        if live.runner.retire():
            log.info("line %s: %s, stopping", name, why)
            assert live.task is not None
            live.task.cancel()
        else:
            log.info("line %s: %s, stopping after the call in progress", name, why)

    async def _life(self, live: _Live) -> None:
        runner = live.runner
        try:
            await runner.run()
        finally:
            from firmware.appliance import release_line

            try:
                await release_line(runner.line)
            except Exception:  # a line that will not close must not keep others off-hook
                log.exception("line %s: closing failed", runner.name)

    def _ended(self, live: _Live) -> None:
        """A line's task is over (also when cancelled before it ever ran)."""
        name = live.runner.name
        if live in self._retiring:
            self._retiring.remove(live)
            if name not in self._active:
                self.status.forget(name)
            log.info("line %s: stopped", name)
        else:
            self.status.set(name, "stopped")
        if not self._stopping:
            self._dirty = True
            self._changed.set()

    async def run(self, follow_s: float = FOLLOW_CONFIG_S) -> None:
        """Answer on every line until cancelled; then release each line, whatever happened."""
        try:
            while True:
                self.reconcile()
                self._changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), follow_s)
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Cancel every line (a call in progress ends as at Ctrl-C) and release it."""
        self._stopping = True
        await _cancel_all(live.task for live in (*self._active.values(), *self._retiring))


async def _cancel_all(tasks: Iterable[asyncio.Task[None] | None]) -> None:
    started = [task for task in tasks if task is not None]
    for task in started:
        task.cancel()
    for task in started:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
