"""The second leg of a transfer on the simulated exchange: dial tone, digits, a party.

API:
    ConsultLeg(country, parties, clock, recall=True)
        .frame(clock, box_tx) -> int16    what the box hears from this leg this frame,
                                          given what the box sent (the party hears it)
        .state      "dialtone", "routing", "ringing", "connected", "busy", "reorder",
                    "party_gone"
        .digits     what the exchange decoded from the box's DTMF so far
        .party      the SimParty reached (None before routing / for unknown numbers)
        .connected  True while the party is on the line
        .drop(clock, how)                 the exchange releases this leg

The exchange listens to the box's *audio* for digits (a DTMF receiver on the recall
path), as a real central office does, so `line.dial()` is tested end to end. A number
is routed as soon as it matches a known party, or when no key came for
`DIGIT_TIMEOUT_MS`; a number nobody has gets reorder (number unobtainable).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from firmware.dsp.dtmf import DtmfDetector, KeyDown
from firmware.line.base import FRAME_SAMPLES, Frame, ms_to_samples
from firmware.line.simcaller import SimParty
from firmware.line.simtones import ToneSource, ring_burst_samples, ring_period_samples

DIGIT_TIMEOUT_MS = 4000.0  # inter-digit time-out: route what we have
PERMANENT_SIGNAL_MS = 10_000.0  # dial tone with no key at all: give up, reorder
ANSWER_IN_GAP_MS = 500.0  # a party picks up this long after its last ring burst


class ConsultLeg:
    """From (recall) dial tone to a party, as the box hears it."""

    def __init__(self, country: str, parties: dict[str, SimParty], clock: int,
                 recall: bool = True) -> None:
        self.country = country
        self.parties = parties
        self.state = "dialtone"
        self.digits = ""
        self.party: SimParty | None = None
        self._tone: ToneSource | None = ToneSource("recall_dial" if recall else "dial",
                                                   country)
        self._detector = DtmfDetector()
        self._since = clock  # start of the current state
        self._last_key = clock
        self._key_down = False
        self._answer_at = 0

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def frame(self, clock: int, box_tx: Frame) -> npt.NDArray[np.int16]:
        if self.state in ("dialtone", "routing"):
            self._collect(clock, box_tx)
        if self.state == "ringing" and self.party is not None and clock >= self._answer_at:
            self.state = "connected"
            self.party.answered_at = clock
            self.party.connect(clock)
            self._tone = None
        if self.state == "connected":
            assert self.party is not None
            heard = self.party.next_frame(clock)
            self.party.hear(clock, box_tx)
            if not self.party.present:
                self.state = "party_gone"
                return np.zeros(FRAME_SAMPLES, dtype=np.int16)
            return heard
        if self._tone is None:
            return np.zeros(FRAME_SAMPLES, dtype=np.int16)
        return self._tone.frame()

    def drop(self, clock: int, how: str = "dropped") -> None:
        if self.party is not None and self.party.present:
            self.party.leave(clock, how)
        self._tone = None
        self.state = "party_gone" if self.party is not None else "reorder"

    def _collect(self, clock: int, box_tx: Frame) -> None:
        for event in self._detector.feed(box_tx):
            if isinstance(event, KeyDown):
                self.digits += event.digit
                self._key_down = True
                self._last_key = clock
                self._tone = None  # dial tone stops at the first key
                self.state = "routing"
            else:
                self._key_down = False
                self._last_key = clock
        if self.state == "dialtone":
            if clock - self._since >= ms_to_samples(PERMANENT_SIGNAL_MS):
                self._route(clock, unknown=True)
        elif self.digits in self.parties and not self._key_down:
            self._route(clock)  # a known number: route when its last key is released
        elif clock - self._last_key >= ms_to_samples(DIGIT_TIMEOUT_MS):
            self._route(clock)

    def _route(self, clock: int, unknown: bool = False) -> None:
        party = None if unknown else self.parties.get(self.digits)
        self.party = party
        self._since = clock
        if party is None:
            self.state, self._tone = "reorder", ToneSource("unobtainable", self.country)
        elif party.kind == "busy":
            self.state, self._tone = "busy", ToneSource("busy", self.country)
        else:
            self.state, self._tone = "ringing", ToneSource("ringback", self.country)
            if party.kind == "no_answer":
                self._answer_at = np.iinfo(np.int64).max
            else:
                burst = ring_burst_samples(self.country)
                rings = party.rings_before_answer
                self._answer_at = clock + (
                    0 if rings == 0 else (rings - 1) * ring_period_samples(self.country)
                    + burst + ms_to_samples(ANSWER_IN_GAP_MS))
