"""Signal levels in dBm0, the unit every telephony threshold is written in.

API:
    FULL_SCALE_SINE_DBM0            level of a full-scale int16 sine (+3.14 dBm0, G.711)
    dbm0_to_peak(dbm0) -> float     peak amplitude (int16 units) of a sine at that level
    dbm0_to_rms(dbm0) -> float      RMS (int16 units) of any signal at that level
    rms_dbm0(samples) -> float      power level of a signal in dBm0 (floor SILENCE_FLOOR_DBM0)
    white_noise(n, dbm0, rng)       Gaussian noise at a given power level, int16
    frame_levels_dbm0(samples, frame) -> float array   level of each whole frame (DC removed)
    VoiceActivity(threshold_dbm0=-40, hangover_ms=300, adaptive=False, margin_db=10)
        .feed(int16, any length) -> list[VadSegment]   finished speech/silence segments
        .flush() -> list[VadSegment]; .reset()
        .in_speech, .silent_for (samples since speech), .noise_floor_dbm0, .position
    VadSegment(speech, start, end)  samples, [start, end)
    speech_segments(samples, **kw) -> list[VadSegment]  whole buffer, speech only

The reference is the G.711 convention: 0 dBm0 is a sine 3.14 dB below digital full scale
(mu-law), so thresholds from ITU-T recommendations can be used as written.

Voice activity works on 20 ms frames. A frame is loud when its level reaches the
threshold; speech begins after MIN_SPEECH_MS of loud frames (a click is not speech)
and ends when `hangover_ms` pass without one, so the pauses between words do not split
a message. A speech segment's end is the end of its last loud frame (the hangover is
not included), which is where a recorder trims trailing silence. Analog lines hiss:
with `adaptive=True` the threshold is also kept `margin_db` above a noise floor that
drops at once to a quieter frame and rises at most FLOOR_RISE_DB_PER_S, so it follows
the line's hiss but not the speech over it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


# --- Voice activity -------------------------------------------------------------------

VAD_FRAME_MS = 20.0
DEFAULT_VAD_THRESHOLD_DBM0 = -40.0
DEFAULT_HANGOVER_MS = 300.0
MIN_SPEECH_MS = 40.0  # loud frames needed to start speech; clicks and pops are shorter
DEFAULT_MARGIN_DB = 10.0  # adaptive: speech stands this far above the line's noise
FLOOR_RISE_DB_PER_S = 2.0  # the noise floor climbs no faster than this


def frame_levels_dbm0(samples: npt.ArrayLike, frame: int) -> npt.NDArray[np.float64]:
    """Level in dBm0 of each whole frame, its mean (DC) removed first."""
    x = np.asarray(samples, dtype=np.float64)
    count = len(x) // frame
    frames = x[: count * frame].reshape(count, frame)
    frames = frames - frames.mean(axis=1, keepdims=True)
    power = np.mean(frames * frames, axis=1)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(power / _FULL_SCALE_SINE_RMS ** 2) + FULL_SCALE_SINE_DBM0
    return np.maximum(db, SILENCE_FLOOR_DBM0)


@dataclass(frozen=True)
class VadSegment:
    """Speech or silence over samples [start, end)."""

    speech: bool
    start: int
    end: int


class VoiceActivity:
    """Streaming speech/silence segmentation with hangover (see the module docstring)."""

    def __init__(self, threshold_dbm0: float = DEFAULT_VAD_THRESHOLD_DBM0,
                 hangover_ms: float = DEFAULT_HANGOVER_MS, adaptive: bool = False,
                 margin_db: float = DEFAULT_MARGIN_DB, min_speech_ms: float = MIN_SPEECH_MS,
                 rate: int = 8000):
        self.threshold_dbm0 = threshold_dbm0
        self.adaptive = adaptive
        self.margin_db = margin_db
        self.frame = int(round(VAD_FRAME_MS * rate / 1000.0))
        self._hangover = int(round(hangover_ms * rate / 1000.0))
        self._min_speech = max(1, int(math.ceil(min_speech_ms / VAD_FRAME_MS)))
        self._rise = FLOOR_RISE_DB_PER_S * VAD_FRAME_MS / 1000.0
        self.reset()

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float64)
        self.position = 0  # samples fed
        self._frames_end = 0  # samples judged (whole frames)
        self.in_speech = False
        self._segment_start = 0  # of the current segment (speech or silence)
        self._loud_run = 0
        self._loud_run_start = 0
        self._last_loud_end: int | None = None
        self.noise_floor_dbm0: float | None = None

    @property
    def silent_for(self) -> int:
        """Samples since speech last sounded (all judged samples if it never has)."""
        if self.in_speech and self._loud_run:
            return 0
        return self._frames_end - (self._last_loud_end or 0)

    def threshold_now(self) -> float:
        if not self.adaptive or self.noise_floor_dbm0 is None:
            return self.threshold_dbm0
        return max(self.threshold_dbm0, self.noise_floor_dbm0 + self.margin_db)

    def feed(self, samples: npt.ArrayLike) -> list[VadSegment]:
        x = np.asarray(samples, dtype=np.float64).ravel()
        self.position += len(x)
        data = np.concatenate([self._pending, x])
        whole = len(data) // self.frame * self.frame
        self._pending = data[whole:]
        events: list[VadSegment] = []
        for level in frame_levels_dbm0(data[:whole], self.frame).tolist():
            events += self._step(level)
        return events

    def flush(self) -> list[VadSegment]:
        """Close the open segment at the last sample fed; a partial frame is judged too."""
        events: list[VadSegment] = []
        if len(self._pending):
            tail = np.zeros(self.frame)
            tail[: len(self._pending)] = self._pending
            level = float(frame_levels_dbm0(tail, self.frame)[0])
            events += self._step(level)
            self._frames_end = self.position
        if self.in_speech:
            end = max(self._last_loud_end or 0, self._segment_start)
            end = min(end, self.position)
            if end > self._segment_start:
                events.append(VadSegment(True, self._segment_start, end))
            if self.position > end:
                events.append(VadSegment(False, end, self.position))
        elif self.position > self._segment_start:
            events.append(VadSegment(False, self._segment_start, self.position))
        self.reset()
        return events

    def _update_floor(self, level: float) -> None:
        floor = self.noise_floor_dbm0
        self.noise_floor_dbm0 = level if floor is None else min(level, floor + self._rise)

    def _step(self, level: float) -> list[VadSegment]:
        start = self._frames_end
        self._frames_end += self.frame
        loud = level >= self.threshold_now()
        self._update_floor(level)
        events: list[VadSegment] = []
        if loud:
            if self._loud_run == 0:
                self._loud_run_start = start
            self._loud_run += 1
            if self.in_speech:
                self._last_loud_end = self._frames_end
            elif self._loud_run >= self._min_speech:
                self._last_loud_end = self._frames_end
                onset = self._loud_run_start
                if onset > self._segment_start:
                    events.append(VadSegment(False, self._segment_start, onset))
                self.in_speech = True
                self._segment_start = onset
            return events
        self._loud_run = 0
        if self.in_speech and self._frames_end - (self._last_loud_end or 0) >= self._hangover:
            end = self._last_loud_end or self._segment_start
            events.append(VadSegment(True, self._segment_start, end))
            self.in_speech = False
            self._segment_start = end
        return events


def speech_segments(samples: npt.ArrayLike, **kwargs: float | bool) -> list[VadSegment]:
    """The speech segments of a whole buffer (VoiceActivity keyword arguments)."""
    vad = VoiceActivity(**kwargs)  # type: ignore[arg-type]
    return [s for s in vad.feed(samples) + vad.flush() if s.speech]
