"""Call-progress detector: dial, ringback, busy, reorder, SIT, fax tones and silence.

API:
    CallProgressDetector(country, rate=8000, silence_ms=6000)
        .feed(int16 samples, any length) -> list[ToneEvent]
        .flush() -> list[ToneEvent]       end of stream: decide and close what is open
        .reset()
        .position                         samples fed so far
    detect_tones(samples, country, rate=8000, silence_ms=6000) -> list[ToneEvent]
        whole buffer; only finished signals (end set), in order of start
    patterns_for(country) -> {frequencies: [Pattern]}   what the detector listens for
    TYPES                                the event types

Each signal is reported when decided (`end` None) and again when it stops (`end` set);
`start` is the tone's first sample, so a recorder can cut the tone off a message.
Frequencies come from `tones.PLANS` for the country (plus `tones.EXTRA_PLANS`, e.g. UK
number-unobtainable, reported as reorder) and the universal SIT and fax tones. What a
decision needs per type is in `firmware.dsp.cadence`; in short (nominal tones):
    dial        1.0 s continuous (1.2 s in CN, DE, JP, where ringback shares the frequency)
    ringback    80 % of the first ring burst where its frequencies are its own (US 1.6 s,
                TW 0.8 s, UK 0.32 s); where dial tone shares them (CN, DE, JP) its end, 1 s
    busy        on, off, and 80 % of the second on: US 1.4 s, UK 1.05 s, CN 0.98 s
    reorder     the same for its cadence: US 0.7 s, UK 0.98 s; UK continuous 400 Hz: 1.3 s
    sit         third segment 200 ms long
    fax_cng     one 0.5 s burst and 2.4 s of its pause; fax_ced 1.0 s of 2100 Hz
    silence     `silence_ms` with no tone and the line under QUIET_DBM0
Japan's busy and reorder are one signal; it is reported as busy. Between countries,
kinds with the same frequencies and cadence are of course indistinguishable.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from firmware.dsp import tones
from firmware.dsp.cadence import CadenceTracker, Pattern, ToneEvent
from firmware.dsp.toneframes import FrameBatch, FrameClassifier, RunTracker, ToneClass

__all__ = ["CallProgressDetector", "ToneEvent", "detect_tones", "patterns_for", "TYPES"]

TYPES = ("dial", "ringback", "busy", "reorder", "sit", "fax_cng", "fax_ced", "silence")

MIN_ON_MS = 120.0  # shorter runs of a tone are blips (shortest real burst: 225 ms)
DIAL_DECIDE_MS = 1000.0
CED_DECIDE_MS = 1000.0
MIN_EVIDENCE = {"ringback": 1, "busy": 3, "reorder": 3, "fax_cng": 2}
SIT_BANDS = ((950.0, 70.0), (1400.0, 70.0), (1800.0, 70.0))  # centre, half-width Hz (ITU +-50, US 913.8, offsets)
SIT_MIN_MS = 200.0  # segment lengths: US 274/380 ms, ITU 330 +-70 ms
SIT_MAX_MS = 480.0
SIT_MAX_GAP_MS = 100.0  # between segments (ITU: up to 30 ms of silence)
QUIET_DBM0 = -45.0
DEFAULT_SILENCE_MS = 6000.0  # longer than any cadence's pause (US ringback: 4 s + 20 %)


def _pattern(plan: tones.TonePlan, decide_ms: float = DIAL_DECIDE_MS) -> Pattern:
    if plan.kind == "fax_ced":
        return Pattern("fax_ced", (), CED_DECIDE_MS)
    return Pattern(plan.kind, plan.cadence_ms, decide_ms, MIN_EVIDENCE.get(plan.kind, 1))


def patterns_for(country: str) -> dict[tuple[float, ...], list[Pattern]]:
    """Patterns the detector matches for `country`, grouped by their frequencies."""
    code = tones.check_country(country)
    groups: dict[tuple[float, ...], list[Pattern]] = {}
    for kind, plan in tones.PLANS[code].items():
        if kind in ("sit", "beep"):
            continue
        group = groups.setdefault(plan.freqs_hz, [])
        pattern = _pattern(plan)
        if all(p.cadence_ms != pattern.cadence_ms for p in group):  # JP reorder = busy
            group.append(pattern)
    for plan in tones.EXTRA_PLANS.get(code, ()):
        decide = tones.UK_UNOBTAINABLE_DECIDE_MS if plan is tones.UK_UNOBTAINABLE else DIAL_DECIDE_MS
        groups.setdefault(plan.freqs_hz, []).append(Pattern(plan.kind, plan.cadence_ms, decide))
    return groups


class _SitTracker:
    """Three rising segments, each SIT_MIN..SIT_MAX ms, at most SIT_MAX_GAP apart."""

    def __init__(self, rate: int):
        self.rate = rate
        self.reset()

    def reset(self) -> None:
        self._runs: list[tuple[int, int, int]] = []  # (segment 0-2, start, end)
        self._open: tuple[int, int] | None = None  # (segment, start)
        self._event: ToneEvent | None = None

    def _ms(self, n: int) -> float:
        return n * 1000.0 / self.rate

    def _fits(self, length: int) -> bool:
        return SIT_MIN_MS <= self._ms(length) <= SIT_MAX_MS

    def segment(self, seg: int, kind: str, at: int) -> None:
        if kind == "start":
            self._open = (seg, at)
        elif self._open is not None:
            self._runs = (self._runs + [(self._open[0], self._open[1], at)])[-2:]
            self._open = None

    def _first_two_fit(self, start3: int) -> bool:
        if len(self._runs) < 2:
            return False
        (s1, a1, b1), (s2, a2, b2) = self._runs
        gap = self._ms(a2 - b1), self._ms(start3 - b2)
        return (s1, s2) == (0, 1) and self._fits(b1 - a1) and self._fits(b2 - a2) \
            and max(gap) <= SIT_MAX_GAP_MS

    def tick(self, now: int) -> list[ToneEvent]:
        if self._event is not None:
            if self._open is not None:
                return []
            event, self._event = self._event, None
            end = self._runs[-1][2]
            self._runs = []
            return [ToneEvent("sit", event.start, end, event.detected)]
        if self._open is None or self._open[0] != 2:
            return []
        if self._ms(now - self._open[1]) < SIT_MIN_MS or not self._first_two_fit(self._open[1]):
            return []
        self._event = ToneEvent("sit", self._runs[0][1], None, now)
        return [self._event]

    def finish(self, now: int) -> list[ToneEvent]:
        events = self.tick(now)
        if self._event is not None:
            events.append(ToneEvent("sit", self._event.start, now, self._event.detected))
        self.reset()
        return events


class CallProgressDetector:
    """Streaming detector for one country's exchange tones (see the module docstring)."""

    def __init__(self, country: str, rate: int = 8000,
                 silence_ms: float = DEFAULT_SILENCE_MS):
        groups = patterns_for(country)
        self.country = tones.check_country(country)
        self.rate = rate
        classes = [ToneClass("+".join(f"{f:g}" for f in freqs), freqs) for freqs in groups]
        classes += [ToneClass(f"sit{i + 1}", (hz,), half) for i, (hz, half) in enumerate(SIT_BANDS)]
        self._frames = FrameClassifier(classes, rate, quiet_dbm0=QUIET_DBM0)
        hop = self._frames.hop
        self._runs = [RunTracker(MIN_ON_MS, hop, rate) for _ in classes]
        self._cadence = [CadenceTracker(p, rate) for p in groups.values()]
        self._sit_base = len(self._cadence)
        self._sit = _SitTracker(rate)
        self._silence_samples = int(silence_ms * rate / 1000.0)
        self.reset()

    def reset(self) -> None:
        self._frames.reset()
        for run in self._runs:
            run.reset()
        for tracker in self._cadence:
            tracker.reset()
        self._sit.reset()
        self._active: set[int] = set()
        self._quiet_since: int | None = None
        self._silence: ToneEvent | None = None
        self.position = 0

    def feed(self, samples: npt.ArrayLike) -> list[ToneEvent]:
        x = np.asarray(samples).ravel()
        self.position += len(x)
        return self._process(self._frames.feed(x))

    def flush(self) -> list[ToneEvent]:
        events = self._process(self._frames.flush())
        now = self.position
        for ci in sorted(self._active):
            self._edge(ci, self._runs[ci].close())
        self._active.clear()
        for tracker in self._cadence:
            events += tracker.finish(now)
        events += self._sit.finish(now)
        events += self._quiet(now, quiet=False, final=True)
        self._quiet_since = None
        self._frames.reset()
        return events

    def _edge(self, ci: int, change: tuple[str, int] | None) -> None:
        if change is None:
            return
        kind, at = change
        if ci >= self._sit_base:
            self._sit.segment(ci - self._sit_base, kind, at)
        elif kind == "start":
            self._cadence[ci].tone_on(at)
        else:
            self._cadence[ci].tone_off(at)

    def _process(self, batch: FrameBatch) -> list[ToneEvent]:
        events: list[ToneEvent] = []
        if len(batch.centre) == 0:
            return events
        labels = batch.label.tolist()
        powers = batch.class_power.tolist()
        quiet = batch.quiet.tolist()
        for k, centre in enumerate(batch.centre.tolist()):
            lab = labels[k]
            if lab >= 0:
                self._active.add(lab)
            for ci in list(self._active):
                run = self._runs[ci]
                self._edge(ci, run.update(centre, lab == ci, powers[k]))
                if not run.active:
                    self._active.discard(ci)
            for ci, tracker in enumerate(self._cadence):
                if not tracker.idle:
                    events += tracker.tick(centre, self._runs[ci].known_until(centre))
            events += self._sit.tick(centre)
            events += self._quiet(centre, quiet[k] and lab < 0)
        return events

    def _quiet(self, now: int, quiet: bool, final: bool = False) -> list[ToneEvent]:
        """Silence: `silence_ms` of quiet frames, reported like a tone."""
        if quiet and not final:
            if self._quiet_since is None:
                self._quiet_since = now
            if self._silence is None and now - self._quiet_since >= self._silence_samples:
                self._silence = ToneEvent("silence", self._quiet_since, None, now)
                return [self._silence]
            return []
        events = []
        since, self._quiet_since = self._quiet_since, None
        if self._silence is not None:
            events.append(ToneEvent("silence", self._silence.start, now, self._silence.detected))
            self._silence = None
        elif final and since is not None and now - since >= self._silence_samples:
            events += [ToneEvent("silence", since, None, now), ToneEvent("silence", since, now, now)]
        return events


def detect_tones(samples: npt.ArrayLike, country: str, rate: int = 8000,
                 silence_ms: float = DEFAULT_SILENCE_MS) -> list[ToneEvent]:
    """Finished call-progress signals in a whole buffer, in order of start."""
    detector = CallProgressDetector(country, rate, silence_ms)
    events = detector.feed(samples) + detector.flush()
    return sorted((e for e in events if e.end is not None), key=lambda e: (e.start, e.type))
