"""DTMF receiver: callers' key presses, found in 8 kHz int16 audio.

API:
    KeyDown(digit, start, at)        a key was recognised: onset estimate, decision sample
    KeyUp(digit, start, end)         it ended: end = first sample after the tone (estimate)
    DtmfDetector(rate=8000)          per-stream state; .feed(samples) -> [KeyDown | KeyUp],
                                     .flush() -> [KeyUp] (end of stream), .reset()
    DigitSpan(digit, start, end, detected)     one key of a whole buffer
    detect_digits(samples) -> [DigitSpan]      whole-buffer helper
    digits_of(samples) -> str                  just the keys, e.g. "12#"

Sample positions count from the last reset. Acceptance numbers (ITU-T Q.23/Q.24, ETSI ES
201 235-3, our issue 2) and how this receiver meets them:

    requirement                          accept            reject     via
    frequency offset, each tone          +-1.5 %           +-3.5 %    FREQ_TOL (2.2 %)
    tone duration                        >= 40 ms          <= 23 ms   MIN_ON_MS (30 ms)
    pause splitting two equal keys       >= 40 ms                     END_ABSENT_BLOCKS
    dropout inside one tone (no split)   < 20 ms                      END_ABSENT_BLOCKS
    twist, high minus low tone level     -8 .. +4 dB                  TWIST_*_DB (-11, +6.5)
    level, each tone                     -29 .. -3 dBm0    <= -50     MIN_LEVEL_DBM0 (-42)
    white noise, tone power : noise      12 dB SNR
    latency from onset to KeyDown        <= 45 ms, median <= 35 ms

How: each 51-sample span (6.4 ms) gets one DFT term per DTMF frequency (goertzel.py); two
adjacent spans make a 102-sample block (12.75 ms, hop 6.4 ms). A block "hits" a key when
its strongest row and column tones stand REL_PEAK_DB above the others of their group,
the phase advance from the previous block puts both within FREQ_TOL of nominal, their
levels (corrected for the droop that offset causes) are loud enough and within the twist
limits, the two carry TONE_FRACTION_DB of the block's AC power, everything else together
is no stronger than the weaker tone (WEAK_TONE_DB: a chord's third note, a vowel's other
harmonics) and the column tone's second harmonic is HARMONIC_DB down. A key goes down at
a hit block wholly inside a tone that has been present MIN_ON_MS, when the CONFIRM_BLOCKS
before it hit too; the onset is measured from the partial amplitude of the tone's first
block, so duration is judged to a few samples, not to a block. The key comes up after
END_ABSENT_BLOCKS blocks without both tones within PRESENT_DB of the key's level.

The per-sample work is one compiled kernel (dtmf_kernel.py, numba): feed() is one call
into it, so a 20 ms frame costs microseconds, not numpy's per-call overhead. The DFT
terms are exact integer sums, so feeding one sample at a time gives the same events as
feeding the whole buffer. The thresholds here are handed to the kernel in its state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp import dtmf_kernel
from firmware.dsp.goertzel import COEF_SCALE, GoertzelBank
from firmware.dsp.level import dbm0_to_peak
from firmware.dsp.tones import DTMF_COLS_HZ, DTMF_KEYS, DTMF_ROWS_HZ
from firmware.errors import UsageError

RATE = 8000
SPAN = 51  # samples: analysis hop (6.375 ms)
BLOCK = 2 * SPAN  # samples: analysis block (12.75 ms), two spans

MIN_LEVEL_DBM0 = -42.0  # each tone
FREQ_TOL = 0.022  # relative offset from nominal, each tone
# Twist = high-group level minus low-group level. The margins beyond -8/+4 dB cover the
# strong tone's leakage into the weak one's block term (up to +-2 dB for 941 + 1209 Hz).
TWIST_MIN_DB = -11.0
TWIST_MAX_DB = 6.5
REL_PEAK_DB = 6.0  # best tone of a group over the next best of that group (block power)
TONE_FRACTION_DB = -1.55  # the two tones' share of the block's AC power (70 %)
WEAK_TONE_DB = 0.0  # all other AC power together, relative to the weaker tone, at most
HARMONIC_DB = -14.0  # second harmonic relative to its fundamental, at most
MIN_ON_MS = 30.0  # tone present this long (onset estimate to decision) before a KeyDown
PRESENT_DB = -12.0  # a block still carries the key: both tones within this of its level
FULL_DB = -3.0  # a block lies wholly inside the tone: both tones within this of its level
CONFIRM_BLOCKS = 3  # the deciding block and the two before it all hit the key (25.5 ms)
END_ABSENT_BLOCKS = 4  # 25.5 ms of hops: dropouts < 20 ms never reach it, 40 ms gaps do

MIN_ON_SAMPLES = MIN_ON_MS * RATE / 1000.0
LOOKBACK_BLOCKS = int(MIN_ON_SAMPLES // SPAN) + 4

_FREQS = DTMF_ROWS_HZ + DTMF_COLS_HZ
_BANK = GoertzelBank(_FREQS, SPAN, RATE)
_HARMONICS = GoertzelBank([2.0 * f for f in DTMF_COLS_HZ], SPAN, RATE)
_COS_TOL = np.cos(2.0 * np.pi * FREQ_TOL * np.asarray(_FREQS) * SPAN / RATE)
_MIN_AMP = dbm0_to_peak(MIN_LEVEL_DBM0)
_MIN_AMP_DROOPED = _MIN_AMP * 10.0 ** (-6.0 / 20.0)  # quick pre-check, before droop is known
_FLOOR_POWER = (_MIN_AMP_DROOPED * SPAN) ** 2  # |block term|^2 both tones of a hit reach
_REL_POWER = (10.0 ** (-REL_PEAK_DB / 20.0)) ** 2  # next best tone power, at most (ratio)


def _db(value: float) -> float:
    return 10.0 ** (value / 20.0)  # amplitude ratio


@dataclass(frozen=True)
class KeyDown:
    digit: str
    start: int  # onset estimate (sample index)
    at: int  # sample index at which the detector decided


@dataclass(frozen=True)
class KeyUp:
    digit: str
    start: int
    end: int  # first sample after the tone (estimate)


@dataclass(frozen=True)
class DigitSpan:
    digit: str
    start: int
    end: int
    detected: int  # the KeyDown's decision sample


def _kernel_state() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """A fresh stream's state arrays for the compiled kernel, with our constants."""
    k = dtmf_kernel
    params = {
        k.P_FLOOR_POWER: _FLOOR_POWER, k.P_REL_POWER: _REL_POWER, k.P_MIN_AMP: _MIN_AMP,
        k.P_TWIST_MIN: _db(TWIST_MIN_DB), k.P_TWIST_MAX: _db(TWIST_MAX_DB),
        k.P_TONE_SHARE: _db(TONE_FRACTION_DB) ** 2, k.P_WEAK_SHARE: _db(WEAK_TONE_DB) ** 2,
        k.P_HARMONIC: _db(HARMONIC_DB), k.P_PRESENT: _db(PRESENT_DB), k.P_FULL: _db(FULL_DB),
        k.P_MIN_ON: MIN_ON_SAMPLES, k.P_INV_SPAN: 1.0 / SPAN, k.P_INV_SCALE: 1.0 / COEF_SCALE,
    }
    ints = {k.I_SPAN: SPAN, k.I_CONFIRM: CONFIRM_BLOCKS, k.I_END_ABSENT: END_ABSENT_BLOCKS,
            k.I_LOOKBACK: LOOKBACK_BLOCKS}
    return k.new_state(params, _COS_TOL, _BANK.rot_pairs, _HARMONICS.rot_pairs, _BANK.table,
                       _HARMONICS.table, ints)


