"""Cadence matching: on/off intervals of one tone -> which signal it is, and when known.

API:
    ToneEvent(type, start, end, detected)      samples; end is None while it goes on
    Pattern(type, cadence_ms, decide_ms, min_evidence)
    tolerance_ms(nominal_ms) -> float          +-20 % or +-50 ms, whichever is wider
    consistent_phases(pattern, closed_ms, open_ms) -> list[int]
    CadenceTracker(patterns, rate)             tone_on(s) / tone_off(s) / tick(now) -> events

A tracker sees the on/off edges of one frequency class (say US 480+620 Hz) and keeps
the elements observed since the tone began: closed durations plus the one still open.
A pattern is *consistent* when, at some phase of its cadence, every closed element is
within tolerance and the open one has not yet outlasted its slot. A signal is *decided*
when every consistent pattern names the same type and the observations give at least
`min_evidence` matched elements (an open element counts once it reached its slot's
lower bound). A continuous tone (empty cadence) is decided after `decide_ms` on.

So what each type needs, with 20 %/50 ms tolerances:
    busy/reorder     3 elements: on, off, and the next on reaching its lower bound (UK
                     busy vs reorder differ only in the third: 375 vs 225 ms on)
    ringback         1 element: 80 % of the first ring burst, once no other plan of the
                     same frequencies fits (CN/DE/JP: its end, as dial tone is 450/425/400 too)
    fax CNG          2 elements: 0.5 s on, then 2.4 s off
    dial, CED        continuous for decide_ms, and longer than any cadenced burst of the
                     same frequencies could be (CN/DE/JP dial: 1.2 s)
When nothing is consistent any more the oldest on/off pair is dropped and the rest
tried again, so a tracker that joins mid-cadence finds its phase. A decided signal lasts
while its cadence continues; the first element that breaks it ends the signal at the end
of the last matching on element.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TOL_FRACTION = 0.20
TOL_MS = 50.0


@dataclass(frozen=True)
class ToneEvent:
    """A call-progress signal in sample positions: [start, end), decided at `detected`.

    A detector reports it twice: when decided (`end` is None, the signal goes on) and
    when it stops (`end` set; same type, start and detected).
    """

    type: str
    start: int
    end: int | None
    detected: int


@dataclass(frozen=True)
class Pattern:
    """One cadence a frequency class can play; empty cadence = continuous tone."""

    type: str
    cadence_ms: tuple[float, ...] = ()
    decide_ms: float = 1000.0  # continuous tones only
    min_evidence: int = 1  # cadenced tones only


def tolerance_ms(nominal_ms: float) -> float:
    return max(TOL_FRACTION * nominal_ms, TOL_MS)


def _fits(measured: float, nominal: float) -> bool:
    return abs(measured - nominal) <= tolerance_ms(nominal)


def consistent_phases(pattern: Pattern, closed: Sequence[float], open_ms: float) -> list[int]:
    """Phases (even offsets into the cadence) at which the observations fit the pattern.

    `closed` starts with an on element; the open element follows the last closed one.
    """
    cad = pattern.cadence_ms
    if not cad:
        return [0] if not closed else []
    phases = []
    for phase in range(0, len(cad), 2):
        if all(_fits(d, cad[(phase + i) % len(cad)]) for i, d in enumerate(closed)):
            nominal = cad[(phase + len(closed)) % len(cad)]
            if open_ms <= nominal + tolerance_ms(nominal):
                phases.append(phase)
    return phases


def _evidence(pattern: Pattern, phase: int, closed: Sequence[float], open_ms: float) -> int:
    cad = pattern.cadence_ms
    if not cad:
        return 1 if open_ms >= pattern.decide_ms else 0
    nominal = cad[(phase + len(closed)) % len(cad)]
    return len(closed) + (1 if open_ms >= nominal - tolerance_ms(nominal) else 0)


class CadenceTracker:
    """On/off edges of one frequency class -> ToneEvents (see the module docstring)."""

    def __init__(self, patterns: Sequence[Pattern], rate: int = 8000):
        self.patterns = list(patterns)
        self.rate = rate
        self.reset()

    def reset(self) -> None:
        self._edges: list[int] = []  # on start, on end, on start, ... (samples)
        self._closed: list[float] = []  # durations between edges, ms
        self._active: tuple[Pattern, int, ToneEvent] | None = None  # pattern, phase, event
        self._checked = 0  # closed elements already verified against the active pattern

    @property
    def idle(self) -> bool:
        return not self._edges

    def _ms(self, samples: int) -> float:
        return samples * 1000.0 / self.rate

    def _add_edge(self, at: int) -> None:
        if self._edges:
            self._closed.append(self._ms(at - self._edges[-1]))
        self._edges.append(at)

    def tone_on(self, at: int) -> None:
        if len(self._edges) % 2 == 0:
            self._add_edge(max(at, self._edges[-1]) if self._edges else at)

    def tone_off(self, at: int) -> None:
        if len(self._edges) % 2 == 1:
            self._add_edge(max(at, self._edges[-1]))

    def _drop_to(self, index: int) -> None:
        """Forget the elements before edge `index` (an on start, or everything)."""
        self._edges = self._edges[index:]
        self._closed = self._closed[index:] if self._edges else []

    def tick(self, now: int, known: int | None = None) -> list[ToneEvent]:
        """Evaluate at sample `now`, with edges settled up to `known` (default: now).

        Open elements are measured to `known`; events carry `now` as `detected`.
        """
        if not self._edges:
            return []
        known = now if known is None else max(known, self._edges[-1])
        events: list[ToneEvent] = []
        if self._active is not None:
            ended = self._follow(known)
            if ended is None:
                return []
            events.append(ended)
            if not self._edges:
                return events
        events += self._search(known, now)
        return events

    def _follow(self, known: int) -> ToneEvent | None:
        """Check the active signal's cadence; the ended event if it broke."""
        assert self._active is not None
        pattern, phase, event = self._active
        cad = pattern.cadence_ms
        open_ms = self._ms(known - self._edges[-1])
        broken_at: int | None = None  # index of the first element that broke it
        if not cad:
            if self._closed:
                broken_at = 1
        else:
            for i in range(self._checked, len(self._closed)):
                if not _fits(self._closed[i], cad[(phase + i) % len(cad)]):
                    broken_at = i
                    break
                self._checked = i + 1
            if broken_at is None:
                nominal = cad[(phase + len(self._closed)) % len(cad)]
                if open_ms > nominal + tolerance_ms(nominal):
                    broken_at = len(self._closed)
        if broken_at is None:
            return None
        # The signal ends where the last matching on element ended.
        last_on_end = broken_at if broken_at % 2 == 1 else broken_at - 1
        end = self._edges[last_on_end] if last_on_end >= 1 else self._edges[0]
        self._active = None
        self._checked = 0
        # A broken on element may start the next signal; a broken off leaves nothing.
        self._drop_to(broken_at if broken_at % 2 == 0 else len(self._edges))
        return ToneEvent(event.type, event.start, end, event.detected)

    def _search(self, known: int, now: int) -> list[ToneEvent]:
        while self._edges:
            open_ms = self._ms(known - self._edges[-1])
            fits = [(p, ph) for p in self.patterns
                    for ph in consistent_phases(p, self._closed, open_ms)]
            if fits:
                return self._maybe_decide(fits, now, open_ms)
            self._drop_to(2 if len(self._edges) > 2 else len(self._edges))
        return []

    def _maybe_decide(self, fits: list[tuple[Pattern, int]], now: int,
                      open_ms: float) -> list[ToneEvent]:
        if len({p.type for p, _ in fits}) != 1:
            return []
        pattern, phase = fits[0]
        needed = pattern.min_evidence if pattern.cadence_ms else 1
        if _evidence(pattern, phase, self._closed, open_ms) < needed:
            return []
        event = ToneEvent(pattern.type, self._edges[0], None, now)
        self._active = (pattern, phase, event)
        self._checked = 0
        return [event]

    def finish(self, now: int) -> list[ToneEvent]:
        """End of stream at `now`: decide what can be, and close the active signal."""
        events = self.tick(now)
        if self._active is not None:
            _, _, event = self._active
            open_on = len(self._edges) % 2 == 1
            end = now if open_on else self._edges[-1]
            events.append(ToneEvent(event.type, event.start, end, event.detected))
        self.reset()
        return events
