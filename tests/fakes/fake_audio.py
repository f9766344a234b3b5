"""A fake sound card for the FXO line: an `AudioPort` running at 48 kHz, with driver
methods and a history, in the manner of gpiozero's mock pins.

API:
    FakeAudioPort(device_rate=48000, *, block_ms=5.0, source=None, limit_s=900.0)
        AudioPort side (what the line uses): start, stop, read, write, clear_playback,
            counters, device_rate
        driver side (what a test uses):
            .feed(samples)              captured audio at the device rate (push mode)
            .feed_line(samples)         8 kHz audio, converted here by FFT (not soxr)
            .source                     pull mode: callable(n) -> n device-rate samples,
                                        asked whenever the line reads and nothing is fed
            .clock() -> float           seconds of capture audio produced so far
            .played_device() -> int16   everything the line played, device rate
            .played_line(start=0) -> int16   the same (from device sample `start`) at 8 kHz
            .history                    [(clock seconds, action, detail)]
            .on_stop                    optional callback when the line stops the card
            .started / .reads / .samples_read
    fft_resample(samples, from_rate, to_rate) -> int16   whole-signal FFT resampling

The line's real resampling edge (`RateEdge`, soxr) runs inside this fake, between the
48 kHz the test produces and the 8 kHz the line sees, so tests exercise it; the test
side converts with an independent method (FFT), or generates at 48 kHz directly.
Audio arrives as fast as the test (or the source) produces it: nothing sleeps.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from firmware.errors import LineError, LineGone
from firmware.line.audioport import LINE_RATE, PortCounters, RateEdge

Samples = npt.NDArray[np.int16]


def fft_resample(samples: npt.ArrayLike, from_rate: int, to_rate: int) -> Samples:
    """Resample a whole signal by zero-padding or truncating its spectrum (band-limited,
    so no aliasing); padded with silence at both ends to keep wrap-around out."""
    x = np.asarray(samples, dtype=np.float64)
    if from_rate == to_rate or not len(x):
        return np.asarray(samples, dtype=np.int16).copy()
    pad = from_rate // 50  # 20 ms each side
    x = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
    n_out = int(round(len(x) * to_rate / from_rate))
    spectrum = np.fft.rfft(x)
    bins = n_out // 2 + 1
    if bins <= len(spectrum):
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - len(spectrum), complex)])
    y = np.fft.irfft(spectrum, n_out) * (n_out / len(x))
    cut = int(round(pad * to_rate / from_rate))
    y = y[cut : len(y) - cut]
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


class FakeAudioPort:
    """See the module docstring."""

    def __init__(self, device_rate: int = 48000, *, block_ms: float = 5.0,
                 source: Callable[[int], Samples] | None = None, limit_s: float = 900.0) -> None:
        self.device_rate = device_rate
        self.counters = PortCounters()
        self.source = source
        self.block = max(1, int(device_rate * block_ms / 1000))
        self.limit_s = limit_s
        self.history: list[tuple[float, str, object]] = []
        self.on_stop: Callable[[], None] | None = None  # a driver's hook: the line closed
        self.started = False
        self.reads = 0
        self.samples_read = 0  # at 8 kHz
        self._edge: RateEdge | None = None
        self._fed: deque[Samples] = deque()
        self._produced = 0  # device samples captured (fed or pulled)
        self._played: list[Samples] = []
        self._played_len = 0
        self._wake = asyncio.Event()

    # -- driver side ----------------------------------------------------------------------
    def clock(self) -> float:
        return self._produced / self.device_rate

    def feed(self, samples: npt.ArrayLike) -> None:
        x = np.asarray(samples, dtype=np.int16).reshape(-1)
        for i in range(0, len(x), self.block):
            self._fed.append(x[i : i + self.block])
        self._produced += len(x)
        self._wake.set()

    def feed_line(self, samples: npt.ArrayLike) -> None:
        self.feed(fft_resample(samples, LINE_RATE, self.device_rate))

    def played_device(self) -> Samples:
        return np.concatenate(self._played) if self._played else np.zeros(0, np.int16)

    @property
    def played_samples(self) -> int:
        """Device samples played so far (a position for `played_line(start=...)`)."""
        return self._played_len

    def played_line(self, start: int = 0) -> Samples:
        return fft_resample(self.played_device()[start:], self.device_rate, LINE_RATE)

    # -- AudioPort side -------------------------------------------------------------------
    async def start(self) -> None:
        self._edge = RateEdge(self.device_rate)
        self.started = True
        self.history.append((self.clock(), "start", self.device_rate))

    async def stop(self) -> None:
        self.started = False
        self._wake.set()
        self.history.append((self.clock(), "stop", None))
        if self.on_stop is not None:
            self.on_stop()

    async def read(self) -> Samples:
        while True:
            if not self.started or self._edge is None:
                raise LineError("fake sound card is not started")
            if not self._fed and self.source is not None:
                if self.clock() >= self.limit_s:
                    raise LineGone(f"fake sound card: test ran past {self.limit_s} s of line time")
                block = np.asarray(self.source(self.block), dtype=np.int16)
                self._fed.append(block)
                self._produced += len(block)
                # Edges the source drove while producing this block reach the loop
                # before the block does, as on real hardware.
                await asyncio.sleep(0)
            if self._fed:
                out = self._edge.to_line(self._fed.popleft())
                if len(out):
                    self.reads += 1
                    self.samples_read += len(out)
                    return out
                continue
            self._wake.clear()
            await self._wake.wait()

    def write(self, samples: npt.ArrayLike) -> None:
        if self._edge is None:
            raise LineError("fake sound card is not started")
        out = self._edge.to_device(samples)
        if len(out):
            self._played.append(out)
            self._played_len += len(out)

    def clear_playback(self) -> None:
        self.history.append((self.clock(), "clear_playback", None))
        if self._edge is not None:
            self._edge.reset_playback()
