"""Keys around a forward (QA C1) and the conference's own time bound (QA C2): only the
third party's keys, pressed after our dialling ended, answer the consultation; a
conference is not cut at the call's maximum length while both parties talk."""

from __future__ import annotations

import numpy as np

from firmware.ivr import transfer
from firmware.line.base import ms_to_samples
from firmware.line.sim import Silence, SimLine, SimParty, Speak, parse_script
from tests.ivr.conftest import KNOWN, voice

SALES = "202"
ECHO_GAIN = 0.3  # a poor hybrid: our own audio comes back about 10 dB down


def _with_echo(line: SimLine) -> None:
    """While the box consults a third party, what it sends comes back on rx (echo)."""
    exchange = line.exchange
    step = exchange.step

    def echoing(clock: int, off_hook: bool, box_tx: np.ndarray):
        audio, events = step(clock, off_hook, box_tx)
        if exchange.state == "consult":
            mixed = audio.astype(np.int32) + (box_tx.astype(np.float64) * ECHO_GAIN).astype(np.int32)
            audio = np.clip(mixed, -32768, 32767).astype(np.int16)
        return audio, events

    exchange.step = echoing  # type: ignore[method-assign]


def test_a_key_typed_before_the_forward_does_not_accept_it(make_phone) -> None:
    phone = make_phone()
    # "2" picks sales; the "1" typed right after it is still queued when we dial
    summary, caller = phone.call("wait 0.5; press 21; wait 60; hangup", number=KNOWN,
                                 parties={SALES: SimParty.no_answer()})
    assert phone.first("forward_result")["result"] == "no_answer"
    assert summary.outcome != "forwarded" and caller.outcome != "transferred"
    assert "busy_vm" in summary.path


def test_the_echo_of_our_own_dialling_is_not_an_answer(make_phone) -> None:
    phone = make_phone()
    summary, caller = phone.call("wait 0.5; press 2; wait 60; hangup", number=KNOWN,
                                 parties={SALES: SimParty.no_answer()}, setup=_with_echo)
    assert phone.dialled == ["202"]
    assert phone.first("forward_result")["result"] == "no_answer"
    assert caller.outcome != "transferred"


def test_a_party_pressing_1_on_an_echoing_line_is_still_accepted(make_phone) -> None:
    phone = make_phone()
    party = SimParty.answers("wait 2.5; press 1; wait 20")
    summary, caller = phone.call("wait 0.5; press 2; wait 60; hangup", number=KNOWN,
                                 parties={SALES: party}, setup=_with_echo)
    assert phone.first("forward_result")["result"] == "accepted"
    assert caller.outcome == "transferred"


def _talking_party(seconds: float) -> SimParty:
    return SimParty.answers([Silence(2500), *parse_script("press 1"), Silence(1000),
                             Speak(voice(seconds, level_db=-20), "talking"), Silence(500)])


def test_a_conference_outlasts_the_calls_maximum_length(make_phone) -> None:
    phone = make_phone({"line": {"transfer": "conference"}, "limits": {"max_call_s": 60}})
    summary, caller = phone.call("wait 0.5; press 2; wait 100; hangup", number=KNOWN,
                                 parties={SALES: _talking_party(95)}, three_way_transfer=False)
    assert phone.first("forward_result")["result"] == "accepted"
    assert summary.outcome == "forwarded" and summary.end_reason == "conference_ended"
    assert "max_call_length" not in phone.kinds()
    # the caller still heard the person well after the 60 s limit
    late = [f for at, f in caller.heard_frames if at > caller.connected_at + ms_to_samples(80_000)]
    assert late and max(int(np.abs(f).max()) for f in late) > 1000


def test_a_conference_that_never_ends_is_cut_at_its_own_bound(make_phone, monkeypatch) -> None:
    monkeypatch.setattr(transfer, "CONFERENCE_WATCH_MS", 30_000)
    phone = make_phone({"line": {"transfer": "conference"}, "limits": {"max_call_s": 20}})
    summary, _ = phone.call("wait 0.5; press 2; wait 100; hangup", number=KNOWN,
                            parties={SALES: _talking_party(95)}, three_way_transfer=False)
    assert summary.outcome == "forwarded" and summary.end_reason == "max_call_length"
    assert "max_call_length" in phone.kinds()
