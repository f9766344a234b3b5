"""Frame-level tone classification: which call-progress tone (if any) each 10 ms holds.

API:
    ToneClass(name, freqs_hz)              a set of frequencies that sound together
    FrameClassifier(classes, rate=8000, quiet_dbm0=None)
                                           streaming: feed(int16) -> FrameBatch; flush()
    FrameBatch                             per frame: centre sample, class label, levels,
                                           whether quieter than quiet_dbm0
    RunTracker(min_on_ms, rate)            one class's labelled frames -> on-intervals

Each frame is a 64 ms Hann window every 10 ms. 64 ms is what it takes to tell apart
tones 40-50 Hz apart (US 440/480, UK 350/400/450) with clean bands of +-25 Hz. A frame
belongs to a class when the energy in the class's bands is at least `PURITY` of the
frame's 100-3800 Hz energy, every component is within `BALANCE_DB` of the strongest,
and the class is louder than `MIN_LEVEL_DBM0`. Speech spreads its energy over many
harmonics and DTMF adds a second frequency that no call-progress band holds, so
neither passes the purity test for long.

The window smears edges over 64 ms. `RunTracker` puts each edge where the class's
energy crosses half its peak in the run (a half-covered Hann window holds half the
energy), which lands within one hop of the true edge whether the tone borders
silence, noise or speech. Gaps of up to `GAP_MS` inside a run are bridged (JP's
amplitude-modulated ringback, phase reversals, a noise burst).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp.level import dbm0_to_rms
from firmware.errors import UsageError

WINDOW_MS = 64.0
HOP_MS = 10.0
BAND_MIN_HZ = 25.0  # half-width of a tone's band: Hann main lobe at 64 ms is +-31 Hz
BAND_FRACTION = 0.02  # ... or 2 % of the frequency, whichever is wider
TOTAL_LOW_HZ = 100.0  # below: hum and DC, which say nothing about tones
TOTAL_HIGH_HZ = 3800.0
PURITY = 0.7  # class energy / total energy
BALANCE_DB = 10.0  # weakest component at most this far below the strongest
MIN_LEVEL_DBM0 = -42.0  # of the class's components together
GAP_MS = 40.0  # shorter dips inside a tone are bridged (shortest off time: 200 ms)
EDGE_FRACTION = 0.5  # edge = where the energy crosses this fraction of the run's peak
EDGE_FRAMES = 12  # frames kept at each end of a run to place its edges (> window)
QUIET_MARGIN = 0.5  # batches skip the transform below this share of the quiet level
BATCH_FRAMES = 4  # frames computed together: numpy's per-call cost dominates one frame;
# results then come up to 30 ms after the audio (decisions take 0.3 s or more anyway)


@dataclass(frozen=True)
class ToneClass:
    """Frequencies that sound together; `band_hz` overrides the band half-width."""

    name: str
    freqs_hz: tuple[float, ...]
    band_hz: float = 0.0

    def bands(self) -> list[tuple[float, float]]:
        out = []
        for f in self.freqs_hz:
            half = self.band_hz or max(BAND_MIN_HZ, BAND_FRACTION * f)
            out.append((f - half, f + half))
        return out


@dataclass
class FrameBatch:
    """Results for consecutive frames: label -1 is "no class"."""

    centre: npt.NDArray[np.int64]  # sample index of each frame's centre
    label: npt.NDArray[np.int64]
    class_power: npt.NDArray[np.float64]  # mean-square (int16 units^2) of the label's class
    total_power: npt.NDArray[np.float64]  # mean-square in 100-3800 Hz (an upper bound
    # where a whole batch was provably quiet and skipped the transform)
    quiet: npt.NDArray[np.bool_]  # total power below the classifier's quiet level


class FrameClassifier:
    """Streaming 64 ms / 10 ms spectral frames, each labelled with the purest class.

    Frame k is centred on sample k * hop: the stream is pre-padded with half a window
    of zeros so the first frame sees the first sample.

    With `quiet_dbm0`, a batch whose samples hold too little energy for any frame to
    reach that level or a class's MIN_LEVEL_DBM0 skips the FFT: by Parseval, a frame's
    in-band power is at most its samples' energy over the window's energy (Hann <= 1).
    Its frames are labelled -1 and quiet, as the transform would have found.
    """

    def __init__(self, classes: Sequence[ToneClass], rate: int = 8000,
                 quiet_dbm0: float | None = None):
        if rate < 8000:
            raise UsageError(f"tone detection needs a sample rate of 8000 Hz or more, not {rate}")
        self.classes = list(classes)
        self.rate = rate
        self.window = int(round(WINDOW_MS * rate / 1000.0))
        self.hop = int(round(HOP_MS * rate / 1000.0))
        self.nfft = 1 << int(math.ceil(math.log2(self.window * 2)))
        win = np.hanning(self.window)
        self._win = win
        freqs = np.fft.rfftfreq(self.nfft, 1.0 / rate)
        # Parseval with a one-sided spectrum: weighted mean-square = 2 sum|X|^2 / (nfft sum w^2).
        self._scale = 2.0 / (self.nfft * float(np.sum(win * win)))
        band_list: list[tuple[float, float]] = []
        members: list[list[int]] = []
        for cls in self.classes:
            idx = []
            for band in cls.bands():
                idx.append(len(band_list))
                band_list.append(band)
            members.append(idx)
        # band -> class sums, and each class's components padded (by repetition) for min/max
        self._class_matrix = np.zeros((len(band_list), len(members)))
        for c, idx in enumerate(members):
            self._class_matrix[idx, c] = 1.0
        width = max((len(m) for m in members), default=1)
        self._components = np.array([m + [m[0]] * (width - len(m)) for m in members],
                                    dtype=np.int64).reshape(len(members), width)
        # Only bins in 100-3800 Hz matter; every band lies inside them.
        lo_bin = int(np.searchsorted(freqs, TOTAL_LOW_HZ))
        hi_bin = int(np.searchsorted(freqs, TOTAL_HIGH_HZ, side="right"))
        self._bins = slice(lo_bin, hi_bin)
        used = freqs[self._bins]
        self._band_matrix = np.array(
            [(used >= lo) & (used <= hi) for lo, hi in band_list], dtype=np.float64
        ).reshape(len(band_list), len(used)).T.copy()
        self._min_power = dbm0_to_rms(MIN_LEVEL_DBM0) ** 2
        self._balance = 10.0 ** (-BALANCE_DB / 10.0)
        self._quiet_power = -np.inf if quiet_dbm0 is None else dbm0_to_rms(quiet_dbm0) ** 2
        self._win_energy = float(np.sum(win * win))
        # Batch energy below this: every frame's in-band power is under both levels (a
        # class's bands may overlap, so its power is at most `width` times the total).
        self._skip_energy = 0.0 if quiet_dbm0 is None else QUIET_MARGIN * self._win_energy \
            * min(self._quiet_power, self._min_power / width)
        empty_i = np.zeros(0, dtype=np.int64)
        self._empty = FrameBatch(empty_i, empty_i, np.zeros(0), np.zeros(0),
                                 np.zeros(0, dtype=bool))
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(self.window // 2)
        self._next_frame = 0

    def feed(self, samples: npt.ArrayLike) -> FrameBatch:
        x = np.asarray(samples, dtype=np.float64).ravel()
        self._buf = np.concatenate([self._buf, x])
        if len(self._buf) < self.window + (BATCH_FRAMES - 1) * self.hop:
            return self._frames(0)
        return self._frames()

    def flush(self) -> FrameBatch:
        """Frames up to the last fed sample (zero-padded), then start afresh."""
        pad = self.window // 2 + self.hop
        self._buf = np.concatenate([self._buf, np.zeros(pad)])
        batch = self._frames()
        self.reset()
        return batch

    def _frames(self, limit: int | None = None) -> FrameBatch:
        count = 0 if len(self._buf) < self.window else (len(self._buf) - self.window) // self.hop + 1
        count = count if limit is None else min(count, limit)
        first = self._next_frame
        if count == 0:
            return self._empty
        centre = (first + np.arange(count, dtype=np.int64)) * self.hop
        span = self._buf[:(count - 1) * self.hop + self.window]
        energy = float(np.dot(span, span))
        if energy < self._skip_energy:
            self._buf = self._buf[count * self.hop:]
            self._next_frame += count
            return FrameBatch(centre, np.full(count, -1, dtype=np.int64), np.zeros(count),
                              np.full(count, energy / self._win_energy), np.ones(count, bool))
        stride = self._buf.strides[0]
        view = np.lib.stride_tricks.as_strided(
            self._buf, (count, self.window), (stride * self.hop, stride), writeable=False)
        self._buf = self._buf[count * self.hop:]
        self._next_frame += count
        spec = np.fft.rfft(view * self._win, self.nfft, axis=1)[:, self._bins]
        power = (spec.real ** 2 + spec.imag ** 2) * self._scale
        total = power.sum(axis=1)
        bands = power @ self._band_matrix
        label, class_power = self._label(bands, total)
        return FrameBatch(centre, label, class_power, total, total < self._quiet_power)

    def _label(self, bands: npt.NDArray[np.float64],
               total: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Per frame: the passing class of highest purity (-1: none) and its power."""
        power = bands @ self._class_matrix
        comp = bands[:, self._components]
        purity = power / np.maximum(total, 1e-12)[:, None]
        ok = (purity >= PURITY) & (power >= self._min_power) \
            & (comp.min(axis=2) >= self._balance * comp.max(axis=2))
        purity = np.where(ok, purity, 0.0)
        best = np.argmax(purity, axis=1)
        rows = np.arange(len(total))
        label = np.where(ok[rows, best], best, -1)
        return label.astype(np.int64), power[rows, best]


