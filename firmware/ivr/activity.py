"""Is the caller quiet? A frame-by-frame silence decision that follows the line's noise.

API:
    QuietDetector(absolute_dbm0=-45.0)
        .quiet(frame) -> bool      this 20 ms frame holds no voice
        .threshold_dbm0            the level below which a frame counts as quiet now
        .floor_dbm0                the estimated noise floor
    MessageEnd(silence_ms, keep_ms=TRAILING_SILENCE_KEPT_MS)   where a recording ends
        .feed(frame, end) -> cut | None       the cut once `silence_ms` of quiet is heard
        .before_hangup(tone_start, now) -> cut  the cut when the caller hung up

A fixed threshold fails both ways on real lines: a noisy line (hum, hiss at -40 dBm0)
never looks silent, so a message only ends at its maximum length. So the threshold
sits a margin above the line's noise floor, which is tracked as a minimum that
creeps up slowly (so speech, with its short pauses, never drags it along), bounded
below by the fixed threshold and above by a level only speech reaches.

A message ends with a little of its last pause kept (cuts are line clock samples): after
a long silence, or, when the caller hangs up, before the pause that came before the
exchange's hang-up tone (or the loop drop); the tone's own gaps come after that pause.
"""

from __future__ import annotations

from collections import deque

from firmware.dsp.level import rms_dbm0
from firmware.line.base import FRAME_SAMPLES, SAMPLE_RATE, Frame, ms_to_samples

ABSOLUTE_QUIET_DBM0 = -45.0  # always quiet below this (a clean line's pauses)
VOICE_ALWAYS_DBM0 = -30.0  # never quiet above this: speech, however noisy the line
MARGIN_DB = 9.0  # voice is at least this far above the noise floor
FLOOR_RISE_DB_PER_S = 3.0  # how fast the floor estimate follows rising noise
_RISE_PER_FRAME = FLOOR_RISE_DB_PER_S * FRAME_SAMPLES / SAMPLE_RATE
TRAILING_SILENCE_KEPT_MS = 300  # keep a little of the pause a message ends with
PAUSES_KEPT = 32  # earlier pauses remembered to find the one before a hang-up tone


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


class MessageEnd:
    """Follows a recording's pauses, frame by frame, to say where its message ends."""

    def __init__(self, silence_ms: float | None,
                 keep_ms: float = TRAILING_SILENCE_KEPT_MS):
        self._quiet = QuietDetector()
        self._silence = ms_to_samples(silence_ms) if silence_ms else None
        self._keep = ms_to_samples(keep_ms)
        self._since: int | None = None  # start of the quiet run the audio now ends with
        self._pauses: deque[tuple[int, int]] = deque(maxlen=PAUSES_KEPT)  # (start, end)

    def feed(self, frame: Frame, end: int) -> int | None:
        """One received frame ending at line clock `end`; the cut once the caller has
        been quiet for the silence limit (none: only a key or a hang-up ends it)."""
        start = end - FRAME_SAMPLES
        if self._quiet.quiet(frame):
            if self._since is None:
                self._since = start
            if self._silence is not None and end - self._since >= self._silence:
                return self._since + self._keep
        elif self._since is not None:
            self._pauses.append((self._since, start))
            self._since = None
        return None

    def before_hangup(self, tone_start: int | None, now: int) -> int:
        """The cut when the caller hung up: at the exchange's tone (or the drop, `now`),
        moved back to the pause before it, of which a little is kept."""
        cut = tone_start if tone_start is not None else now
        pause_start = self._since if tone_start is None else None
        for begin, end in self._pauses:  # a tone's own gaps come later: the pause before it
            if begin < cut <= end + 2 * FRAME_SAMPLES:
                pause_start = begin
        if pause_start is not None and pause_start + self._keep < cut:
            cut = pause_start + self._keep
        return cut
