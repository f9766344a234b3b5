"""The FXO board line: a discrete DAA (relay, transformer, opto-couplers) on GPIO, with a
sound card for audio.

API:
    FxoLine(audio, board, *, country="us", name="fxo", clock=time.monotonic,
            flash_ms=None, loop_drop_ms=500, polarity_hangup=True, caller_id=True)
        implements `firmware.line.base.Line`; also:
        .ring_reports       recent RingReport (cadence, standard or not), newest last
        .noise_bursts       ring-detect activity rejected as line noise
        .dropped_edges      GPIO edges lost because the event loop was gone
        .audio.counters     the sound card's over/underflow counters
    ButtonPress(at, held_ms)        a line event: the board's button was pressed
    FLASH_MS[country]               default hook-flash length (ms)
    DIAL_ON_MS, DIAL_OFF_MS, DIAL_DBM0, DIAL_TWIST_DB      how `dial` sends DTMF

Two clocks, each where it belongs. GPIO edges arrive on gpiozero's thread; the
callback stamps them with `clock()` (monotonic seconds, injectable) and hands them to the
event loop with `call_soon_threadsafe`. Ring cadence and the debounce rules run on those
stamps, and time passes for them whenever captured audio arrives: the sound card runs
for as long as the line is open, on-hook too, because caller ID is decoded from it.
Everything a call sees is counted on the line's sample clock (8 kHz samples consumed
from the sound card): event `at`, flash length, dialling. `flash` and `dial` step the
audio themselves (send silence or DTMF, consume as much received audio), so they take
exactly their length of line time and never sleep.

On-hook, a background task reads the sound card, feeds the caller-ID decoder (before
the first ring and between rings) and keeps time; `answer` stops it and hands the audio
to `rx`/`tx`; `hangup` starts it again. The hook relay is released by `hangup`, `close`
and `Board.close`; if the Pi crashes, the relay's pull-down releases it (see hw/).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from firmware.board import Board
from firmware.dsp.callerid import CallerIdDecoder, CallerIdMessage
from firmware.dsp.tones import dtmf
from firmware.errors import LineError, LineGone, UsageError
from firmware.line.audioport import AudioPort
from firmware.line.base import (FRAME_SAMPLES, CallerId, ExtensionOffHook, Frame, Hangup,
                                HangupCause, LineEvent, LineStatus, Ring, ms_to_samples,
                                silence_frame)
from firmware.line.linesense import LOOP_DROP_MS, SENSE_INPUTS, Finding, LineSense
from firmware.line.ringdetect import RING_CADENCES_MS, RingDetector, RingReport

# Typical exchange values; `line.flash_ms` in the config overrides (settings mirror these).
FLASH_MS: dict[str, int] = {"us": 600, "tw": 600, "cn": 600, "uk": 100, "de": 90, "jp": 500}
DIAL_ON_MS = 100.0  # DTMF key length when dialling (receivers need >= 40 ms)
DIAL_OFF_MS = 100.0
DIAL_DBM0 = -8.0  # low-group level; the high group is DIAL_TWIST_DB louder
DIAL_TWIST_DB = 2.0
PLAYBACK_PREFILL_MS = 60.0  # silence queued at answer, so the card never starts dry
RING_REPORTS_KEPT = 32


@dataclass(frozen=True, kw_only=True)
class ButtonPress(LineEvent):
    """The board's button was pressed and released after `held_ms`."""

    held_ms: int


