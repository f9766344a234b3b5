"""Make prompt audio sound even: loudness normalisation and silence trimming.

API:
    PROMPT_LEVEL_DBM0                       the level every prompt is brought to
    active_level_dbm0(samples) -> float     level of the speech, ignoring pauses
    normalise(samples, target_dbm0=PROMPT_LEVEL_DBM0, peak_limit_dbm0=...) -> int16
    trim_silence(samples, threshold_dbm0=-45, keep_ms=100) -> int16

An owner's upload may be a whisper or clipped; a caller should hear every prompt at the
same comfortable level. Level is measured over 20 ms blocks that carry speech (quiet
blocks would drag the average down and make pauses "louder"), then gain is applied,
capped so peaks stay under full scale.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from firmware.dsp.level import dbm0_to_peak, rms_dbm0

PROMPT_LEVEL_DBM0 = -16.0  # speech level of every prompt (ITU-T P.56-like active level)
ACTIVE_BLOCK_MS = 20
ACTIVE_MARGIN_DB = 15.0  # blocks within this of the loudest blocks count as speech
PEAK_LIMIT_DBM0 = 2.0  # never drive peaks beyond this (full-scale sine is +3.14)
TRIM_THRESHOLD_DBM0 = -45.0
RATE = 8000


def _block_levels(x: npt.NDArray[np.float64], block: int) -> npt.NDArray[np.float64]:
    n = len(x) // block
    if n == 0:
        return np.array([rms_dbm0(x)])
    blocks = x[: n * block].reshape(n, block)
    power = np.mean(blocks * blocks, axis=1)
    ref = dbm0_to_peak(0.0) ** 2 / 2.0  # mean power of a 0 dBm0 sine
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.maximum(power, 1e-12) / ref)


def active_level_dbm0(samples: npt.ArrayLike, rate: int = RATE) -> float:
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return -120.0
    levels = _block_levels(x, rate * ACTIVE_BLOCK_MS // 1000)
    loud = levels[levels >= np.max(levels) - ACTIVE_MARGIN_DB]
    power = np.mean(10.0 ** (loud / 10.0))
    return float(10.0 * np.log10(max(power, 1e-12)))


def normalise(
    samples: npt.ArrayLike,
    target_dbm0: float = PROMPT_LEVEL_DBM0,
    peak_limit_dbm0: float = PEAK_LIMIT_DBM0,
    rate: int = RATE,
) -> npt.NDArray[np.int16]:
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0 or not np.any(x):
        return np.asarray(samples, dtype=np.int16)
    gain_db = target_dbm0 - active_level_dbm0(x, rate)
    peak = float(np.max(np.abs(x)))
    max_gain_db = 20.0 * np.log10(dbm0_to_peak(peak_limit_dbm0) / peak)
    gain = 10.0 ** (min(gain_db, max_gain_db) / 20.0)
    return np.clip(np.round(x * gain), -32768, 32767).astype(np.int16)


def trim_silence(
    samples: npt.ArrayLike,
    threshold_dbm0: float = TRIM_THRESHOLD_DBM0,
    keep_ms: float = 100.0,
    rate: int = RATE,
) -> npt.NDArray[np.int16]:
    """Cut leading and trailing silence, keeping `keep_ms` of it at each end."""
    x = np.asarray(samples, dtype=np.int16)
    block = rate * ACTIVE_BLOCK_MS // 1000
    if len(x) < block:
        return x
    levels = _block_levels(x.astype(np.float64), block)
    loud = np.nonzero(levels >= threshold_dbm0)[0]
    if loud.size == 0:
        return x[:0]
    keep = int(keep_ms * rate / 1000)
    start = max(0, int(loud[0]) * block - keep)
    end = min(len(x), (int(loud[-1]) + 1) * block + keep)
    return x[start:end]
