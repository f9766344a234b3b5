"""TTY/TDD callers end to end on the SimLine: the caller "types" by sending Baudot audio
(our modulator; minimodem checks it in tests/dsp), and reads what the box sent by
decoding `caller.heard()` with the Baudot decoder and with minimodem. US TTYs send at
45.45 baud, European ones at 50; a call listens for both and answers at the caller's."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.dsp.baudot import LEAD_MS, TTY_BAUD_EU, TTY_BAUD_US, decode_text, modulate
from firmware.ivr.tty import ECHO_TAIL_MS, TtyWatch, lines, send
from firmware.line.base import FRAME_SAMPLES, ms_to_samples, samples_to_ms
from firmware.line.sim import Silence, Speak, parse_script
from tests.dsp import minimodem, talkoff
from tests.ivr.conftest import CLOSED, DELETE, KNOWN

DETECT_LIMIT_MS = 600.0  # issue 8: a TTY caller recognised within 600 ms of their first character
BAUDS = [TTY_BAUD_US, TTY_BAUD_EU]


def typing(text: str, level_dbm0: float = -20.0, baud: float = TTY_BAUD_US) -> Speak:
    return Speak(modulate(text, baud=baud, dbm0=level_dbm0), f"tty:{text}")


def flat(text: str) -> str:
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def box_text(caller, baud: float = TTY_BAUD_US) -> str:
    """What the box sent, as a TTY would print it (without CR/LF)."""
    return flat(decode_text(caller.heard(), baud=baud))


@pytest.mark.parametrize("baud", BAUDS)
def test_menu_then_voicemail_as_typed_text(make_phone, baud: float) -> None:
    phone = make_phone()
    script = [Silence(1500), typing("HELLO GA", baud=baud), Silence(15_000),
              typing("3", baud=baud), Silence(20_000),
              typing("PLEASE CALL ME BACK AT 555-1234 SK", baud=baud),
              Silence(15_000), *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN)
    heard = box_text(caller, baud)
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
    assert tty_event["baud"] == baud  # the call locked to the caller's rate
    assert phone.first("choice")["tty"] is True
    stored = {e.kind for e in phone.store.calls.events(summary.call_id)}
    assert {"tty", "tty_sent", "message_saved"} <= stored
    # speaking stopped: the main prompt began, then only text followed
    assert phone.prompts_played() == ["main"]
    if minimodem.available():  # an independent TTY at the caller's rate prints it too
        printed = flat(minimodem.receive(caller.heard(), baud))
        assert "MAIN MENU. PRESS ONE TO NINE. GA" in printed
        assert "YOUR MESSAGE HAS BEEN SAVED. THANK YOU." in printed


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


def test_the_announcement_goes_out_at_the_countrys_rate(make_phone) -> None:
    phone = make_phone({"business": {"announce_tty": True, "country": "uk"}})
    summary, caller = phone.call("wait 12; press 1; wait 5; hangup", number=KNOWN)
    assert "TTY USERS: PRESS ANY KEY GA" in box_text(caller, TTY_BAUD_EU)
    assert "TTY USERS" not in box_text(caller, TTY_BAUD_US)


@pytest.mark.parametrize("baud", BAUDS)
@pytest.mark.parametrize("level", [-30.0, -20.0, -6.0])
@pytest.mark.parametrize("offset_ms", [0.0, 7.0, 13.0])
def test_a_tty_is_recognised_within_600_ms_of_its_first_character(baud, level, offset_ms) -> None:
    watch = TtyWatch()
    quiet = np.zeros(ms_to_samples(1000 + offset_ms), dtype=np.int16)
    signal = np.concatenate([quiet, modulate("K", baud=baud, dbm0=level),
                             np.zeros(8000, np.int16)])
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
    k_start = first_char + ms_to_samples(8 * 1000 / baud)
    assert abs(watch.first_char_at - k_start) <= ms_to_samples(10)
    assert watch.baud == baud


class EchoCall:
    """What `send` needs of a call, on a line whose hybrid returns our audio 15 dB down
    (the SimLine has no echo): every frame played is heard back by the call's TtyWatch."""

    def __init__(self, watch: TtyWatch) -> None:
        self.tty = watch
        self.now = 0
        self.sent: list[np.ndarray] = []

    def hear(self, audio: np.ndarray) -> bool:
        woke = False
        for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            woke |= self.tty.feed(audio[i:i + FRAME_SAMPLES], self.now)
            self.now += FRAME_SAMPLES
        return woke

    async def play(self, audio: np.ndarray, barge_in: bool = True, quiet: bool = False) -> bool:
        assert quiet, "TTY text is logged as tty_sent, not as a prompt too"
        self.sent.append(audio)
        pad = (-len(audio)) % FRAME_SAMPLES
        echo = np.concatenate([audio, np.zeros(pad, np.int16)]).astype(np.float64) * 10 ** (-15 / 20)
        assert not self.hear(np.round(echo).astype(np.int16)), "our own echo woke text mode"
        return False

    async def pause(self, ms: float) -> None:
        self.hear(np.zeros(ms_to_samples(ms), np.int16))


