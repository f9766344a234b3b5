"""The engine: answers calls on one line, runs them through the flow, logs them.

API:
    Engine(line, services=, settings=, line_name="line1", on_event=None, ring_gap_s=8.0)
        await engine.run()                 forever: wait for a call, handle it, repeat
        await engine.handle_call() -> CallSummary | None    exactly one incoming call
        engine.state                       "idle", "ringing", "in_call", "missing"
        engine.prerender(settings) -> Task | None   speak every configured prompt text in
                                           every language into the TTS disk cache, in a
                                           worker thread, once per settings object
    CallSummary(call_id, outcome, end_reason, path, caller_class)

`settings` is a function returning the newest good config; it is read once per call,
when the first ring arrives, so a config published during a call applies to the next
one and never changes a call under way. Wall-clock waits exist only here, between
rings (a caller who gives up ringing sends nothing); a call itself is timed by the
line's sample clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from firmware.ivr.call import Call, CallEnded
from firmware.ivr.context import CallContext, Services
from firmware.ivr.session import run_flow
from firmware.line.base import (CallerId, ExtensionOffHook, Hangup, Line, LineStatus, Ring,
                                samples_to_ms)
from firmware.settings import Settings
from firmware.settings.callers import classify, entry_for, rings_for

log = logging.getLogger("ivrbox.engine")

EventSink = Callable[[str, dict[str, Any]], None]
REJECT_HOLD_MS = 600


@dataclass(frozen=True)
class CallSummary:
    call_id: int
    outcome: str
    end_reason: str | None
    path: tuple[str, ...] = ()
    caller_class: str = "unknown"
    caller_number: str | None = None


@dataclass
class _Ringing:
    call_id: int
    started_wall_ms: int
    rings: int = 0
    caller: CallerId | None = None
    events: list[str] = field(default_factory=list)


class Engine:
    def __init__(
        self,
        line: Line,
        *,
        services: Services,
        settings: Callable[[], Settings],
        line_name: str = "line1",
        on_event: EventSink | None = None,
        ring_gap_s: float = 8.0,
    ):
        self.line = line
        self.services = services
        self._settings = settings
        self.line_name = line_name
        self._on_event = on_event
        self._ring_gap_s = ring_gap_s
        self.state = "idle"
        self.calls_handled = 0
        self.last_error: str | None = None
        self._prerendered: Settings | None = None
        self._prerender_task: asyncio.Task[None] | None = None

    def _emit(self, kind: str, **detail: Any) -> None:
        log.info("%s %s %s", self.line_name, kind, detail)
        if self._on_event is not None:
            self._on_event(kind, detail)

    async def run(self) -> None:
        while True:
            try:
                await self.handle_call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one bad call must never stop the line
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("%s: call failed", self.line_name)
                self.state = "idle"
                try:
                    await self.line.hangup()
                except Exception:
                    log.exception("%s: hang-up after a failure failed too", self.line_name)

    def prerender(self, settings: Settings) -> asyncio.Task[None] | None:
        """Start speaking a newly seen config's prompts off the call path, so the first
        caller after a change does not wait for espeak-ng (seconds on a Pi Zero)."""
        if settings is self._prerendered:
            return None
        self._prerendered = settings
        prompts = self.services.prompts
        texts = [(text, language) for prompt in settings.prompts.values()
                 for language in settings.business.languages
                 if (text := prompt.text(language))]

        async def speak_all() -> None:
            for text, language in texts:
                if not prompts.needs_speech(text, language):
                    continue
                try:
                    await asyncio.to_thread(prompts.prepare, text, language)
                except Exception as exc:  # the call path reports it if a caller needs it
                    log.warning("%s: cannot pre-render %r: %s", self.line_name, text, exc)

        self._prerender_task = asyncio.ensure_future(speak_all())
        return self._prerender_task

    async def _first_ring(self) -> tuple[Ring | None, CallerId | None]:
        """Wait while idle; caller ID may come before the first ring (ETSI, DTMF)."""
        early: CallerId | None = None
        while True:
            event = await self.line.next_event()
            if isinstance(event, LineStatus):
                self.state = "missing" if event.state == "missing" else "idle"
                self._emit("line_status", state=event.state, detail=event.detail)
                continue
            if isinstance(event, CallerId):
                early = event
                continue
            if isinstance(event, Ring):
                return event, early

    async def handle_call(self) -> CallSummary | None:
        self.prerender(self._settings())  # a config published since the last call
        ring, caller = await self._first_ring()
        settings = self._settings()
        self.prerender(settings)
        store = self.services.store
        started = self.services.now_ms()
        call_id = store.calls.start(self.line_name, started_ms=started)
        self.state = "ringing"
        rings = ring.count if ring else 1
        self._emit("ring", call_id=call_id, count=rings)
        if caller is not None:
            self._log_caller(call_id, caller)
        caller_class = self._classify(settings, caller)
        while rings < rings_for(settings, caller_class) or (
            settings.line.action_for(caller_class) == "ignore"
        ):
            try:
                event = await asyncio.wait_for(self.line.next_event(), self._ring_gap_s)
            except asyncio.TimeoutError:
                return self._unanswered(call_id, "missed", caller_class, caller)
            if isinstance(event, Ring):
                rings = event.count if event.count > rings else rings + 1
                self._emit("ring", call_id=call_id, count=rings)
            elif isinstance(event, CallerId):
                caller = event
                self._log_caller(call_id, caller)
                caller_class = self._classify(settings, caller)
            elif isinstance(event, ExtensionOffHook):
                return self._unanswered(call_id, "answered_by_office", caller_class, caller)
            elif isinstance(event, Hangup):
                return self._unanswered(call_id, "missed", caller_class, caller)
        ring_clock = ring.at if ring is not None else self.line.clock
        return await self._answer(settings, call_id, started, ring_clock, caller, caller_class)

    @staticmethod
    def _classify(settings: Settings, caller: CallerId | None) -> str:
        number = caller.number if caller is not None and caller.checksum_ok else None
        absent = caller.number_absent if caller is not None else None
        return classify(settings, number, absent)

    def _log_caller(self, call_id: int, caller: CallerId) -> None:
        absent = caller.number_absent or caller.name_absent
        self.services.store.calls.caller_id(call_id, number=caller.number, name=caller.name,
                                            absent=absent)
        self._emit("caller_id", call_id=call_id, number=caller.number, name=caller.name,
                   **({"absent": absent} if absent else {}))  # P private / O unavailable

    def _unanswered(self, call_id: int, outcome: str, caller_class: str,
                    caller: CallerId | None) -> CallSummary:
        self.services.store.calls.finish(call_id, outcome, outcome)
        self.state = "idle"
        self._emit("call_end", call_id=call_id, outcome=outcome)
        return CallSummary(call_id, outcome, outcome, (), caller_class,
                           caller.number if caller else None)

    async def _answer(self, settings: Settings, call_id: int, started: int, ring_clock: int,
                      caller: CallerId | None, caller_class: str) -> CallSummary:
        line = self.line
        await line.answer()
        self.state = "in_call"
        holder: dict[str, CallContext] = {}

        def call_event(kind: str, detail: dict[str, Any]) -> None:
            if "ctx" in holder:
                holder["ctx"].log(kind, **detail)

        call = Call(line, country=settings.business.country,
                    max_call_ms=int(settings.limits.max_call_s * 1000), on_event=call_event)
        # The wall clock at the answer: a modem's line clock stands still while it rings.
        # A simulated line may run ahead of the wall clock (or tests pin it): then its
        # ring time is the better bound. Event times are mapped from this moment on.
        rang_ms = int(samples_to_ms(max(0, line.clock - ring_clock)))
        answered_wall = max(self.services.now_ms(), started + rang_ms)
        ctx = CallContext(
            settings=settings, services=self.services, call=call, call_id=call_id,
            line_name=self.line_name, caller=caller, started_wall_ms=answered_wall,
            started_clock=line.clock, language=settings.business.default_language,
            caller_class=caller_class,
            on_event=lambda kind, detail: self._emit(kind, call_id=call_id, **detail),
        )
        holder["ctx"] = ctx
        self.services.store.calls.answered(call_id, at_ms=answered_wall)
        ctx.log("answered", caller_class=caller_class)
        try:
            if settings.line.action_for(caller_class) == "reject":
                ctx.outcome, ctx.end_reason = "rejected", "caller_rules"
                ctx.log("rejected", caller_class=caller_class)
                # off-hook long enough for the exchange to see an answer, then release:
                # hanging up at once would leave the caller ringing
                try:
                    await call.pause(REJECT_HOLD_MS)
                except CallEnded:
                    pass
            else:
                await run_flow(ctx, entry_for(settings, caller_class, caller.number if caller else None))
        finally:
            try:
                await line.hangup()
            finally:
                # The call's event hook reaches the context, which holds the call: a
                # reference cycle, so without this the call (its detectors' buffers,
                # ~1.4 MB) would wait for a full cyclic GC, dozens of calls later.
                holder.clear()
                # the call's end and what it queues (the call_ended webhook) commit
                # together: a crash between them would close the call unannounced
                with self.services.store.db.write():
                    self.services.store.calls.finish(call_id, ctx.outcome, ctx.end_reason,
                                                     ended_ms=ctx.wall_ms())
                    try:
                        self._emit("call_end", call_id=call_id, outcome=ctx.outcome,
                                   end_reason=ctx.end_reason, path=list(ctx.path))
                    except Exception:  # noqa: BLE001 - a listener (status file, transcript)
                        # that fails must not undo the call's end in the log
                        log.exception("%s: a call_end listener failed", self.line_name)
                self.state = "idle"
                self.calls_handled += 1
        return CallSummary(call_id, ctx.outcome, ctx.end_reason, tuple(ctx.path),
                           caller_class, caller.number if caller else None)