class FxoLine:
    """A phone line through an FXO board (see the module docstring)."""

    def __init__(self, audio: AudioPort, board: Board, *, country: str = "us",
                 name: str = "fxo", clock: Callable[[], float] = time.monotonic,
                 flash_ms: int | None = None, loop_drop_ms: float = LOOP_DROP_MS,
                 polarity_hangup: bool = True, caller_id: bool = True) -> None:
        self.country = country.lower()
        if self.country not in RING_CADENCES_MS:
            raise UsageError(f"FXO line: unknown country '{country}' "
                             f"(known: {', '.join(RING_CADENCES_MS)})")
        self.name = name
        self.audio = audio
        self.board = board
        self.flash_ms = flash_ms if flash_ms is not None else FLASH_MS[self.country]
        self.polarity_hangup = polarity_hangup
        self._clock = clock
        self._loop_drop_ms = loop_drop_ms
        self._ring = RingDetector(self.country)
        self._sense = LineSense({}, loop_drop_ms=loop_drop_ms)
        self._cid = CallerIdDecoder() if caller_id else None
        self._cid_seen: set[tuple[object, ...]] = set()
        self._events: asyncio.Queue[LineEvent] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle_task: asyncio.Task[None] | None = None
        self._buf: deque[np.ndarray] = deque()
        self._buffered = 0
        self._samples = 0
        self._off_hook = False
        self._far_end_gone = False
        self._tx_done = False
        self._open = False
        self.ring_reports: deque[RingReport] = deque(maxlen=RING_REPORTS_KEPT)
        self.noise_bursts = 0
        self.dropped_edges = 0

    # -- Line properties ------------------------------------------------------------------
    @property
    def clock(self) -> int:
        return self._samples

    @property
    def full_duplex(self) -> bool:
        return True

    @property
    def off_hook(self) -> bool:
        return self._off_hook

    # -- open / close ---------------------------------------------------------------------
    async def open(self) -> None:
        if self._open:
            return
        self._loop = asyncio.get_running_loop()
        self.board.set_hook(False)
        levels = {n: self.board.is_active(n) for n in SENSE_INPUTS if self.board.has(n)}
        self._sense = LineSense(levels, loop_drop_ms=self._loop_drop_ms)
        self.board.watch(self._on_pin_thread)
        await self.audio.start()
        self._open = True
        self.board.set_led("power", "on")
        present = levels.get("line_voltage", True)
        self._emit(LineStatus(at=self._samples, state="ready" if present else "missing",
                              detail="" if present else "no line voltage"))
        self._start_idle()

    async def close(self) -> None:
        """Release the line: on-hook first, whatever else fails."""
        self.board.set_hook(False)
        self._off_hook = False
        self.board.unwatch(self._on_pin_thread)
        await self._stop_idle()
        if self._open:
            self._open = False
            with contextlib.suppress(Exception):
                await self.audio.stop()
        for led in ("line", "power"):
            self.board.set_led(led, "off")
        self._loop = None

    # -- events ---------------------------------------------------------------------------
    def _emit(self, event: LineEvent) -> None:
        self._events.put_nowait(event)

    async def next_event(self) -> LineEvent:
        return await self._events.get()

    def poll_events(self) -> list[LineEvent]:
        out: list[LineEvent] = []
        while not self._events.empty():
            out.append(self._events.get_nowait())
        return out

    # -- GPIO: gpiozero's thread, then the loop --------------------------------------------
    def _on_pin_thread(self, name: str, active: bool) -> None:
        t = self._clock()
        loop = self._loop
        try:
            if loop is None:
                raise RuntimeError("line not open")
            loop.call_soon_threadsafe(self._on_pin, name, active, t)
        except RuntimeError:  # the loop is closed: count it, never raise into gpiozero
            self.dropped_edges += 1

    def _on_pin(self, name: str, active: bool, t: float) -> None:
        if not self._open:
            return
        if name == "ring_detect":
            self._sense.note_ring(t)
            for report in self._ring.edge(t, active):
                self._on_ring(report)
        else:
            for finding in self._sense.change(name, active, t):
                self._on_finding(finding)

    def _tick(self) -> None:
        now = self._clock()
        for report in self._ring.tick(now):
            self._on_ring(report)
        for finding in self._sense.tick(now):
            self._on_finding(finding)

    def _on_ring(self, report: RingReport) -> None:
        if self._off_hook:
            return
        if report.kind == "ring_on":
            self.board.set_led("line", "blink")
        elif report.kind == "ring":
            self.ring_reports.append(report)
            self._emit(Ring(at=self._samples, count=report.count, cadence_ms=report.cadence_ms))
        elif report.kind == "noise":
            self.noise_bursts += 1
            if not self._ring.count:  # it blinked on the alternations; no ring after all
                self.board.set_led("line", "off")
        elif report.kind == "stopped":
            self.board.set_led("line", "off")
            self._reset_caller_id()

    def _on_finding(self, finding: Finding) -> None:
        at = self._samples
        if finding.kind == "loop_drop" and self._off_hook and not self._far_end_gone:
            self._far_end_gone = True
            self._emit(Hangup(at=at, cause=HangupCause.LOOP_DROP))
        elif finding.kind == "polarity" and self._off_hook and self.polarity_hangup:
            if not self._far_end_gone:
                self._far_end_gone = True
                self._emit(Hangup(at=at, cause=HangupCause.POLARITY))
        elif finding.kind == "line_lost":
            self._emit(LineStatus(at=at, state="missing",
                                  detail="no line voltage: is the phone line plugged in?"))
        elif finding.kind == "line_back":
            self._emit(LineStatus(at=at, state="ready"))
        elif finding.kind == "extension_off_hook":
            self._emit(ExtensionOffHook(at=at))
        elif finding.kind == "button":
            self._emit(ButtonPress(at=at, held_ms=int(finding.detail)))  # type: ignore[call-overload]

    # -- audio ----------------------------------------------------------------------------
    async def _take(self, n: int) -> Frame:
        """Exactly `n` received samples at 8 kHz; the line clock advances by `n`."""
        while self._buffered < n:
            block = await self.audio.read()
            self._buf.append(block)
            self._buffered += len(block)
            self._tick()
        parts: list[np.ndarray] = []
        need = n
        while need:
            block = self._buf[0]
            if len(block) <= need:
                parts.append(self._buf.popleft())
                need -= len(block)
            else:
                parts.append(block[:need])
                self._buf[0] = block[need:]
                need = 0
        self._buffered -= n
        self._samples += n
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _start_idle(self) -> None:
        if self._idle_task is None and self._open and not self._off_hook:
            self._idle_task = asyncio.get_running_loop().create_task(
                self._idle(), name=f"{self.name}-idle")

    async def _stop_idle(self) -> None:
        task, self._idle_task = self._idle_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _idle(self) -> None:
        """On-hook: keep time and listen for caller ID."""
        try:
            while True:
                frame = await self._take(FRAME_SAMPLES)
                if self._cid is not None:
                    for message in self._cid.feed(frame):
                        self._on_caller_id(message)
        except (LineGone, LineError) as exc:
            self._emit(LineStatus(at=self._samples, state="missing", detail=str(exc)))

    def _on_caller_id(self, m: CallerIdMessage) -> None:
        key = (m.number, m.name, m.when, m.number_absent, m.name_absent, m.checksum_ok)
        if key in self._cid_seen:
            return
        self._cid_seen.add(key)
        self._emit(CallerId(at=self._samples, number=m.number, name=m.name, when=m.when,
                            number_absent=m.number_absent, name_absent=m.name_absent,
                            standard=m.standard, checksum_ok=m.checksum_ok))

    def _reset_caller_id(self) -> None:
        self._cid_seen.clear()
        if self._cid is not None:
            self._cid.reset()

    # -- hook -----------------------------------------------------------------------------
    def _set_hook(self, off_hook: bool) -> None:
        self.board.set_hook(off_hook)
        self._sense.set_hook(off_hook, self._clock())

    async def answer(self) -> None:
        if not self._open:
            raise LineError("FXO line is not open")
        if self._off_hook:
            return
        await self._stop_idle()
        self._off_hook = True
        self._far_end_gone = False
        self._set_hook(True)
        self._ring.reset()
        self._reset_caller_id()
        self.board.set_led("line", "on")
        self.audio.clear_playback()
        self.audio.write(np.zeros(ms_to_samples(PLAYBACK_PREFILL_MS), dtype=np.int16))
        self._tx_done = False

    async def hangup(self) -> None:
        if not self._off_hook:
            return
        self._set_hook(False)
        self._off_hook = False
        self.audio.clear_playback()
        self.board.set_led("line", "off")
        self._ring.reset()
        self._reset_caller_id()
        self._start_idle()

    async def flash(self, ms: int | None = None) -> None:
        """Open the loop for `ms` of line time (the country's length by default)."""
        if not self._off_hook:
            raise LineError("hook flash needs the line off-hook")
        length = self.flash_ms if ms is None else ms
        if not 20 <= length <= 2000:
            raise UsageError(f"flash of {length} ms is outside 20-2000 ms")
        self._set_hook(False)
        try:
            await self._step_samples(np.zeros(ms_to_samples(length), dtype=np.int16))
        finally:
            self._set_hook(True)

    async def dial(self, digits: str) -> None:
        """Send DTMF (and ',' pauses) in line time; what arrives meanwhile is dropped."""
        if not self._off_hook:
            raise LineError("dialling needs the line off-hook")
        audio = dtmf(digits, on_ms=DIAL_ON_MS, off_ms=DIAL_OFF_MS, dbm0=DIAL_DBM0,
                     twist_db=DIAL_TWIST_DB)
        await self._step_samples(audio)

    async def _step_samples(self, samples: np.ndarray) -> None:
        """Send `samples` and consume as much received audio, frame by frame."""
        for start in range(0, len(samples), FRAME_SAMPLES):
            chunk = samples[start : start + FRAME_SAMPLES]
            self.audio.write(chunk)
            await self._take(len(chunk))
        self._tx_done = False

    # -- call audio -----------------------------------------------------------------------
    async def rx(self) -> Frame:
        if not self._off_hook:
            raise LineError("rx() while on-hook: answer() first")
        if not self._tx_done:
            self.audio.write(silence_frame())
        self._tx_done = False
        return await self._take(FRAME_SAMPLES)

    async def tx(self, frame: Frame) -> None:
        if not self._off_hook:
            raise LineError("tx() while on-hook: answer() first")
        self.audio.write(np.asarray(frame, dtype=np.int16))
        self._tx_done = True
