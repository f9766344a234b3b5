"""The call log's outcome says what happened (QA): a caller who reached the mailbox and
said nothing, or whose forward nobody took, was not "handled in the menu"."""

from __future__ import annotations

from firmware.line.sim import HangUp, Press, SimParty, Speak, Wait, WaitForBeep
from tests.ivr.conftest import KNOWN, voice


def test_timed_out_into_voicemail_and_left_nothing(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 60; hangup", number=KNOWN)
    assert "general_vm" in summary.path and "message_dropped" in phone.kinds()
    assert summary.outcome == "voicemail_no_message"
    assert phone.store.calls.get(summary.call_id).outcome == "voicemail_no_message"


def test_a_busy_forward_then_hanging_up_at_the_greeting_is_not_reached(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 2; wait 9; hangup", number=KNOWN,
                            parties={"202": SimParty.busy()})
    assert phone.first("forward_result")["result"] == "busy"
    assert "recording" not in phone.kinds()
    assert summary.outcome == "not_reached"


def test_a_busy_forward_then_a_message_is_voicemail(make_phone) -> None:
    script = [Wait(500), Press("2"), WaitForBeep(30_000), Speak(voice(2.0)), Wait(500), HangUp()]
    phone = make_phone()
    summary, _ = phone.call(script, number=KNOWN, parties={"202": SimParty.busy()})
    assert "message_saved" in phone.kinds()
    assert summary.outcome == "voicemail"
