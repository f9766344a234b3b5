"""The forward node over the simulated exchange: flash, recall dial tone, dialling as
DTMF audio, ringback/busy, the "press 1 to accept" whisper, transfer or conference."""

from __future__ import annotations

import numpy as np

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.line.sim import Silence, SimParty, Speak, parse_script
from tests.ivr.conftest import CLOSED, KNOWN, voice

SALES, RECEPTION, NIGHT = "202", "201", "203"
TO_SALES = "wait 0.5; press 2; wait 60; hangup"


def test_answered_and_accepted_with_1_is_transferred(make_phone) -> None:
    phone = make_phone()
    hello = phone.speech("Hello, this is Anne in sales.")
    party = SimParty.answers([Speak(hello, "hello"), Silence(3000),
                              *parse_script("press 1; wait 20")])
    summary, caller = phone.call(TO_SALES, number=KNOWN, parties={SALES: party})
    assert phone.first("forward_result")["result"] == "accepted"
    assert summary.outcome == "forwarded" and summary.end_reason == "transferred"
    assert phone.dialled == ["202"]
    assert caller.outcome == "transferred" and caller.connected_to is party
    assert "Office call, press 1." in phone.texts()  # the whisper
    assert phone.first("forward_answered")["how"] == "voice"


def test_a_silent_pick_up_that_presses_1_is_accepted(make_phone) -> None:
    phone = make_phone()
    party = SimParty.answers("wait 2.5; press 1; wait 20")
    summary, caller = phone.call(TO_SALES, number=KNOWN, parties={SALES: party})
    assert phone.first("forward_result")["result"] == "accepted"
    assert caller.outcome == "transferred"


def test_busy_goes_back_to_the_caller_and_plays_the_busy_greeting(make_phone) -> None:
    phone = make_phone()
    summary, caller = phone.call("wait 0.5; press 2; wait 25; hangup", number=KNOWN,
                                 parties={SALES: SimParty.busy()})
    assert phone.first("forward_result")["result"] == "busy"
    assert "busy_vm" in summary.path
    assert any(t.startswith("General is on another call") for t in phone.texts())
    assert caller.outcome != "transferred"


def test_no_answer_within_the_ring_timeout(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 2; wait 50; hangup", number=KNOWN,
                            parties={SALES: SimParty.no_answer()})
    result = phone.first("forward_result")
    assert result["result"] == "no_answer"
    dial_t = phone.first("forward_dial")["t_ms"]
    assert 20_000 <= result["t_ms"] - dial_t <= 23_000  # ring_timeout_s 20 (+ dialling)
    assert any(t.startswith("General is not available") for t in phone.texts())
    assert "busy_vm" in summary.path


def test_declined_with_another_key(make_phone) -> None:
    phone = make_phone()
    party = SimParty.answers("wait 2.5; press 2; wait 10")
    summary, caller = phone.call(TO_SALES, number=KNOWN, parties={SALES: party})
    assert phone.first("forward_result")["result"] == "declined"
    assert party.gone_style is not None  # the box dropped them...
    assert caller.outcome == "box_hung_up"  # ...and took the caller back (not joined)
    assert "busy_vm" in summary.path


def test_a_mobile_voicemail_that_never_presses_1_does_not_take_the_call(make_phone) -> None:
    phone = make_phone()
    greeting = phone.speech("Hi, you have reached Anne. Please leave a message after the tone.")
    mobile = SimParty.voicemail(greeting, rings=3)
    summary, caller = phone.call(TO_SALES, number=KNOWN, parties={SALES: mobile})
    assert phone.first("forward_result")["result"] == "declined"
    assert caller.outcome == "box_hung_up" and mobile.gone_style is not None
    assert "busy_vm" in summary.path and summary.outcome != "forwarded"


def test_outside_the_persons_hours_nobody_is_dialled(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 9; wait 20; hangup", number=KNOWN,
                            parties={NIGHT: SimParty.answers("wait 1; press 1")})
    assert phone.first("forward_result")["result"] == "outside_hours"
    assert phone.dialled == []
    assert "general_vm" in summary.path


def test_inside_the_persons_hours_they_are_dialled(make_phone) -> None:
    phone = make_phone()
    phone.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})  # reach the menu
    party = SimParty.answers("wait 2.5; press 1; wait 10")
    summary, caller = phone.call("wait 0.5; press 9; wait 20; hangup", number=KNOWN,
                                 parties={NIGHT: party}, when=CLOSED.replace(hour=19))
    assert phone.first("forward_result")["result"] == "accepted"
    assert phone.dialled == ["203"] and caller.connected_to is party


def test_conference_mode_on_a_line_without_3_way_transfer(make_phone) -> None:
    phone = make_phone({"line": {"transfer": "conference"}})
    party_voice = voice(1.0, level_db=-20)
    party = SimParty.answers([Silence(2500), *parse_script("press 1"),
                              Silence(3000), Speak(party_voice, "talking"), Silence(3000)])
    summary, caller = phone.call("wait 0.5; press 2; wait 40; hangup", number=KNOWN,
                                 parties={SALES: party}, three_way_transfer=False)
    assert phone.first("forward_result")["result"] == "accepted"
    assert summary.outcome == "forwarded"
    assert summary.end_reason == "conference_ended"
    # the caller heard the person (the box conferenced, then stayed until the end)
    heard = caller.heard()
    assert np.abs(heard).max() > 1000
    # everyone left at 40 s; the box noticed by the silence and hung up a minute later
    assert phone.first("conference_quiet")["t_ms"] < 40_000 + 65_000


def test_only_configured_numbers_are_ever_dialled(make_phone) -> None:
    phone = make_phone()
    fraud = SimParty.answers("wait 1; press 1; wait 20", name="premium line")
    # the caller keys a number during the connecting prompt and while on hold
    summary, _ = phone.call("wait 0.5; press 2; press 0900123456#; wait 3; press 0900123456; "
                            "wait 40; hangup", number=KNOWN,
                            parties={SALES: SimParty.busy(), "0900123456": fraud})
    # busy, so the caller reached the voicemail greeting, where their "0" means operator:
    # the only numbers dialled are the configured ones (sales, then reception)
    assert phone.dialled and set(phone.dialled) <= {"202", "201"}
    assert fraud.connected_at is None


def test_a_silent_pick_up_is_noticed_when_the_ringback_stops(make_phone) -> None:
    phone = make_phone()
    # picks up without a word or a key; presses 1 only once the whisper has been said
    party = SimParty.answers("wait 9; press 1; wait 10")
    summary, caller = phone.call(TO_SALES, number=KNOWN, parties={SALES: party})
    answered = phone.first("forward_answered")
    assert answered["how"] == "ringback_stopped"
    assert "Office call, press 1." in phone.texts()
    assert phone.first("forward_result")["result"] == "accepted"
    assert caller.outcome == "transferred"
