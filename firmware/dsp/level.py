"""Signal levels in dBm0, the unit every telephony threshold is written in.

API:
    FULL_SCALE_SINE_DBM0            level of a full-scale int16 sine (+3.14 dBm0, G.711)
    dbm0_to_peak(dbm0) -> float     peak amplitude (int16 units) of a sine at that level
    dbm0_to_rms(dbm0) -> float      RMS (int16 units) of any signal at that level
    rms_dbm0(samples) -> float      power level of a signal in dBm0 (floor SILENCE_FLOOR_DBM0)
    white_noise(n, dbm0, rng)       Gaussian noise at a given power level, int16

The reference is the G.711 convention: 0 dBm0 is a sine 3.14 dB below digital full scale
(mu-law), so thresholds from ITU-T recommendations can be used as written.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FULL_SCALE = 32767.0
FULL_SCALE_SINE_DBM0 = 3.14
SILENCE_FLOOR_DBM0 = -120.0

_FULL_SCALE_SINE_RMS = FULL_SCALE / math.sqrt(2.0)


def dbm0_to_rms(dbm0: float) -> float:
    return _FULL_SCALE_SINE_RMS * 10.0 ** ((dbm0 - FULL_SCALE_SINE_DBM0) / 20.0)


def dbm0_to_peak(dbm0: float) -> float:
    return dbm0_to_rms(dbm0) * math.sqrt(2.0)


def rms_dbm0(samples: npt.ArrayLike) -> float:
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return SILENCE_FLOOR_DBM0
    rms = math.sqrt(float(np.mean(x * x)))
    if rms <= 0.0:
        return SILENCE_FLOOR_DBM0
    return max(SILENCE_FLOOR_DBM0, 20.0 * math.log10(rms / _FULL_SCALE_SINE_RMS)
               + FULL_SCALE_SINE_DBM0)


def white_noise(n: int, dbm0: float, rng: np.random.Generator) -> npt.NDArray[np.int16]:
    noise = rng.standard_normal(n) * dbm0_to_rms(dbm0)
    return np.clip(np.round(noise), -32768, 32767).astype(np.int16)