def test_our_announcements_echo_neither_wakes_text_mode_nor_fixes_the_rate() -> None:
    import asyncio

    call = EchoCall(TtyWatch(country="us"))
    assert call.tty.baud == TTY_BAUD_US  # before a TTY is heard: the country's rate
    asyncio.run(send(call, "TTY users: press any key"))
    assert decode_text(call.sent[0], baud=TTY_BAUD_US).strip().startswith("TTY USERS")
    assert not call.tty.heard
    # then a European TTY types: heard, and the box answers at 50 baud
    assert call.hear(np.concatenate([modulate("HELLO GA", baud=TTY_BAUD_EU, dbm0=-20),
                                     np.zeros(ms_to_samples(ECHO_TAIL_MS), np.int16)]))
    assert call.tty.baud == TTY_BAUD_EU and call.tty.take() == "ELLO GA"
    asyncio.run(send(call, "Main menu"))
    assert "MAIN MENU GA" in flat(decode_text(call.sent[1], baud=TTY_BAUD_EU))


@pytest.mark.skipif(not talkoff.have_tools(), reason="espeak-ng and sox make the talk-off material")
def test_no_tty_detected_on_talk_off_speech_and_music() -> None:
    material = {"english": talkoff.english_speech(), "mandarin": talkoff.mandarin_speech(),
                **{f"music{seed}": talkoff.sox_music(seed, 20.0) for seed in range(3)}}
    for name, audio in material.items():
        watch = TtyWatch()  # listening at 45.45 and 50, as every call does
        for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            assert not watch.feed(audio[i:i + FRAME_SAMPLES], i), name


@pytest.mark.skipif(not talkoff.have_tools(), reason="espeak-ng and sox make the talk-off material")
def test_no_tty_and_no_characters_on_the_dtmf_talk_off_corpus() -> None:
    """The DTMF talk-off material (tests/dsp/talkoff.py: six sox tunes, and the Debian
    recordings when installed, a third of the syllables as in test_dtmf_talkoff): no TTY
    at either rate and nothing typed. Fed a second at a time (the decoder gives the
    same for any feed sizes; the test above feeds 20 ms frames as calls do)."""
    material = {f"sox-music-{seed}": talkoff.sox_music(seed) for seed in range(6)}
    gap = np.zeros(400, dtype=np.int16)
    for source in ("recorded_speech", "recorded_music", "mandarin_syllables"):
        files = getattr(talkoff, source)()
        if source == "mandarin_syllables":
            files = files[::3]
        if files:
            material[source] = np.concatenate([np.concatenate([talkoff.read_8k(f), gap])
                                               for f in files])
    for name, audio in material.items():
        watch = TtyWatch()
        for i in range(0, len(audio), 8000):
            assert not watch.feed(audio[i:i + 8000], i), (name, i / 8000)
        assert not watch.heard and watch.take() == "", name


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


def test_a_tty_caller_reaches_the_operator_with_0_as_a_voice_caller_does(make_phone) -> None:
    phone = make_phone()
    script = [Silence(1000), typing("GA"), Silence(10_000), typing("0"), Silence(30_000),
              *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN)
    operator = phone.first("operator")
    assert operator["tty"] is True and operator["node"] == "main"
    # the operator is a forward: in text it goes to its fallback without dialling
    assert phone.dialled == []
    assert summary.path[1:4] == ("main", "operator", "general_vm")
    assert "TYPE YOUR MESSAGE" in box_text(caller)


def test_more_time_in_a_tty_menu_waits_again_without_using_an_attempt(make_phone) -> None:
    phone = make_phone({"flow": {"nodes": {"main": {"retries": 1}}}})
    script = [Silence(1000), typing("GA"), Silence(10_000), typing("#"), Silence(40_000),
              typing("3"), Silence(20_000), *parse_script("hangup")]
    summary, caller = phone.call(script, number=KNOWN)
    assert phone.first("more_time")["tty"] is True
    # with one attempt: "#" (not an option) used none, and the turn began again
    assert phone.of("timeout") == [] and phone.of("invalid") == []
    assert summary.path[1:3] == ("main", "support_vm")
    assert "TAKE YOUR TIME. GA" in box_text(caller)


def test_a_menu_with_no_english_text_is_written_out_from_its_keys(make_phone) -> None:
    """A box set up in Chinese only still gives a TTY caller something to choose from."""
    phone = make_phone({"business": {"languages": ["zh-TW"], "default_language": "zh-TW"},
                        "prompts": {"main": {"en": None}},
                        "flow": {"nodes": {"lang": {"options": {"9": DELETE}}}}})
    script = [Silence(1000), typing("GA"), Silence(45_000), typing("3"), Silence(20_000),
              *parse_script("hangup")]  # ten choices at 45.45 baud take a while to print
    summary, caller = phone.call(script, number=KNOWN)
    heard = box_text(caller)
    assert "FOR SUPPORT, TYPE 3." in heard and "FOR THE OPERATOR, TYPE 0. GA" in heard
    assert summary.path[1:3] == ("main", "support_vm")
