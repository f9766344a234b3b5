"""A simulated person on the far end of a call: plays a script in line time, listens.

API:
    FarEnd(script=(), *, name="far end", noise_dbm0=None, seed=0)
        .enqueue(steps)            append steps (objects or the text form)
        .press_now(digits, ...)    keys as DTMF audio from the current clock (interactive)
        .speak_now(samples)        voice from the current clock (interactive)
        .hang_up_now(style)        leave at the current clock
        await .wait_idle()         until every queued step has been carried by the line
        await .wait_connected() -> bool   True once connected; False if it left first
        .heard() -> int16          what it heard since it was connected, in clock order
        .heard_frames              [(clock, frame)] of the same
        .heard_since(clock) -> int16
        .frames()                  async iterator of (clock, frame) as they are heard
        .on_heard                  optional callback(clock, frame), called per frame
        .gone_style / .gone_at     how and when it hung up (None while present)
    Driven by the exchange (not for callers of this module):
        .connect(clock)  .next_frame(clock) -> int16 frame  .hear(clock, frame)

Why one class for callers and transfer targets: both are "someone who talks, presses
keys and hangs up on a script", and both must record what they heard with its clock
position so a test can check what the box played to whom and when.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable

import numpy as np
import numpy.typing as npt

from firmware.dsp.level import rms_dbm0, white_noise
from firmware.dsp.tones import dtmf
from firmware.line.base import FRAME_SAMPLES, SAMPLE_RATE, Frame, ms_to_samples
from firmware.line.simscript import (HangUp, Press, Silence, Speak, Step, Wait, WaitForBeep,
                                     WaitForSilence, parse_script)

# "Heard a beep": one spectral peak holds most of a frame's power, for long enough.
BEEP_MIN_DBM0 = -40.0
BEEP_PEAK_FRACTION = 0.8  # of the frame's power within the Hann main lobe of the peak
BEEP_LOBE_BINS = 2  # Hann main lobe half-width, in 50 Hz FFT bins of a 20 ms frame
BEEP_MIN_HZ, BEEP_MAX_HZ = 300.0, 3000.0
BEEP_MIN_MS = 140.0
QUIET_BELOW_DBM0 = -45.0

Int16 = npt.NDArray[np.int16]


def _is_tone_frame(frame: Frame) -> bool:
    x = frame.astype(np.float64)
    if rms_dbm0(x) < BEEP_MIN_DBM0:
        return False
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    peak = int(np.argmax(power))
    hz = peak * SAMPLE_RATE / len(x)
    near = power[max(0, peak - BEEP_LOBE_BINS): peak + BEEP_LOBE_BINS + 1].sum()
    return BEEP_MIN_HZ <= hz <= BEEP_MAX_HZ and near >= BEEP_PEAK_FRACTION * power.sum()


class FarEnd:
    """Someone on the line, acting out a script of steps counted in samples."""

    def __init__(self, script: Iterable[Step] | str = (), *, name: str = "far end",
                 noise_dbm0: float | None = None, seed: int = 0) -> None:
        self.name = name
        self.noise_dbm0 = noise_dbm0
        self._rng = np.random.default_rng(seed)
        self._steps: deque[Step] = deque()
        self._pending = np.zeros(0, dtype=np.int16)  # audio of the running step
        self._overlay = np.zeros(0, dtype=np.int16)  # interactive keys / voice
        self._waiting: WaitForBeep | WaitForSilence | None = None
        self._wait_left = 0  # samples until a wait-for step times out
        self._wait_run = 0  # consecutive frames meeting its condition
        self.heard_frames: list[tuple[int, Frame]] = []
        self.connected_at: int | None = None
        self.gone_style: str | None = None
        self.gone_at: int | None = None
        self.on_heard: Callable[[int, Frame], None] | None = None
        self._subscribers: list[asyncio.Queue[tuple[int, Frame] | None]] = []
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._connect_waiters: list[asyncio.Future[None]] = []
        self.enqueue(script)

    # -- what tests and the web page call -------------------------------------------
    def enqueue(self, steps: Iterable[Step] | str) -> None:
        self._steps.extend(parse_script(steps) if isinstance(steps, str) else steps)

    def press_now(self, digits: str, on_ms: float = 100.0, off_ms: float = 100.0,
                  dbm0: float = -10.0) -> None:
        self._mix_overlay(self._press_audio(Press(digits, on_ms, off_ms, dbm0)))

    def speak_now(self, samples: Int16) -> None:
        self._mix_overlay(np.asarray(samples, dtype=np.int16))

    def hang_up_now(self, style: str = "loop_drop") -> None:
        self._steps.clear()
        self._pending = np.zeros(0, dtype=np.int16)
        self._waiting = None
        self._steps.append(HangUp(style))

    @property
    def present(self) -> bool:
        return self.gone_style is None

    @property
    def idle(self) -> bool:
        return not self._steps and not len(self._pending) and self._waiting is None

    async def wait_idle(self) -> None:
        if self.idle or not self.present:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(fut)
        await fut

    async def wait_connected(self) -> bool:
        if self.connected_at is None and self.present:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._connect_waiters.append(fut)
            await fut
        return self.connected_at is not None

    def heard(self) -> Int16:
        if not self.heard_frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([f for _, f in self.heard_frames])

    def heard_since(self, clock: int) -> Int16:
        parts = [f for at, f in self.heard_frames if at >= clock]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def frames(self) -> AsyncIterator[tuple[int, Frame]]:
        """Heard frames from now on (subscribed at this call, so none is missed);
        the iteration ends when this far end hangs up or is dropped."""
        queue: asyncio.Queue[tuple[int, Frame] | None] = asyncio.Queue()
        self._subscribers.append(queue)
        if not self.present:
            queue.put_nowait(None)

        async def stream() -> AsyncIterator[tuple[int, Frame]]:
            try:
                while (item := await queue.get()) is not None:
                    yield item
            finally:
                self._subscribers.remove(queue)

        return stream()

    # -- driven by the exchange -----------------------------------------------------
    def connect(self, clock: int) -> None:
        if self.connected_at is None:
            self.connected_at = clock
        self._wake(self._connect_waiters)

    def hear(self, clock: int, frame: Frame) -> None:
        frame = np.array(frame, dtype=np.int16)
        self.heard_frames.append((clock, frame))
        if self.on_heard is not None:
            self.on_heard(clock, frame)
        for queue in self._subscribers:
            queue.put_nowait((clock, frame))
        if self._waiting is not None:
            self._check_wait(frame)

    def leave(self, clock: int, style: str) -> None:
        """Gone (hung up, or dropped by the exchange): wake everyone waiting on us."""
        if self.gone_style is None:
            self.gone_style, self.gone_at = style, clock
        for queue in self._subscribers:
            queue.put_nowait(None)
        self._wake(self._idle_waiters)
        self._wake(self._connect_waiters)

    def next_frame(self, clock: int) -> Frame:
        """The audio this far end sends in the frame starting at `clock`."""
        out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        filled = 0
        while filled < FRAME_SAMPLES and self.present:
            if len(self._pending):
                take = min(FRAME_SAMPLES - filled, len(self._pending))
                out[filled:filled + take] = self._pending[:take]
                self._pending = self._pending[take:]
                filled += take
            elif self._waiting is not None:
                self._wait_left -= FRAME_SAMPLES - filled
                if self._wait_left <= 0:
                    self._waiting = None
                break
            elif self._steps:
                self._start(self._steps.popleft(), clock + filled)
            else:
                break
        if self.idle:
            self._wake(self._idle_waiters)
        if len(self._overlay):
            take = min(FRAME_SAMPLES, len(self._overlay))
            mixed = out[:take].astype(np.int32) + self._overlay[:take]
            out[:take] = np.clip(mixed, -32768, 32767)
            self._overlay = self._overlay[take:]
        if self.noise_dbm0 is not None:
            noisy = out.astype(np.int32) + white_noise(FRAME_SAMPLES, self.noise_dbm0,
                                                       self._rng)
            out = np.clip(noisy, -32768, 32767).astype(np.int16)
        return out

    # -- internals ------------------------------------------------------------------
    def _start(self, step: Step, clock: int) -> None:
        if isinstance(step, (Wait, Silence)):
            self._pending = np.zeros(ms_to_samples(step.ms), dtype=np.int16)
        elif isinstance(step, Press):
            self._pending = self._press_audio(step)
        elif isinstance(step, Speak):
            self._pending = np.asarray(step.samples, dtype=np.int16)
        elif isinstance(step, HangUp):
            self._steps.clear()
            self.leave(clock, step.style)
        elif isinstance(step, (WaitForBeep, WaitForSilence)):
            self._waiting, self._wait_run = step, 0
            self._wait_left = ms_to_samples(step.timeout_ms)

    def _check_wait(self, frame: Frame) -> None:
        step = self._waiting
        if isinstance(step, WaitForBeep):
            self._wait_run = self._wait_run + 1 if _is_tone_frame(frame) else 0
            needed = ms_to_samples(BEEP_MIN_MS) // FRAME_SAMPLES
        else:
            assert isinstance(step, WaitForSilence)
            quiet = rms_dbm0(frame) < QUIET_BELOW_DBM0
            self._wait_run = self._wait_run + 1 if quiet else 0
            needed = max(1, ms_to_samples(step.ms) // FRAME_SAMPLES)
        if self._wait_run >= needed:
            self._waiting = None

    def _press_audio(self, step: Press) -> Int16:
        audio = dtmf(step.digits, step.on_ms, step.off_ms, step.dbm0, step.twist_db)
        if step.snr_db is None or not len(audio):
            return audio
        on = audio[np.abs(audio) > 0]
        noise_level = rms_dbm0(on) - step.snr_db
        noisy = audio.astype(np.int32) + white_noise(len(audio), noise_level, self._rng)
        return np.clip(noisy, -32768, 32767).astype(np.int16)

    def _mix_overlay(self, audio: Int16) -> None:
        n = max(len(audio), len(self._overlay))
        mixed = np.zeros(n, dtype=np.int32)
        mixed[:len(self._overlay)] += self._overlay
        mixed[:len(audio)] += audio
        self._overlay = np.clip(mixed, -32768, 32767).astype(np.int16)

    @staticmethod
    def _wake(waiters: list[asyncio.Future[None]]) -> None:
        pending = list(waiters)
        waiters.clear()
        for fut in pending:
            if not fut.done():
                fut.set_result(None)
