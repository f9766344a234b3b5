"""The simulated caller and the people a transfer reaches.

API:
    SimCaller(script=(), *, caller_id=None, cid_standard=None, max_rings=8,
              noise_dbm0=None, seed=0, name="caller")
        a FarEnd that rings the line first; caller ID (a CallerIdInfo) is sent as the
        real FSK/DTMF signal in the standard's place (None: the country's standard).
        After `max_rings` unanswered rings it gives up. `.outcome` says how its call
        ended: None (in progress), "no_answer", "hung_up", "box_hung_up",
        "transferred" (then `.connected_to` is the SimParty), "dropped".
    SimParty.answers(script=(), rings=2, name=...)    picks up after `rings` rings of
                                                      ringback, then acts out `script`
    SimParty.busy() / SimParty.no_answer()            busy tone / ringback for ever
    SimParty.voicemail(greeting, rings=4, beep=None)  greeting, beep, then listens
        `.kind` is "answers", "busy" or "no_answer"; `.answered_at` the clock it picked up.

A SimParty is reached by `line.dial(number)` after a hook flash; the SimLine maps
numbers to parties (`SimLine(parties={"201": SimParty.answers("wait 1; press 1")})`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from firmware.dsp.callerid import STANDARDS, CallerIdInfo
from firmware.dsp.tones import beep as beep_tone
from firmware.errors import UsageError
from firmware.line.farend import FarEnd
from firmware.line.simscript import Speak, Step

DEFAULT_MAX_RINGS = 8
PARTY_KINDS = ("answers", "busy", "no_answer")


class SimCaller(FarEnd):
    """Someone calling the box: rings, caller ID, then a script."""

    def __init__(self, script: Iterable[Step] | str = (), *,
                 caller_id: CallerIdInfo | None = None, cid_standard: str | None = None,
                 max_rings: int = DEFAULT_MAX_RINGS, noise_dbm0: float | None = None,
                 seed: int = 0, name: str = "caller") -> None:
        super().__init__(script, name=name, noise_dbm0=noise_dbm0, seed=seed)
        if cid_standard is not None and cid_standard not in STANDARDS:
            raise UsageError(f"caller ID standard {cid_standard!r}: use one of {STANDARDS}")
        if max_rings < 1:
            raise UsageError("a caller rings at least once (max_rings >= 1)")
        self.caller_id = caller_id
        self.cid_standard = cid_standard
        self.max_rings = max_rings
        self.rings = 0
        self.outcome: str | None = None
        self.connected_to: SimParty | None = None


class SimParty(FarEnd):
    """A number a transfer can reach; build one with the class methods."""

    def __init__(self, kind: str, script: Iterable[Step] | str = (), *, rings: int = 2,
                 name: str = "party") -> None:
        if kind not in PARTY_KINDS:
            raise UsageError(f"party kind {kind!r}: use one of {PARTY_KINDS}")
        if rings < 0:
            raise UsageError("rings before answer must be zero or more")
        super().__init__(script, name=name)
        self.kind = kind
        self.rings_before_answer = rings
        self.answered_at: int | None = None

    @classmethod
    def answers(cls, script: Iterable[Step] | str = (), rings: int = 2,
                name: str = "party") -> SimParty:
        return cls("answers", script, rings=rings, name=name)

    @classmethod
    def busy(cls, name: str = "busy party") -> SimParty:
        return cls("busy", name=name)

    @classmethod
    def no_answer(cls, name: str = "absent party") -> SimParty:
        return cls("no_answer", name=name)

    @classmethod
    def voicemail(cls, greeting: npt.NDArray[np.int16], rings: int = 4,
                  beep: npt.NDArray[np.int16] | None = None,
                  name: str = "voicemail") -> SimParty:
        tone = beep_tone() if beep is None else beep
        return cls("answers", [Speak(np.asarray(greeting, dtype=np.int16), "greeting"),
                               Speak(tone, "beep")], rings=rings, name=name)
