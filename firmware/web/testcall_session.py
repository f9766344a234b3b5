"""Test calls from the owner's page: the IVR on a simulated line inside the web process.

API:
    PageCalls(limit=MAX_TEST_CALLS)          per app; at most `limit` calls at once
        .start(services, settings, realtime=True) -> PageCall     raises Busy when full
        .active -> int                        calls not yet finished
        await .close()                        hang up every call (app shutdown)
    PageCall
        .press(digits)                        keys as DTMF audio from the simulated caller
        .hang_up()                            the caller puts the phone down
        await .next_item() -> Item            ("audio", int16 frame) | ("event", kind, detail)
                                              | ("end", summary or None)
        .poll_item() -> Item | None           the next one only if already waiting
        await .finish(timeout_s)              hang up and wait for the engine; cancels late
        .done -> bool
    Busy                                      too many test calls already
    for_test_call(settings) -> Settings       answer at the first ring, whoever calls
    DIGITS                                    the keys a caller can press

Why a simulated line: the owner must never tie up (or dial out on) the real phone line
to try a menu. `SimLine(realtime=True)` paces the call to the wall clock so the owner
hears the prompts at their speed, and every key press travels as DTMF audio into the
engine's detector (`SimCaller.press_now`), exactly the path of a real caller's key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import numpy as np

from firmware.errors import IvrboxError
from firmware.ivr.engine import CallSummary
from firmware.line.sim import SimCaller, SimLine
from firmware.settings import Settings
from firmware.web.services import TEST_LINE_NAME, WebServices

log = logging.getLogger("ivrbox.web.testcall")

MAX_TEST_CALLS = 2  # each one is a realtime engine and DSP: a Pi Zero has room for two
DIGITS = frozenset("0123456789*#ABCD")
MAX_QUEUED_ITEMS = 2_000  # 40 s of audio if the browser stops reading: then drop audio
KEY_ON_MS = 120.0  # a key held a little longer than the 40 ms minimum, like a finger
KEY_OFF_MS = 80.0
KEY_DBM0 = -10.0
FINISH_TIMEOUT_S = 5.0  # after a hang-up, the engine logs the call within a few frames

Item = tuple[Any, ...]


class Busy(IvrboxError):
    """Every test-call slot is taken."""


def for_test_call(settings: Settings) -> Settings:
    """The same flow, answered at the first ring whatever the caller class: a test call
    tries the menus, not the line's ring count or caller rules (it shows no caller ID)."""
    line = settings.line.model_copy(update={"rings": 1, "answer": {}})
    rules = settings.caller_rules.model_copy(update={"rings": {}})
    return settings.model_copy(update={"line": line, "caller_rules": rules})


class PageCall:
    """One test call: a SimLine, its engine and the browser's SimCaller."""

    def __init__(self, services: WebServices, settings: Settings, realtime: bool = True):
        self.settings = for_test_call(settings)
        self.line = SimLine(country=self.settings.business.country, realtime=realtime,
                            name=TEST_LINE_NAME,
                            three_way_transfer=self.settings.line.transfer == "transfer")
        self.caller = SimCaller(name="browser")
        self.caller.on_heard = self._heard
        self._items: asyncio.Queue[Item] = asyncio.Queue()
        self._dropped = 0
        self.engine = services.engine_for(self.line, lambda: self.settings, self._event)
        self.summary: CallSummary | None = None
        self._task: asyncio.Task[None] = asyncio.create_task(self._run(), name="test-call")

    # -- what the page does ---------------------------------------------------------
    def press(self, digits: str) -> None:
        if not digits or any(d not in DIGITS for d in digits):
            raise ValueError(f"not phone keys: {digits!r}")
        if self.caller.present and self.caller.connected_at is not None:
            self.caller.press_now(digits, KEY_ON_MS, KEY_OFF_MS, KEY_DBM0)

    def hang_up(self) -> None:
        if self.caller.present:
            self.caller.hang_up_now()

    @property
    def done(self) -> bool:
        return self._task.done()

    async def next_item(self) -> Item:
        return await self._items.get()

    def poll_item(self) -> Item | None:
        """The next item if one is already waiting (to batch audio frames)."""
        try:
            return self._items.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def finish(self, timeout_s: float = FINISH_TIMEOUT_S) -> None:
        """Hang up and wait for the engine to log the call; cancel it if it will not end."""
        self.hang_up()
        if self._task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except asyncio.TimeoutError:
            log.warning("test call did not end %.0f s after the hang-up: cancelled", timeout_s)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # -- internals ------------------------------------------------------------------
    def _put(self, item: Item) -> None:
        if item[0] == "audio" and self._items.qsize() >= MAX_QUEUED_ITEMS:
            self._dropped += 1  # a stalled browser: keep events, lose audio
            return
        self._items.put_nowait(item)

    def _heard(self, clock: int, frame: np.ndarray) -> None:
        self._put(("audio", frame))

    def _event(self, kind: str, detail: dict[str, Any]) -> None:
        self._put(("event", kind, dict(detail)))

    async def _run(self) -> None:
        try:
            await self.line.open()
            self.line.incoming(self.caller)
            self.summary = await self.engine.handle_call()
        except Exception:  # noqa: BLE001 - the page says the call failed; the log says why
            log.exception("test call failed")
            self._put(("event", "error", {}))
        finally:
            with contextlib.suppress(Exception):
                await self.line.close()
            self._put(("end", self.summary))


class PageCalls:
    """The app's test calls, bounded so the page cannot be used to load the box."""

    def __init__(self, limit: int = MAX_TEST_CALLS):
        self.limit = limit
        self._calls: list[PageCall] = []

    @property
    def active(self) -> int:
        self._calls = [c for c in self._calls if not c.done]
        return len(self._calls)

    def start(self, services: WebServices, settings: Settings, realtime: bool = True) -> PageCall:
        if self.active >= self.limit:
            raise Busy(f"{self.limit} test calls are already running")
        call = PageCall(services, settings, realtime)
        self._calls.append(call)
        return call

    async def close(self) -> None:
        for call in list(self._calls):
            await call.finish()
        self._calls.clear()
