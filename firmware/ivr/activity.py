"""Is the caller quiet? A frame-by-frame silence decision that follows the line's noise.

API:
    QuietDetector(absolute_dbm0=-45.0)
        .quiet(frame) -> bool      this 20 ms frame holds no voice
        .threshold_dbm0            the level below which a frame counts as quiet now
        .floor_dbm0                the estimated noise floor

A fixed threshold fails both ways on real lines: a noisy line (hum, hiss at -40 dBm0)
never looks silent, so a message only ends at its maximum length. So the threshold
sits a margin above the line's noise floor, which is tracked as a minimum that
creeps up slowly (so speech, with its short pauses, never drags it along), bounded
below by the fixed threshold and above by a level only speech reaches.
"""

from __future__ import annotations

from firmware.dsp.level import rms_dbm0
from firmware.line.base import FRAME_SAMPLES, SAMPLE_RATE, Frame

ABSOLUTE_QUIET_DBM0 = -45.0  # always quiet below this (a clean line's pauses)
VOICE_ALWAYS_DBM0 = -30.0  # never quiet above this: speech, however noisy the line
MARGIN_DB = 9.0  # voice is at least this far above the noise floor
FLOOR_RISE_DB_PER_S = 3.0  # how fast the floor estimate follows rising noise
_RISE_PER_FRAME = FLOOR_RISE_DB_PER_S * FRAME_SAMPLES / SAMPLE_RATE


class QuietDetector:
    def __init__(self, absolute_dbm0: float = ABSOLUTE_QUIET_DBM0):
        self._absolute = absolute_dbm0
        self.floor_dbm0 = absolute_dbm0 - MARGIN_DB

    @property
    def threshold_dbm0(self) -> float:
        return min(max(self._absolute, self.floor_dbm0 + MARGIN_DB), VOICE_ALWAYS_DBM0)

    def quiet(self, frame: Frame) -> bool:
        level = rms_dbm0(frame)
        lowest = self._absolute - MARGIN_DB  # a clean line: no need to track lower
        self.floor_dbm0 = max(min(self.floor_dbm0 + _RISE_PER_FRAME, level), lowest)
        return level < self.threshold_dbm0