class RunTracker:
    """One class's labelled frames -> on-intervals (samples), with bridging and edges.

    `update` takes one frame at a time and returns what happened: ("start", sample) once a
    run has lasted `min_on_ms` (shorter runs are blips and never reported), ("end",
    sample) when a reported run stops. Edges are placed by the half-peak rule.
    """

    def __init__(self, min_on_ms: float, hop: int, rate: int = 8000):
        self.hop = hop
        self._min_frames = max(1, int(math.ceil(min_on_ms * rate / 1000.0 / hop)))
        self._gap_frames = int(GAP_MS * rate / 1000.0 / hop)
        self.reset()

    def reset(self) -> None:
        self.active = False  # inside a run (possibly in a bridged gap)
        self.reported = False
        self._gap = 0
        self._count = 0
        self._peak = 0.0
        self._head: list[tuple[int, float]] = []
        self._tail: deque[tuple[int, float]] = deque(maxlen=EDGE_FRAMES)

    def known_until(self, now: int) -> int:
        """The sample up to which this class's on/off state is settled.

        A run is reported only after `min_on_ms`, and its end only after a bridged gap,
        so an open element must be measured to here, not to `now`.
        """
        if not self.active:
            return now
        if not self.reported:
            return self._head[0][0]
        return self._tail[-1][0]

    def start_sample(self) -> int:
        """Where the current run began (half-peak rule on what has been seen so far)."""
        level = EDGE_FRACTION * self._peak
        centre = next(c for c, p in self._head if p >= level)
        return max(0, centre - self.hop // 2)

    def _end_sample(self) -> int:
        level = EDGE_FRACTION * self._peak
        centre = next(c for c, p in reversed(self._tail) if p >= level)
        return centre + (self.hop + 1) // 2

    def update(self, centre: int, labelled: bool, power: float) -> tuple[str, int] | None:
        if labelled:
            if not self.active:
                self.reset()
                self.active = True
            self._gap = 0
            self._count += 1
            self._peak = max(self._peak, power)
            if len(self._head) < EDGE_FRAMES:
                self._head.append((centre, power))
            self._tail.append((centre, power))
            if not self.reported and self._count >= self._min_frames:
                self.reported = True
                return ("start", self.start_sample())
            return None
        if not self.active:
            return None
        self._gap += 1
        if self._gap <= self._gap_frames:
            return None
        return self.close()

    def close(self) -> tuple[str, int] | None:
        """End the current run now (end of stream); ("end", sample) if it was reported."""
        was_reported = self.active and self.reported
        end = self._end_sample() if was_reported else 0
        self.reset()
        return ("end", end) if was_reported else None
