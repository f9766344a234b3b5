"""Ring detection from an opto-coupler's pulses: bursts, cadences, ring counting.

API:
    RING_CADENCES_MS[country]       the exchange's ring pattern, on/off ms, ending in the
                                    long silence: us (2000, 4000), uk (400, 200, 400, 2000)
    ring_part(country) -> tuple     the pattern without its final silence (one "ring")
    cadence_matches(cadence_ms, country) -> bool
    RingReport(kind, at, count, cadence_ms, standard)      what the detector found
        kind: "ring_on"  a burst started (more than two alternations)
              "ring"     one ring (a group of bursts) ended; count and cadence set
              "noise"    pulses that were not ringing (too short, wrong rate)
              "stopped"  the ring sequence is over (no ring for a whole period)
    RingDetector(country)
        .edge(t, active) -> [RingReport]    one change of the ring-detect input
        .tick(now) -> [RingReport]          time passed (timeouts); call often
        .ringing / .count / .reset()

Times are seconds from whatever monotonic clock stamps the edges (the FXO line passes
the edge's clock reading taken on gpiozero's thread); this module never reads a clock.

How DAHDI does it, and what we add: the ring detector output alternates at the ring
frequency; more than two alternations make a ring (ring on), and 128 ms without an
alternation ends it (ring off). We add, to tell a short ring from line noise, that a
burst must last at least MIN_BURST_MS and pulse at a ringing rate (15-68 Hz ringing, seen
once or twice per cycle depending on the opto-coupler). Bursts less than MAX_GROUP_GAP_MS
apart are one ring (the UK's 0.4/0.2/0.4 double ring is one ring, not two). A ring that
matches the country's cadence is reported as soon as its last burst ends; any other
(distinctive rings, a single short ring) once MAX_GROUP_GAP_MS of quiet has followed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from firmware.dsp.tones import RING_CADENCES
from firmware.errors import UsageError

RING_OFF_MS = 128.0  # DAHDI: quiet this long ends a burst
RING_ON_ALTERNATIONS = 3  # "more than two alternations make a ring"
MIN_BURST_MS = 150.0  # the shortest real bursts (distinctive rings) are ~200 ms
MIN_PULSE_HZ = 14.0  # ringing is 15-68 Hz; an opto on one polarity pulses once a cycle,
MAX_PULSE_HZ = 140.0  # an AC-input opto twice
RATE_OK_FRACTION = 0.8  # this share of pulse periods must be at a ringing rate
MAX_GROUP_GAP_MS = 800.0  # longest gap inside one ring (UK: 200 ms; ring off >= 2 s)
CADENCE_TOLERANCE_MS = 150.0  # measured vs nominal cadence: this or...
CADENCE_TOLERANCE = 0.2  # ...this fraction of the nominal, whichever is larger
SEQUENCE_END_FACTOR = 1.5  # no ring for 1.5 x the country's ring-off time (+1 s) ends
SEQUENCE_END_EXTRA_MS = 1000.0  # the sequence: the caller gave up or someone answered

# One table for the whole firmware: the tone plans keep the countries' ring cadences.
RING_CADENCES_MS: dict[str, tuple[int, ...]] = {
    country: tuple(int(ms) for ms in cadence) for country, cadence in RING_CADENCES.items()
}


def _pattern(country: str) -> tuple[int, ...]:
    try:
        return RING_CADENCES_MS[country.lower()]
    except KeyError:
        raise UsageError(f"no ring cadence for country '{country}' "
                         f"(known: {', '.join(RING_CADENCES_MS)})") from None


def ring_part(country: str) -> tuple[int, ...]:
    """The on/off pattern of one ring, without the silence that follows it."""
    return _pattern(country)[:-1]


def cadence_matches(cadence_ms: tuple[int, ...], country: str) -> bool:
    """True if a measured ring cadence is the country's normal ring."""
    nominal = ring_part(country)
    if len(cadence_ms) != len(nominal):
        return False
    return all(abs(m - n) <= max(CADENCE_TOLERANCE_MS, CADENCE_TOLERANCE * n)
               for m, n in zip(cadence_ms, nominal))


@dataclass(frozen=True)
class RingReport:
    kind: str
    at: float
    count: int = 0
    cadence_ms: tuple[int, ...] = ()
    standard: bool = False


@dataclass(frozen=True)
class _Burst:
    start: float
    on_s: float

    @property
    def end(self) -> float:
        return self.start + self.on_s


class RingDetector:
    """Edges of the ring-detect input in, rings out (see the module docstring)."""

    def __init__(self, country: str) -> None:
        self.country = country.lower()
        pattern = _pattern(self.country)
        self._sequence_end_s = (pattern[-1] * SEQUENCE_END_FACTOR + SEQUENCE_END_EXTRA_MS) / 1000
        self.reset()

    def reset(self) -> None:
        self._edges: list[tuple[float, bool]] = []
        self._group: list[_Burst] = []
        self.ringing = False
        self.count = 0
        self._last_ring_end: float | None = None

    def edge(self, t: float, active: bool) -> list[RingReport]:
        out = self.tick(t)
        self._edges.append((t, active))
        if not self.ringing and len(self._edges) >= RING_ON_ALTERNATIONS:
            self.ringing = True
            out.append(RingReport("ring_on", t, self.count + 1))
        return out

    def tick(self, now: float) -> list[RingReport]:
        out: list[RingReport] = []
        if self._edges and now - self._edges[-1][0] >= RING_OFF_MS / 1000:
            burst = self._close_burst()
            if burst is None:
                out.append(RingReport("noise", now))
            else:
                self._group.append(burst)
                if cadence_matches(_cadence(self._group), self.country):
                    out.append(self._emit_ring(now))  # the normal ring: say so at once
        if self._group and not self._edges and now - self._group[-1].end >= MAX_GROUP_GAP_MS / 1000:
            out.append(self._emit_ring(now))
        if (self.count and not self._edges and not self._group and self._last_ring_end is not None
                and now - self._last_ring_end >= self._sequence_end_s):
            out.append(RingReport("stopped", now, self.count))
            self.count = 0
            self._last_ring_end = None
        return out

    def _close_burst(self) -> _Burst | None:
        """End the current burst; the burst if it was ringing, None if it was noise."""
        edges, self._edges = self._edges, []
        self.ringing = False
        if len(edges) < RING_ON_ALTERNATIONS:
            return None
        starts = [t for t, active in edges if active] or [t for t, _ in edges]
        periods = [b - a for a, b in zip(starts, starts[1:])]
        if not periods:
            return None
        in_range = [p for p in periods if 1 / MAX_PULSE_HZ <= p <= 1 / MIN_PULSE_HZ]
        if len(in_range) < RATE_OK_FRACTION * len(periods):
            return None
        period = median(periods)
        on_s = starts[-1] - starts[0] + period
        if on_s * 1000 < MIN_BURST_MS:
            return None
        return _Burst(starts[0], on_s)

    def _emit_ring(self, now: float) -> RingReport:
        group, self._group = self._group, []
        self.count += 1
        self._last_ring_end = group[-1].end
        measured = _cadence(group)
        return RingReport("ring", now, self.count, measured,
                          cadence_matches(measured, self.country))


def _cadence(group: list[_Burst]) -> tuple[int, ...]:
    """(on, off, on, ...) in whole ms of a group of bursts."""
    cadence: list[int] = []
    for i, burst in enumerate(group):
        if i:
            cadence.append(int(round((burst.start - group[i - 1].end) * 1000)))
        cadence.append(int(round(burst.on_s * 1000)))
    return tuple(cadence)
