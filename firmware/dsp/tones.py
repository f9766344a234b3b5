"""Tone generators: sine mixes, DTMF strings, beeps (call-progress plans come below).

API:
    DTMF_KEYS                       "123A456B789C*0#D"
    DTMF_FREQS[digit] -> (low_hz, high_hz)
    sine_mix(freqs, ms, dbm0, rate=8000) -> int16      each tone at `dbm0` (scalar or per tone)
    dtmf(digits, on_ms=100, off_ms=100, dbm0=-10, twist_db=0, rate=8000) -> int16
    beep(ms=400, hz=1000, dbm0=-10) -> int16
    silence(ms, rate=8000) -> int16

`twist_db` is the high-group tone's level minus the low-group tone's (positive: high
tone louder), the sign convention DESIGN.md fixes. A ',' in a DTMF string is a pause of
one second, as in a dial string.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from firmware.dsp.level import dbm0_to_peak
from firmware.errors import UsageError

SAMPLE_RATE = 8000
DTMF_ROWS_HZ = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = "123A456B789C*0#D"
DTMF_FREQS: dict[str, tuple[float, float]] = {
    key: (DTMF_ROWS_HZ[i // 4], DTMF_COLS_HZ[i % 4]) for i, key in enumerate(DTMF_KEYS)
}
DIAL_PAUSE_MS = 1000.0


def silence(ms: float, rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    return np.zeros(int(round(ms * rate / 1000.0)), dtype=np.int16)


def _to_int16(signal: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16)


def sine_mix(
    freqs: Sequence[float],
    ms: float,
    dbm0: float | Sequence[float] = -10.0,
    rate: int = SAMPLE_RATE,
) -> npt.NDArray[np.int16]:
    """Sum of sines, each at its own level in dBm0 (one level applies to all)."""
    n = int(round(ms * rate / 1000.0))
    levels = [dbm0] * len(freqs) if isinstance(dbm0, (int, float)) else list(dbm0)
    if len(levels) != len(freqs):
        raise UsageError("sine_mix: one level per frequency, or a single level")
    t = np.arange(n) / rate
    out = np.zeros(n)
    for freq, level in zip(freqs, levels):
        out += dbm0_to_peak(level) * np.sin(2.0 * np.pi * freq * t)
    return _to_int16(out)


def dtmf(
    digits: str,
    on_ms: float = 100.0,
    off_ms: float = 100.0,
    dbm0: float = -10.0,
    twist_db: float = 0.0,
    rate: int = SAMPLE_RATE,
) -> npt.NDArray[np.int16]:
    """A DTMF string: each key `on_ms` of tone then `off_ms` of silence.

    `dbm0` is the low-group tone's level; the high-group tone is `twist_db` above it.
    """
    parts: list[npt.NDArray[np.int16]] = []
    for key in digits.upper():
        if key == ",":
            parts.append(silence(DIAL_PAUSE_MS, rate))
            continue
        if key not in DTMF_FREQS:
            raise UsageError(f"'{key}' is not a DTMF key (use 0-9, *, #, A-D or ',')")
        parts.append(sine_mix(DTMF_FREQS[key], on_ms, (dbm0, dbm0 + twist_db), rate))
        parts.append(silence(off_ms, rate))
    if not parts:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(parts)


def beep(ms: float = 400.0, hz: float = 1000.0, dbm0: float = -10.0,
         rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    """The record-after-the-tone beep, with 5 ms ramps so it does not click."""
    tone = sine_mix([hz], ms, dbm0, rate).astype(np.float64)
    ramp = min(len(tone) // 2, int(rate * 0.005))
    if ramp:
        window = np.linspace(0.0, 1.0, ramp)
        tone[:ramp] *= window
        tone[-ramp:] *= window[::-1]
    return _to_int16(tone)
