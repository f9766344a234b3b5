"""The simulated central office, as seen from the box's one analog line.

API:
    Exchange(country="us", parties=None, *, three_way_transfer=True,
             conference_on_flash=True)
        .incoming(caller, clock)     a SimCaller rings the line (queued if it is in use)
        .step(clock, off_hook, box_tx) -> (audio to the box, [LineEvent])   one frame
        .release_now(clock)          the box hung up for good (`line.hangup()`)
        .extension_off_hook(clock) -> ExtensionOffHook
        .state       "idle", "ringing", "talk", "far_gone", "consult", "conference",
                     "outgoing"
        .box_off_hook    the exchange's view of the box's hook switch
        .caller / .leg / .calls (the last CALL_HISTORY callers) / .transfers (likewise)
    Transfer(caller, party, at)

What it models, and why that much: the call engine must be tested against what a
real line does, not against a convenient API. So the ring and the caller ID are
signals on the line (the SimLine decodes the FSK/DTMF like the FXO backend does), a
far-end hang-up is either a loop-current drop (a `Hangup` event) or *only* a tone the
box has to recognise, and a hook flash is just a short on-hook interval the exchange
measures: FLASH_MIN_MS..FLASH_MAX_MS is a flash (recall dial tone, caller on hold),
longer is a release. On release with a party connected, a line with "3-way call
transfer" leaves caller and party talking; without it the held caller rings back.
A second flash conferences a connected party (or, with conference_on_flash=False, or
when the party is not connected, drops it and returns to the caller).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp.callerid import generate as generate_caller_id
from firmware.line.base import (FRAME_SAMPLES, ExtensionOffHook, Frame, Hangup, HangupCause,
                                LineEvent, Ring, ms_to_samples)
from firmware.line.consult import ConsultLeg
from firmware.line.simcaller import SimCaller, SimParty
from firmware.line.simtones import (ToneSource, ring_burst_samples, ring_cadence_ms,
                                     ring_period_samples)

FLASH_MIN_MS = 80.0  # shorter on-hook blips are ignored (contact bounce)
FLASH_MAX_MS = 1100.0  # longer is a release, not a flash
CID_AFTER_RING_MS = 600.0  # Bell 202: starts >= 500 ms after ring 1 ends
CID_BEFORE_RING_MS = 500.0  # ETSI / DTMF / NTT: gap between caller ID and ring 1
FAR_HANGUP_TONE_DELAY_MS = 400.0  # silence before the exchange's reorder / dial tone
CID_LEVEL_DBM0 = -13.0
CALL_HISTORY = 8  # past callers (with all their audio) kept: a long `ivrbox run` must not grow
DEFAULT_CID_STANDARD = {"us": "bell202-mdmf", "cn": "bell202-mdmf", "tw": "bell202-mdmf",
                        "uk": "etsi-v23", "de": "etsi-v23", "jp": "ntt"}

Int16 = npt.NDArray[np.int16]


@dataclass(frozen=True)
class Transfer:
    """The box hung up with the party connected: caller and party now talk directly."""

    caller: SimCaller
    party: SimParty
    at: int


def _mix(*frames: Int16) -> Int16:
    total = np.sum([f.astype(np.int32) for f in frames], axis=0)
    return np.clip(total, -32768, 32767).astype(np.int16)


def _silence() -> Int16:
    return np.zeros(FRAME_SAMPLES, dtype=np.int16)


class Exchange:
    """Ringing, caller ID, the call, far-end hang-up, hook flash and transfer."""

    def __init__(self, country: str = "us", parties: dict[str, SimParty] | None = None, *,
                 three_way_transfer: bool = True, conference_on_flash: bool = True) -> None:
        self.country = country.lower()
        self._period = ring_period_samples(self.country)  # also checks the country
        self.parties = dict(parties or {})
        self.three_way_transfer = three_way_transfer
        self.conference_on_flash = conference_on_flash
        self.state = "idle"
        self.caller: SimCaller | None = None
        self.leg: ConsultLeg | None = None
        self.calls: deque[SimCaller] = deque(maxlen=CALL_HISTORY)
        self.transfers: deque[Transfer] = deque(maxlen=CALL_HISTORY)
        self.box_off_hook = False
        self._waiting: deque[tuple[int, SimCaller]] = deque()
        self._on_hook_since: int | None = None
        self._events: list[LineEvent] = []
        self._cid = np.zeros(0, dtype=np.int16)
        self._cid_at = 0
        self._rings_from = 0
        self._far_tone: ToneSource | None = None
        self._far_tone_at = 0

    @property
    def active(self) -> bool:
        """Something will happen on the line without the box doing anything."""
        return self.state != "idle" or bool(self._waiting)

    @property
    def next_caller_at(self) -> int | None:
        return self._waiting[0][0] if self._waiting else None

    # -- inputs -----------------------------------------------------------------
    def incoming(self, caller: SimCaller, clock: int) -> None:
        self._waiting.append((clock, caller))

    def release_now(self, clock: int) -> None:
        self.box_off_hook = False
        self._on_hook_since = None
        self._release(clock)

    def extension_off_hook(self, clock: int) -> ExtensionOffHook:
        if self.state == "ringing" and self.caller is not None:
            self._end_caller(clock, "extension")  # someone in the office answered
            self.state = "idle"
        return ExtensionOffHook(at=clock)

    def step(self, clock: int, off_hook: bool, box_tx: Frame) -> tuple[Int16, list[LineEvent]]:
        self._events = []
        self._hook(clock, off_hook)
        if self.state == "idle" and self._waiting and clock >= self._waiting[0][0]:
            self._start_ringing(self._waiting.popleft()[1], clock, with_cid=True)
        tx = box_tx if self.box_off_hook else _silence()
        audio = getattr(self, f"_step_{self.state}")(clock, tx)
        return audio, self._events

    # -- hook switch ----------------------------------------------------------------
    def _hook(self, clock: int, off_hook: bool) -> None:
        if off_hook == self.box_off_hook:
            since = self._on_hook_since
            if since is not None and clock - since > ms_to_samples(FLASH_MAX_MS):
                self._on_hook_since = None
                self._release(since)
            return
        self.box_off_hook = off_hook
        if not off_hook:
            in_call = self.state not in ("idle", "ringing")
            self._on_hook_since = clock if in_call else None
            return
        since, self._on_hook_since = self._on_hook_since, None
        if since is None:
            self._seize(clock)
        elif clock - since >= ms_to_samples(FLASH_MIN_MS):
            self._flash(clock)

    def _seize(self, clock: int) -> None:
        if self.state == "ringing" and self.caller is not None:
            self.state = "talk"
            self.caller.connect(clock)
        elif self.state == "idle":
            self.state = "outgoing"
            self.leg = ConsultLeg(self.country, self.parties, clock, recall=False)

    def _flash(self, clock: int) -> None:
        caller_here = self.caller is not None and self.caller.present
        if self.state == "talk":
            self.state = "consult"
            self.leg = ConsultLeg(self.country, self.parties, clock, recall=True)
        elif self.state == "consult" and self.leg is not None:
            if self.leg.connected and caller_here and self.conference_on_flash:
                self.state = "conference"
                return
            self._drop_leg(clock)
            if caller_here:
                self.state = "talk"
            else:
                self._far_gone(clock, "dial_tone")
        elif self.state == "conference":
            self._drop_leg(clock)
            self.state = "talk"

    def _release(self, clock: int) -> None:
        caller, leg = self.caller, self.leg
        caller_here = caller is not None and caller.present
        party = leg.party if leg is not None and leg.connected else None
        if self.state in ("consult", "conference") and caller_here and party is not None \
                and self.three_way_transfer:
            assert caller is not None
            self.transfers.append(Transfer(caller, party, clock))
            caller.connected_to = party
            self._end_caller(clock, "transferred")
            party.leave(clock, "transferred")
            self.leg = None
        elif self.state == "consult" and caller_here:
            assert caller is not None
            self._drop_leg(clock)
            caller.rings = 0
            self._start_ringing(caller, clock, with_cid=False)  # the held caller recalls
            return
        elif self.state in ("talk", "conference"):
            self._drop_leg(clock)
            if caller_here:
                self._end_caller(clock, "box_hung_up")
        elif self.state in ("consult", "outgoing"):
            self._drop_leg(clock)
        if self.state != "ringing":
            self.state = "idle"
            self.caller = None

    # -- per-state frame work -------------------------------------------------------
    def _step_idle(self, clock: int, tx: Int16) -> Int16:
        return _silence()

    def _start_ringing(self, caller: SimCaller, clock: int, with_cid: bool) -> None:
        self.state, self.caller = "ringing", caller
        if not self.calls or self.calls[-1] is not caller:  # a held caller's recall is no new call
            self.calls.append(caller)
        self._cid = np.zeros(0, dtype=np.int16)
        self._rings_from = clock
        if not with_cid or caller.caller_id is None:
            return
        standard = caller.cid_standard or DEFAULT_CID_STANDARD[self.country]
        self._cid = generate_caller_id(caller.caller_id, standard, level_dbm0=CID_LEVEL_DBM0,
                                       alert=standard == "etsi-v23" and self.country == "uk")
        if standard.startswith("bell202"):
            self._cid_at = (clock + ring_burst_samples(self.country)
                            + ms_to_samples(CID_AFTER_RING_MS))
        else:
            self._cid_at = clock
            self._rings_from = clock + len(self._cid) + ms_to_samples(CID_BEFORE_RING_MS)

    def _step_ringing(self, clock: int, tx: Int16) -> Int16:
        caller = self.caller
        assert caller is not None
        cadence = tuple(int(ms) for ms in ring_cadence_ms(self.country)[:-1])
        burst = ring_burst_samples(self.country)
        end = clock + FRAME_SAMPLES
        ring_end = self._rings_from + caller.rings * self._period + burst
        if clock < ring_end <= end:
            caller.rings += 1
            self._events.append(Ring(at=ring_end, count=caller.rings,
                                     cadence_ms=cadence))
        if clock >= self._rings_from + caller.max_rings * self._period:
            self._end_caller(clock, "no_answer")
            self.state, self.caller = "idle", None
        out = _silence()
        lo, hi = max(clock, self._cid_at), min(end, self._cid_at + len(self._cid))
        if lo < hi:
            out[lo - clock:hi - clock] = self._cid[lo - self._cid_at:hi - self._cid_at]
        return out

    def _step_talk(self, clock: int, tx: Int16) -> Int16:
        caller = self.caller
        assert caller is not None
        heard = caller.next_frame(clock)
        if not caller.present:
            self._far_gone(clock, caller.gone_style or "loop_drop")
            return self._step_far_gone(clock, tx)
        caller.hear(clock, tx)
        return heard

    def _far_gone(self, clock: int, style: str) -> None:
        self.state = "far_gone"
        if self.caller is not None and self.caller.outcome is None:
            self.caller.outcome = "hung_up"
        self._far_tone = None
        self._far_tone_at = clock + ms_to_samples(FAR_HANGUP_TONE_DELAY_MS)
        if style == "loop_drop":
            self._events.append(Hangup(at=clock, cause=HangupCause.LOOP_DROP))
        elif style in ("reorder", "dial_tone", "busy"):
            kind = {"dial_tone": "dial", "reorder": "unobtainable"}.get(style, style)
            self._far_tone = ToneSource(kind, self.country)

    def _step_far_gone(self, clock: int, tx: Int16) -> Int16:
        if self._far_tone is None or clock < self._far_tone_at:
            return _silence()
        return self._far_tone.frame()

    def _step_consult(self, clock: int, tx: Int16) -> Int16:
        caller, leg = self.caller, self.leg
        assert leg is not None
        if caller is not None and caller.present:
            caller.next_frame(clock)  # the caller's script goes on while on hold
            if caller.present:
                caller.hear(clock, _silence())
        return leg.frame(clock, tx)

    _step_outgoing = _step_consult

    def _step_conference(self, clock: int, tx: Int16) -> Int16:
        caller, leg = self.caller, self.leg
        assert caller is not None and leg is not None
        voice = caller.next_frame(clock)
        if not caller.present:
            self.state = "consult"
            return leg.frame(clock, tx)
        party_voice = leg.frame(clock, _mix(tx, voice))
        if not leg.connected:
            self._drop_leg(clock)
            self.state = "talk"
        caller.hear(clock, _mix(tx, party_voice))
        return _mix(voice, party_voice)

    # -- helpers --------------------------------------------------------------------
    def _drop_leg(self, clock: int) -> None:
        if self.leg is not None:
            self.leg.drop(clock)
            self.leg = None

    def _end_caller(self, clock: int, outcome: str) -> None:
        if self.caller is not None:
            if self.caller.outcome is None:
                self.caller.outcome = outcome
            self.caller.leave(clock, outcome)
