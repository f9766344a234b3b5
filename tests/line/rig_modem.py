"""The far end of a voice-modem line under test: ModemLine on the pty modem emulator.

API:
    make_rig(country="us", *, personality="usr5637", **line_kw) -> ModemRig
    ModemRig                    the Rig protocol (tests/line/rig.py), plus:
        .emulator               the ModemEmulator (history, faults, unplug/replug)

Line time for a modem is the far end's timeline in the emulator: it advances as audio
crosses the line (the box reading a recorded frame, or sending a played one), so a far
end step returns once the line has carried it. On-hook there is no audio: a ring is
"over" when the box has taken the Ring event and is waiting for the next one (or went
off-hook), which is what a ring period means to a box that steps `next_event()`.
Caller ID arrives the way a modem gives it: `DATE=`/`TIME=`/`NMBR=`/`NAME=` lines
after the first RING.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from firmware.dsp.callerid import CallerIdInfo
from firmware.line.modem import ModemLine
from tests.fakes.modem_emulator import RATE, ModemEmulator

# Ring cadences (on, off) in ms, written out from DESIGN.md / national specs.
RING_MS = {"us": (2000, 4000), "uk": (400, 200), "de": (1000, 4000), "tw": (1000, 2000),
           "cn": (1000, 4000), "jp": (1000, 2000)}
POLL_S = 0.002  # how often a wait re-checks the box's side (a yield, not a time base)
TEST_TIMEOUTS = {"response_timeout_s": 1.0, "audio_timeout_s": 2.0, "path_poll_s": 0.02,
                 "cid_settle_s": 0.5}


def cid_lines(info: CallerIdInfo) -> tuple[str, ...]:
    """What a modem prints for a caller-ID message (absent fields as O/P, or omitted)."""
    lines = []
    if info.when:
        lines += [f"DATE={info.when[:4]}", f"TIME={info.when[4:]}"]
    if info.number or info.number_absent:
        lines.append(f"NMBR={info.number or info.number_absent}")
    if info.name or info.name_absent:
        lines.append(f"NAME={info.name or info.name_absent}")
    return tuple(lines)


class ModemRig:
    hangup_styles = ("loop_drop", "reorder", "dial_tone")

    def __init__(self, country: str = "us", *, personality: str = "usr5637",
                 emulator: ModemEmulator | None = None, **line_kw: Any):
        self.country = country.lower()
        self.emulator = emulator or ModemEmulator(personality)
        self.line = ModemLine(self.emulator.path, country=self.country.upper(),
                              **{**TEST_TIMEOUTS, **line_kw})
        self._progress = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def is_off_hook(self) -> bool:
        return self.emulator.off_hook

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.emulator.on_progress = self._on_progress
        self.emulator.start()

    async def aclose(self) -> None:
        self.emulator.on_progress = None
        await asyncio.get_running_loop().run_in_executor(None, self.emulator.stop)

    def _on_progress(self) -> None:  # emulator thread
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._progress.set)
            except RuntimeError:
                pass

    async def until(self, done: Callable[[], bool]) -> None:
        """Yield to the box until `done()`; woken by the emulator, re-checked often."""
        while not done():
            self._progress.clear()
            if done():
                return
            try:
                await asyncio.wait_for(self._progress.wait(), POLL_S)
            except asyncio.TimeoutError:
                pass

    async def _carried(self, end: int) -> None:
        await self.until(lambda: self.emulator.far_pos >= end)

    # ---------------------------------------------------------------- the Rig protocol
    async def ring(self, count: int, caller_id: CallerIdInfo | None = None,
                   standard: str | None = None) -> bool:
        line, emu = self.line, self.emulator
        for n in range(1, count + 1):
            if emu.off_hook:
                return True
            seen = line.stats["rings"]
            lines = cid_lines(caller_id) if caller_id and n == 1 else ()
            emu.send_ring(lines, cadence=RING_MS.get(self.country))
            await self.until(lambda: emu.off_hook or (line.stats["rings"] > seen
                                                      and line.waiting_for_event))
        return emu.off_hook

    async def wait(self, ms: float) -> None:
        await self._carried(self.emulator.queue_audio(np.zeros(int(ms * RATE / 1000),
                                                               np.int16)))

    async def press(self, digits: str, on_ms: float = 100.0, off_ms: float = 100.0,
                    dbm0: float = -10.0) -> None:
        await self._carried(self.emulator.press(digits, on_ms, off_ms, dbm0))

    async def speak(self, samples: npt.NDArray[np.int16]) -> None:
        await self._carried(self.emulator.queue_audio(samples))

    async def hang_up(self, style: str = "loop_drop") -> None:
        if style not in self.hangup_styles:
            raise ValueError(f"unknown hang-up style {style!r}")
        await self._carried(self.emulator.far_hangup(style, self.country) + 1)

    def heard(self) -> npt.NDArray[np.int16]:
        return self.emulator.heard()


def make_rig(country: str = "us", *, personality: str = "usr5637",
             **line_kw: Any) -> ModemRig:
    return ModemRig(country, personality=personality, **line_kw)