_STATE = _kernel_state()  # copied by every reset()


class DtmfDetector:
    """One stream's receiver: feed it audio in pieces of any length, get key events."""

    def __init__(self, rate: int = RATE) -> None:
        if rate != RATE:
            raise UsageError(f"DTMF detection needs {RATE} Hz audio, not {rate} Hz; "
                             "resample first")
        self.reset()

    def reset(self) -> None:
        """Back to the start of a stream: positions count from 0 again."""
        self._f, self._s = _STATE[0].copy(), _STATE[1].copy()

    def feed(self, samples: npt.ArrayLike) -> list[KeyDown | KeyUp]:
        """Analyse more audio; returns the key events decided within it, in order."""
        x = samples
        try:  # the kernel takes a contiguous, writable int16 array: a line's frame
            n = dtmf_kernel.run(x, 0, self._f, self._s)  # type: ignore[arg-type]
        except TypeError:
            x = np.array(_as_int16(samples), dtype=np.int16, order="C")
            n = dtmf_kernel.run(x, 0, self._f, self._s)
        if not n:  # a 20 ms frame: mostly this
            return []
        events: list[KeyDown | KeyUp] = []
        k, s = dtmf_kernel, self._s
        while True:
            for e in range(k.I_EV, k.I_EV + 4 * n, 4):
                kind, key, start, at = s[e:e + 4].tolist()
                event = KeyDown if kind == k.EV_DOWN else KeyUp
                events.append(event(DTMF_KEYS[key], start, at))
            pos = int(s[k.I_POS])
            if pos >= len(x):  # type: ignore[arg-type]
                return events
            n = k.run(x, pos, self._f, self._s)  # type: ignore[arg-type]

    def flush(self) -> list[KeyUp]:
        """End of stream: close a key still down (its end clipped to the audio fed).

        Afterwards the detector is reset: positions count from 0 again.
        """
        out: list[KeyUp] = []
        s = self._s
        if s[dtmf_kernel.I_KEY] >= 0:
            fed = int(s[dtmf_kernel.I_FED])
            s[dtmf_kernel.I_ACCEPT] = 0
            pad = SPAN - fed % SPAN + SPAN * (END_ABSENT_BLOCKS + 2)
            for ev in self.feed(np.zeros(pad, dtype=np.int16)):
                if isinstance(ev, KeyUp):
                    out.append(KeyUp(ev.digit, ev.start, max(ev.start + 1, min(ev.end, fed))))
        self.reset()
        return out


def _as_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int16]:
    x = np.asarray(samples)
    if x.ndim != 1:
        x = x.reshape(-1)
    if x.dtype == np.int16:
        return x
    if x.size and not np.issubdtype(x.dtype, np.integer):
        raise UsageError(f"DTMF detection takes int16 samples, not {x.dtype}")
    return np.clip(x, -32768, 32767).astype(np.int16)


def detect_digits(samples: npt.ArrayLike, rate: int = RATE) -> list[DigitSpan]:
    """Every key in a whole buffer, with its span and the sample where it was decided."""
    det = DtmfDetector(rate)
    spans: list[DigitSpan] = []
    detected = 0
    for ev in [*det.feed(samples), *det.flush()]:
        if isinstance(ev, KeyDown):
            detected = ev.at
        else:
            spans.append(DigitSpan(ev.digit, ev.start, ev.end, detected))
    return spans


def digits_of(samples: npt.ArrayLike) -> str:
    """The keys in a buffer as a string, e.g. "12#"."""
    return "".join(span.digit for span in detect_digits(samples))
