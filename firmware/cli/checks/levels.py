"""Level of one tone inside a mixture, in dBm0: what the self-test and calibration measure.

API:
    tone_dbm0(samples, hz, rate=8000) -> float   level of the sine at `hz` (Hann window)
    spread_db(values) -> float                   max - min, 0 for fewer than two values

A Hann-windowed single DFT term separates a tone from others 100 Hz or more away in a
few hundred samples (the window's first side lobe is -31 dB, and DTMF's closest pair,
697/770 Hz, is 73 Hz apart: at 800 samples = 100 ms the main lobe is 20 Hz wide).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from firmware.dsp.level import FULL_SCALE_SINE_DBM0, SILENCE_FLOOR_DBM0

FULL_SCALE_SINE_RMS = 32767.0 / math.sqrt(2.0)
HANN_COHERENT_GAIN = 0.5


def tone_dbm0(samples: npt.ArrayLike, hz: float, rate: int = 8000) -> float:
    x = np.asarray(samples, dtype=np.float64)
    n = len(x)
    if n < 2:
        return SILENCE_FLOOR_DBM0
    window = np.hanning(n)
    t = np.arange(n) / rate
    term = np.sum(x * window * np.exp(-2j * np.pi * hz * t))
    peak = 2.0 * abs(term) / (n * HANN_COHERENT_GAIN)
    if peak <= 0.0:
        return SILENCE_FLOOR_DBM0
    level = 20.0 * math.log10(peak / math.sqrt(2.0) / FULL_SCALE_SINE_RMS) + FULL_SCALE_SINE_DBM0
    return max(SILENCE_FLOOR_DBM0, level)


def spread_db(values: Sequence[float]) -> float:
    return float(max(values) - min(values)) if len(values) > 1 else 0.0
