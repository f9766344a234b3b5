"""The simulated phone line: the default backend, and the one most tests run on.

API:
    SimLine(country="us", realtime=False, *, parties=None, three_way_transfer=True,
            conference_on_flash=True, flash_ms=None, name="sim")
        implements `firmware.line.base.Line`, plus:
        .incoming(caller, at=None)     a SimCaller rings the line (now, or at clock `at`)
        .exchange                      the Exchange behind it (state, transfers, calls)
        .is_off_hook / .is_open        the box's hook switch; open() called, not closed
        faults, each now or at a clock position (`at`, samples):
        .unplug(at=None, for_ms=None)  the device vanishes: rx/tx raise LineGone and a
                                       LineStatus("missing") is queued; back after
                                       `for_ms` of line time (LineStatus("ready"))
        .replug()                      back now
        .dropout(ms, at=None)          audio lost both ways (silence) for `ms`
        .pick_up_extension(at=None)    another phone on the line goes off-hook
        .schedule(at, action)          run `action()` when the clock reaches `at`
    Re-exported for the web page and the CLI (which may import only this module):
    SimCaller, SimParty, FarEnd, parse_script, load_audio, and the script steps.

Time: `rx()` advances the clock one frame. With realtime=False it returns at once (the
loop still gets a turn, so a scripted far end can run), and while the box is on-hook
`next_event()` runs the line forward by itself until something happens (jumping over
idle time to the next caller or scheduled fault), so four rings take milliseconds.
`open()` queues LineStatus("ready"), as a hardware backend does once its device answers. realtime=True paces both to the wall clock for a listening person:
that pacing is the only sleep on any call path.

`flash()` and `dial()` do not block: they queue an on-hook interval or DTMF audio on
the line's outgoing timeline, which the following `rx()` steps carry (the box then
listens for recall dial tone / ringback on rx, as it must on every backend). Hook
intervals are rounded to whole 20 ms frames.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import numpy as np

from firmware.dsp.callerid import CallerIdDecoder
from firmware.dsp.tones import dtmf
from firmware.errors import LineError, LineGone, UsageError
from firmware.line.base import (FRAME_SAMPLES, SAMPLE_RATE, CallerId, Frame, LineEvent,
                                LineStatus, ms_to_samples, silence_frame)
from firmware.line.exchange import Exchange, Transfer
from firmware.line.farend import FarEnd
from firmware.line.simcaller import SimCaller, SimParty
from firmware.line.simscript import (HangUp, Press, Silence, Speak, Step, Wait, WaitForBeep,
                                     WaitForSilence, load_audio, parse_script)

__all__ = ["SimLine", "SimCaller", "SimParty", "FarEnd", "Transfer", "parse_script",
           "load_audio", "Step", "Wait", "Silence", "Press", "Speak", "HangUp",
           "WaitForBeep", "WaitForSilence"]

DEFAULT_FLASH_MS = {"us": 500, "tw": 500, "cn": 500, "jp": 500, "uk": 100, "de": 100}
DIAL_ON_MS, DIAL_OFF_MS = 80.0, 80.0  # DTMF dialling speed (Q.23: >= 40 ms each)
DIAL_DBM0 = -8.0
MAX_REALTIME_LAG_S = 0.25  # further behind the wall clock than this: start afresh
CID_BLOCK_FRAMES = 10  # on-hook audio is decoded for caller ID 200 ms at a time


class SimLine:
    """A phone line into a simulated exchange (see the module docstring)."""

    def __init__(self, country: str = "us", realtime: bool = False, *,
                 parties: dict[str, SimParty] | None = None, three_way_transfer: bool = True,
                 conference_on_flash: bool = True, flash_ms: int | None = None,
                 name: str = "sim") -> None:
        self.name = name
        self.country = country.lower()
        self.exchange = Exchange(self.country, parties, three_way_transfer=three_way_transfer,
                                 conference_on_flash=conference_on_flash)
        self.realtime = realtime
        self.flash_ms = flash_ms if flash_ms is not None else DEFAULT_FLASH_MS[self.country]
        self._clock = 0
        self._open = False
        self._off_hook = False
        self._gone = False
        self._events: deque[LineEvent] = deque()
        self._tx: deque[Frame] = deque()
        self._timeline: deque[Frame | None] = deque()  # queued dial audio; None = on-hook
        self._dropout_until = 0
        self._scheduled: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = 0
        self._decoder = CallerIdDecoder()
        self._on_hook_audio: list[Frame] = []
        self._wake = asyncio.Event()
        self._wall0 = 0.0
        self._clock0 = 0

    # -- Line protocol ----------------------------------------------------------------
    @property
    def clock(self) -> int:
        return self._clock

    @property
    def full_duplex(self) -> bool:
        return True

    @property
    def is_off_hook(self) -> bool:
        return self._off_hook

    @property
    def is_open(self) -> bool:
        return self._open

    async def open(self) -> None:
        self._open = True
        self._resync()
        self._events.append(LineStatus(at=self._clock, state="ready"))

    async def close(self) -> None:
        if self._off_hook:
            await self.hangup()
        self._open = False
        self._wake.set()

    async def next_event(self) -> LineEvent:
        self._check_open()
        while not self._events:
            if not self.exchange.active and not self._scheduled and not self._off_hook:
                self._decode_caller_id()
                if self._events:
                    break
                self._wake.clear()
                await self._wake.wait()
                self._check_open()
                self._resync()
                continue
            self._skip_idle_time()
            self._step()
            await self._pace()
        return self._events.popleft()

    def poll_events(self) -> list[LineEvent]:
        events = list(self._events)
        self._events.clear()
        return events

    async def answer(self) -> None:
        self._check_usable()
        self._decode_caller_id()
        self._off_hook = True
        self._decoder.reset()

    async def hangup(self) -> None:
        self._off_hook = False
        self._tx.clear()
        self._timeline.clear()
        self.exchange.release_now(self._clock)

    async def flash(self, ms: int | None = None) -> None:
        self._check_usable()
        if not self._off_hook:
            raise LineError("hook flash needs the line off-hook (answer first)")
        length = self.flash_ms if ms is None else ms
        if length <= 0:
            raise UsageError(f"flash length must be positive, not {length} ms")
        frames = max(1, round(ms_to_samples(length) / FRAME_SAMPLES))
        self._timeline.extend([None] * frames)

    async def dial(self, digits: str) -> None:
        self._check_usable()
        if not self._off_hook:
            raise LineError("dialling needs the line off-hook")
        audio = dtmf(digits, DIAL_ON_MS, DIAL_OFF_MS, DIAL_DBM0)
        pad = (-len(audio)) % FRAME_SAMPLES
        audio = np.concatenate([audio, np.zeros(pad, dtype=np.int16)])
        self._timeline.extend(audio[i:i + FRAME_SAMPLES]
                              for i in range(0, len(audio), FRAME_SAMPLES))

    async def rx(self) -> Frame:
        self._run_due()
        self._check_usable()
        frame = self._step()
        await self._pace()
        return frame

    async def tx(self, frame: Frame) -> None:
        self._run_due()
        self._check_usable()
        data = np.asarray(frame)
        if data.shape != (FRAME_SAMPLES,):
            raise UsageError(f"tx takes one frame of {FRAME_SAMPLES} samples, "
                             f"not shape {data.shape}")
        self._tx.append(data.astype(np.int16))

    # -- calls and faults ---------------------------------------------------------------
    def incoming(self, caller: SimCaller, at: int | None = None) -> None:
        self.exchange.incoming(caller, self._clock if at is None else at)
        self._wake.set()

    def schedule(self, at: int, action: Callable[[], None]) -> None:
        self._seq += 1
        self._scheduled.append((at, self._seq, action))
        self._scheduled.sort(key=lambda item: item[:2])
        self._wake.set()

    def unplug(self, at: int | None = None, for_ms: float | None = None) -> None:
        def vanish() -> None:
            self._gone = True
            if self._off_hook:  # the device's hook relay opens with it
                self._off_hook = False
                self.exchange.release_now(self._clock)
            self._events.append(LineStatus(at=self._clock, state="missing",
                                           detail="simulated device unplugged"))
            if for_ms is not None:
                self.schedule(self._clock + ms_to_samples(for_ms), self.replug)

        self._at(at, vanish)

    def replug(self) -> None:
        if self._gone:
            self._gone = False
            self._events.append(LineStatus(at=self._clock, state="ready"))
            self._wake.set()

    def dropout(self, ms: float, at: int | None = None) -> None:
        def start() -> None:
            self._dropout_until = self._clock + ms_to_samples(ms)

        self._at(at, start)

    def pick_up_extension(self, at: int | None = None) -> None:
        self._at(at, lambda: self._events.append(
            self.exchange.extension_off_hook(self._clock)))

    # -- internals ------------------------------------------------------------------------
    def _at(self, at: int | None, action: Callable[[], None]) -> None:
        if at is None or at <= self._clock:
            action()
        else:
            self.schedule(at, action)

    def _check_open(self) -> None:
        if not self._open:
            raise LineError(f"line {self.name!r} is not open")

    def _check_usable(self) -> None:
        self._check_open()
        if self._gone:
            raise LineGone(f"line {self.name!r}: the simulated device is unplugged")

    def _step(self) -> Frame:
        """One 20 ms frame of line time: hook, audio both ways, events, clock."""
        clock = self._clock
        self._run_due()
        box_tx = self._tx.popleft() if self._tx else silence_frame()
        flashing = False
        if self._timeline:  # queued flash / dial audio replaces the box's own audio
            queued = self._timeline.popleft()
            flashing = queued is None
            box_tx = silence_frame() if queued is None else queued
        off_hook = self._off_hook and not flashing and not self._gone
        lost = clock < self._dropout_until
        rx, events = self.exchange.step(clock, off_hook,
                                        silence_frame() if lost else box_tx)
        self._events.extend(events)
        self._clock = clock + FRAME_SAMPLES
        if not off_hook:  # on-hook audio only reaches the caller ID decoder
            self._on_hook_audio.append(rx)
            if len(self._on_hook_audio) >= CID_BLOCK_FRAMES:
                self._decode_caller_id()
            rx = silence_frame()
        return silence_frame() if lost else rx

    def _decode_caller_id(self) -> None:
        """Feed the decoder in blocks (far cheaper than per frame); a message is reported
        at the end of the block it ended in, at most CID_BLOCK_FRAMES frames late."""
        if not self._on_hook_audio:
            return
        block = np.concatenate(self._on_hook_audio)
        self._on_hook_audio = []
        for msg in self._decoder.feed(block):
            self._events.append(CallerId(
                at=self._clock, number=msg.number, name=msg.name, when=msg.when,
                number_absent=msg.number_absent, name_absent=msg.name_absent,
                standard=msg.standard, checksum_ok=msg.checksum_ok))

    def _skip_idle_time(self) -> None:
        """On-hook with an idle exchange, nothing happens until the next caller or
        scheduled action: jump there in whole frames instead of stepping through."""
        if self.exchange.state != "idle" or self._off_hook or self._timeline:
            return
        due = [t for t in (self.exchange.next_caller_at,
                           self._scheduled[0][0] if self._scheduled else None)
               if t is not None]
        frames = (min(due) - self._clock) // FRAME_SAMPLES if due else 0
        if frames > 1:
            self._decode_caller_id()
            self._decoder.reset()
            self._clock += (frames - 1) * FRAME_SAMPLES

    def _run_due(self) -> None:
        """Faults and other scheduled actions whose clock position has come."""
        while self._scheduled and self._scheduled[0][0] <= self._clock:
            self._scheduled.pop(0)[2]()

    def _resync(self) -> None:
        self._wall0 = asyncio.get_running_loop().time()
        self._clock0 = self._clock

    async def _pace(self) -> None:
        if not self.realtime:
            await asyncio.sleep(0)
            return
        due = self._wall0 + (self._clock - self._clock0) / SAMPLE_RATE
        delay = due - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            if delay < -MAX_REALTIME_LAG_S:
                self._resync()
            await asyncio.sleep(0)
