"""TTY/TDD callers end to end on the SimLine: the caller "types" by sending Baudot audio
(our modulator; minimodem checks it in tests/dsp), and reads
what the box sent by decoding `caller.heard()` with the Baudot decoder."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.dsp.baudot import LEAD_MS, TTY_BAUD_US, decode_text, modulate
from firmware.ivr.tty import TtyWatch, lines
from firmware.line.base import FRAME_SAMPLES, ms_to_samples, samples_to_ms
from firmware.line.sim import Silence, Speak, parse_script
from tests.dsp import talkoff
from tests.ivr.conftest import CLOSED, KNOWN

DETECT_LIMIT_MS = 600.0  # issue 8: a TTY caller recognised within 600 ms of their first character


def typing(text: str, level_dbm0: float = -20.0) -> Speak:
    return Speak(modulate(text, dbm0=level_dbm0), f"tty:{text}")


def box_text(caller) -> str:
    """What the box sent, as a TTY would print it (without CR/LF)."""
    return " ".join(decode_text(caller.heard()).replace("\r", " ").replace("\n", " ").split())


def test_menu_then_voicemail_as_typed_text(make_phone) -> None:
    phone = make_phone()
    script = [Silence(1500), typing("HELLO GA"), Silence(15_000), typing("3"),
              Silence(20_000), typing("PLEASE CALL ME BACK AT 555-1234 SK"),
              Silence(15_000), *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN)
    heard = box_text(caller)
    assert "MAIN MENU. PRESS ONE TO NINE. GA" in heard
    assert "SUPPORT IS NOT AVAILABLE. PLEASE TYPE YOUR MESSAGE. END WITH SK. GA" in heard
    assert "YOUR MESSAGE HAS BEEN SAVED. THANK YOU." in heard
    assert heard.endswith("SK")
    # the message is stored as text, in the right mailbox, with the caller's number
    [message] = phone.box.services.voicemail.list("support")
    assert message.text == "PLEASE CALL ME BACK AT 555-1234"
    assert message.path is None and message.caller_number == KNOWN
    assert summary.outcome == "voicemail" and summary.path[-2:] == ("support_vm", "bye")
    # the call log says it was a TTY call and how fast it was recognised
    tty_event = phone.first("tty")
    assert tty_event["latency_ms"] <= DETECT_LIMIT_MS
    assert phone.first("choice")["tty"] is True
    stored = {e.kind for e in phone.store.calls.events(summary.call_id)}
    assert {"tty", "tty_sent", "message_saved"} <= stored
    # speaking stopped: the main prompt began, then only text followed
    assert phone.prompts_played() == ["main"]


def test_the_menu_prompt_stops_when_a_tty_is_heard(make_phone) -> None:
    phone = make_phone()
    script = [Silence(700), typing("A"), Silence(12_000), *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN)
    at = phone.first("tty")["t_ms"]
    # the prompt ("Main menu. Press one to nine.", ~2.5 s) was cut within a frame of detection
    heard = caller.heard()
    start = ms_to_samples(at)
    speech_after = heard[start: start + ms_to_samples(100)]
    assert at < 2000
    assert decode_text(speech_after) == ""
    assert "MAIN MENU" in box_text(caller)


def test_announce_tty_after_the_spoken_greeting(make_phone) -> None:
    phone = make_phone({"business": {"announce_tty": True}})
    summary, caller = phone.call("wait 12; press 1; wait 5; hangup", number=KNOWN)
    assert "TTY USERS: PRESS ANY KEY GA" in box_text(caller)
    assert "tty_announced" in phone.kinds()
    assert "tty" not in phone.kinds()  # a voice caller stays a voice caller
    assert phone.first("choice")["keys"] == "1"


def test_no_announcement_by_default_and_no_tty_on_speech(make_phone) -> None:
    phone = make_phone()
    speech = phone.speech("Hello, I would like to ask about your opening hours on Saturday, "
                          "and whether I need an appointment.")
    summary, caller = phone.call([Silence(500), Speak(speech, "talk"), *parse_script(
        "wait 1; press 1; wait 4; hangup")], number=KNOWN)
    assert "tty" not in phone.kinds() and "tty_announced" not in phone.kinds()
    assert phone.first("choice")["keys"] == "1"


@pytest.mark.parametrize("level", [-30.0, -20.0, -6.0])
@pytest.mark.parametrize("offset_ms", [0.0, 7.0, 13.0])
def test_a_tty_is_recognised_within_600_ms_of_its_first_character(level, offset_ms) -> None:
    watch = TtyWatch()
    quiet = np.zeros(ms_to_samples(1000 + offset_ms), dtype=np.int16)
    signal = np.concatenate([quiet, modulate("K", dbm0=level), np.zeros(8000, np.int16)])
    first_char = len(quiet) + ms_to_samples(LEAD_MS)  # the start bit of the first character
    heard_at = None
    for i in range(0, len(signal) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        if watch.feed(signal[i:i + FRAME_SAMPLES], i):
            heard_at = i + FRAME_SAMPLES
            break
    assert heard_at is not None
    latency = samples_to_ms(heard_at - first_char)
    assert latency <= DETECT_LIMIT_MS, latency
    # the first code on the wire is LTRS (a shift, not printed); "K" follows one
    # character time (start + 5 data + 2 stop bits) later
    k_start = first_char + ms_to_samples(8 * 1000 / TTY_BAUD_US)
    assert abs(watch.first_char_at - k_start) <= ms_to_samples(10)


@pytest.mark.skipif(not talkoff.have_tools(), reason="espeak-ng and sox make the talk-off material")
def test_no_tty_detected_on_talk_off_speech_and_music() -> None:
    material = {"english": talkoff.english_speech(), "mandarin": talkoff.mandarin_speech(),
                **{f"music{seed}": talkoff.sox_music(seed, 20.0) for seed in range(3)}}
    for name, audio in material.items():
        watch = TtyWatch()
        for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            assert not watch.feed(audio[i:i + FRAME_SAMPLES], i), name


def test_text_is_sent_in_short_baudot_safe_lines() -> None:
    text = lines("For sales press 1, for support press 2 # and * work too. Ünïcode 營業")
    assert all(len(line) <= 32 for line in text.split("\r\n"))
    assert "POUND" in text and "STAR" in text and "Ü" not in text


def test_the_typed_message_goes_to_webhooks_and_e_mail_as_text(make_phone) -> None:
    from firmware.notify.email import EMAIL_KIND
    from firmware.notify.webhook import WEBHOOK_KIND

    phone = make_phone({
        "smtp": {"host": "127.0.0.1", "port": 2525, "security": "none", "sender": "box@example.com"},
        "mailboxes": {"support": {"email": ["support@example.com"]}},
        "webhooks": {"office": {"url": "http://127.0.0.1:9/in", "secret": "a-webhook-secret-0123"}},
    })
    script = [Silence(1500), typing("HI GA"), Silence(15_000), typing("3"), Silence(20_000),
              typing("NEED HELP SK"), Silence(15_000), *parse_script("hangup")]
    phone.call(script, number=KNOWN)
    hooks = {j.payload["event"]["event"]: j.payload["event"]["data"]
             for j in phone.store.jobs.list() if j.kind == WEBHOOK_KIND}
    assert hooks["tty_message"]["text"] == "NEED HELP"
    [mail] = [j.payload for j in phone.store.jobs.list() if j.kind == EMAIL_KIND]
    assert "NEED HELP" in str(mail)


def test_a_tty_heard_during_the_voicemail_greeting_leaves_a_typed_message(make_phone) -> None:
    phone = make_phone()
    # closed: "We are closed." then the general mailbox's spoken greeting
    script = [Silence(3500), typing("GA"), Silence(14_000), typing("OPEN TOMORROW? SK"),
              Silence(15_000), *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN, when=CLOSED)
    assert "general_vm" in summary.path
    [message] = phone.box.services.voicemail.list("general")
    assert message.text == "OPEN TOMORROW?"
    assert "GENERAL IS NOT AVAILABLE. PLEASE TYPE YOUR MESSAGE" in box_text(caller)


def test_a_forward_in_text_goes_to_its_fallback_without_dialling(make_phone) -> None:
    phone = make_phone()
    script = [Silence(1000), typing("GA"), Silence(10_000), typing("2"), Silence(30_000),
              *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN)
    assert phone.dialled == []
    assert phone.first("forward_result")["outcome"] == "tty_caller"
    assert "busy_vm" in summary.path
    assert "TYPE YOUR MESSAGE" in box_text(caller)
