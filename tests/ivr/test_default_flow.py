"""End to end on the shipped default config: keys as DTMF audio, the engine on a SimLine."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.dsp.tones import sine_mix
from firmware.line.sim import Silence, SimParty, Speak
from firmware.voicemail.recorder import read_wav_samples

from tests.ivr.conftest import CLOSED, OPEN, Phone

SALES = "0200000002"
RECEPTION = "0200000001"
NIGHT = OPEN.replace(hour=22)  # a Tuesday, 22:00 in Taipei


def _voice(seconds: float) -> np.ndarray:
    """A voice-like signal: a few harmonics, loud enough not to count as silence."""
    return sine_mix([180, 360, 540, 900], seconds * 1000, [-18, -22, -26, -30])


def test_caller_id_and_a_menu_choice_by_dtmf_audio(phone: Phone) -> None:
    summary, _ = phone.call("wait 1; press 9; wait 2; press 1; wait 25; hangup", number="0912345678")
    assert summary.caller_number == "0912345678"
    assert summary.path[:4] == ("welcome", "office_hours", "main_menu", "info")
    assert phone.first("language")["language"] == "en"


def test_voicemail_keeps_the_message_and_trims_the_exchange_tone(phone: Phone, tmp_path) -> None:
    voice = tmp_path / "voice.wav"
    from firmware.dsp.audiofile import write_wav

    write_wav(voice, _voice(4.0))
    summary, _ = phone.call(f"wait 1; press 93; waitbeep; speak {voice}; hangup reorder")
    assert summary.outcome == "voicemail"
    assert summary.end_reason == "caller_hangup:reorder"
    message = phone.box.store.messages.list("support")[0]
    audio = read_wav_samples(phone.box.store.data.absolute(message.path))
    # 4 s of voice; the reorder tone after it is cut off (within a frame or two)
    assert 3900 <= message.duration_ms <= 4400, message.duration_ms
    assert len(audio) == message.duration_ms * 8


def test_after_hours_goes_to_the_closed_message_then_voicemail(phone: Phone) -> None:
    summary, _ = phone.call("wait 40; hangup", when=CLOSED)
    assert summary.path[:4] == ("welcome", "office_hours", "closed", "general_voicemail")


def test_forward_accepted_with_the_whisper_key(phone: Phone) -> None:
    party = SimParty.answers("wait 3; press 1; wait 10")
    summary, _ = phone.call("wait 1; press 2; wait 60", parties={SALES: party})
    assert summary.outcome == "forwarded" and summary.end_reason == "transferred"
    assert phone.first("forward_result")["result"] == "accepted"


def test_forward_busy_falls_back_to_voicemail(phone: Phone) -> None:
    summary, _ = phone.call("wait 1; press 2; wait 40; hangup", parties={SALES: SimParty.busy()})
    assert phone.first("forward_result")["result"] == "busy"
    assert "general_voicemail" in summary.path


def test_a_mobile_voicemail_never_takes_the_call(phone: Phone) -> None:
    # answers and talks, never presses 1: the whisper check refuses it
    party = SimParty.answers([Speak(_voice(3.0), "hello, leave a message"), Silence(20000)])
    summary, _ = phone.call("wait 1; press 2; wait 60; hangup", parties={SALES: party})
    assert phone.first("forward_result")["result"] in ("declined", "no_answer")
    assert "general_voicemail" in summary.path


@pytest.mark.parametrize("when, night_mode", [(NIGHT, False), (OPEN, True)], ids=["22h", "night-mode"])
def test_zero_at_night_rings_nobody_and_the_caller_can_still_leave_a_message(
        phone: Phone, tmp_path, when, night_mode: bool) -> None:
    """Issue 4: 0 during the closed-time mailbox greeting reaches the flow's operator at
    any hour; at 22:00 (or in office hours with the owner's night mode on) it must not
    ring the reception mobile, and the caller can still leave a message (the default's
    operator_hours sends it back to the mailbox)."""
    from firmware.dsp.audiofile import write_wav
    from firmware.ivr.nodes import OVERRIDE_KEY

    if night_mode:
        phone.store.kv.set(OVERRIDE_KEY, {"mode": "closed", "until_ms": None})
    voice = tmp_path / "voice.wav"
    write_wav(voice, _voice(4.0))
    # the greeting starts ~27 s in; 0 during it; # skips the second greeting to the beep
    summary, _ = phone.call(f"wait 30; press 0; wait 3; press #; wait 1.5; speak {voice}; hangup",
                            when=when, parties={RECEPTION: SimParty.answers("wait 3; press 1; wait 10")})
    assert phone.first("operator")["node"] == "general_voicemail"  # 0 in the greeting
    assert phone.dialled == [] and not phone.of("forward_dial") and not phone.of("forward_result")
    assert summary.path[2:] == ("closed", "general_voicemail", "operator_hours", "general_voicemail")
    assert summary.outcome == "voicemail"
    (message,) = phone.box.store.messages.list("general")
    assert 3900 <= message.duration_ms <= 5500, message.duration_ms


def test_zero_in_office_hours_still_reaches_reception(phone: Phone) -> None:
    party = SimParty.answers("wait 3; press 1; wait 10")
    summary, _ = phone.call("wait 1; press 9; wait 2; press 0; wait 60", parties={RECEPTION: party})
    assert phone.dialled == [RECEPTION]
    assert summary.outcome == "forwarded" and summary.path[-2:] == ("operator_hours", "operator")
