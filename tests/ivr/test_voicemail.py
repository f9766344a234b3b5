"""The voicemail node on the simulated line: greetings, beep, every way a recording
ends (key, silence, exchange tone after hang-up, loop drop, max length), the minimum
length, 0 for the operator, and a recording that is on disk while it is being made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware.dsp.audiofile import write_wav
from firmware.ivr.phrases import phrase
from firmware.line.base import ms_to_samples
from firmware.voicemail.recorder import read_wav_samples
from tests.ivr.conftest import KNOWN, OPEN, Phone, voice

TO_SUPPORT = "wait 0.5; press 3; waitbeep; wait 0.3"  # speak once the beep is over


def _wav(tmp_path: Path, seconds: float, name: str = "msg.wav") -> Path:
    path = tmp_path / name
    write_wav(path, voice(seconds))
    return path


def _only_message(phone: Phone, mailbox: str = "support"):
    messages = phone.store.messages.list(mailbox)
    assert len(messages) == 1, messages
    audio = read_wav_samples(phone.store.data.absolute(messages[0].path))
    return messages[0], audio


def test_greeting_beep_and_pound_ends_the_message(make_phone, tmp_path) -> None:
    phone = make_phone()
    summary, caller = phone.call(f"{TO_SUPPORT}; speak {_wav(tmp_path, 2.0)}; press #; wait 8",
                                 number=KNOWN)
    saved = phone.first("message_saved")
    assert saved["ended_by"] == "key"
    message, audio = _only_message(phone)
    assert 1900 <= message.duration_ms <= 2150, message.duration_ms  # the '#' is cut off
    assert message.caller_number == KNOWN
    assert any(t.startswith("Support is not available") for t in phone.texts())
    assert "Your message has been saved. Thank you." in phone.texts()
    assert summary.outcome == "voicemail" and summary.path[-1] == "bye"


def test_silence_ends_the_message(make_phone, tmp_path) -> None:
    phone = make_phone()
    phone.call(f"{TO_SUPPORT}; speak {_wav(tmp_path, 2.0)}; wait 10", number=KNOWN)
    assert phone.first("message_saved")["ended_by"] == "silence"
    message, _ = _only_message(phone)
    assert 2000 <= message.duration_ms <= 2500, message.duration_ms  # + 300 ms kept


def test_silence_ends_a_message_over_a_noisy_line(make_phone, tmp_path) -> None:
    """Hiss at -38 dBm0 (a poor line) is not voice: the recording still ends on the pause."""
    phone = make_phone()
    from firmware.line.sim import SimCaller
    from firmware.dsp.callerid import CallerIdInfo

    caller = SimCaller(f"{TO_SUPPORT}; speak {_wav(tmp_path, 2.0)}; wait 12",
                       caller_id=CallerIdInfo(number=KNOWN), noise_dbm0=-38.0)
    phone.call("", caller=caller)
    assert phone.first("message_saved")["ended_by"] == "silence"


@pytest.mark.parametrize("style, how", [("reorder", "reorder"), ("dial", "dial"),
                                        ("busy", "busy"), ("drop", "loop_drop")])
def test_hang_up_keeps_the_message_and_trims_the_exchange_tone(make_phone, tmp_path,
                                                               style, how) -> None:
    phone = make_phone()
    summary, _ = phone.call(f"{TO_SUPPORT}; speak {_wav(tmp_path, 3.0)}; hangup {style}",
                            number=KNOWN)
    assert summary.outcome == "voicemail"
    assert summary.end_reason.startswith("caller_hangup") and how in summary.end_reason
    message, audio = _only_message(phone)
    assert 2950 <= message.duration_ms <= 3400, message.duration_ms  # + 300 ms of pause
    tail = audio[-800:].astype(np.float64)
    assert np.sqrt(np.mean(tail ** 2)) < 3000  # no loud exchange tone left at the end


def test_maximum_length_ends_the_message(make_phone, tmp_path) -> None:
    phone = make_phone({"mailboxes": {"support": {"max_message_s": 4}}})
    phone.call(f"{TO_SUPPORT}; speak {_wav(tmp_path, 8.0)}; wait 5", number=KNOWN)
    assert phone.first("message_saved")["ended_by"] == "max_length"
    message, _ = _only_message(phone)
    assert 3950 <= message.duration_ms <= 4050


def test_a_message_shorter_than_the_minimum_is_dropped(make_phone, tmp_path) -> None:
    phone = make_phone({"mailboxes": {"support": {"min_message_s": 2}}})
    summary, _ = phone.call(f"{TO_SUPPORT}; speak {_wav(tmp_path, 0.8)}; hangup", number=KNOWN)
    assert phone.of("message_dropped") and not phone.of("message_saved")
    assert phone.store.messages.list("support") == []
    assert summary.outcome != "voicemail"
    left = list((phone.store.data.voicemail).rglob("*.wav*"))
    assert left == [], left  # nothing left behind on disk either


def test_zero_during_the_greeting_goes_to_the_operator(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 3; wait 1; press 0; wait 30; hangup", number=KNOWN)
    assert summary.path[summary.path.index("support_vm") + 1] == "operator"
    assert all(r["node"] != "support_vm" for r in phone.of("recording"))


def test_temporary_greeting_until_it_expires(make_phone) -> None:
    temporary = {"prompt": "holiday", "until": "2026-11-24T12:00:00"}
    phone = make_phone({"mailboxes": {"support": {"greetings": {"temporary": temporary}}}})
    phone.call("wait 0.5; press 3; wait 8; hangup", number=KNOWN, when=OPEN)
    assert "holiday" in phone.prompts_played()
    phone.call("wait 0.5; press 3; wait 8; hangup", number=KNOWN, when=OPEN.replace(hour=14))
    assert "holiday" not in phone.prompts_played()
    assert any(t.startswith("Support is not available") for t in phone.texts())


def test_the_recording_is_on_disk_while_it_is_being_made(make_phone, tmp_path) -> None:
    phone = make_phone()
    sizes: list[int] = []

    def look(clock: int, frame) -> None:
        if phone.of("recording") and not sizes and clock - rec_start() > 3 * 8000:
            parts = list(phone.store.data.voicemail.rglob("*.wav.part"))
            sizes.extend(len(read_wav_samples(p)) for p in parts)

    def rec_start() -> int:
        return phone.line.clock if not phone.of("recording") else started[0]

    started: list[int] = []

    def on_frame(clock: int, frame) -> None:
        if phone.of("recording") and not started:
            started.append(clock)
        look(clock, frame)

    from firmware.dsp.callerid import CallerIdInfo
    from firmware.line.sim import SimCaller

    caller = SimCaller(f"{TO_SUPPORT}; speak {_wav(tmp_path, 6.0)}; hangup",
                       caller_id=CallerIdInfo(number=KNOWN))
    caller.on_heard = on_frame
    phone.call("", caller=caller)
    # 3 s into the recording at least 2 s of it are already on disk, readable as WAV
    assert sizes and sizes[0] >= 2 * 8000, sizes


def test_an_office_phone_picked_up_mid_message_keeps_the_message(make_phone, tmp_path) -> None:
    phone = make_phone()
    from firmware.dsp.callerid import CallerIdInfo
    from firmware.line.sim import SimCaller

    caller = SimCaller(f"{TO_SUPPORT}; speak {_wav(tmp_path, 6.0)}; wait 5",
                       caller_id=CallerIdInfo(number=KNOWN))
    picked: list[int] = []

    def on_heard(clock: int, frame) -> None:
        rec = phone.of("recording")
        if rec and not picked and clock - caller.connected_at >= ms_to_samples(rec[0]["t_ms"] + 2500):
            picked.append(clock)
            phone.line.pick_up_extension()

    caller.on_heard = on_heard
    summary, _ = phone.call("", caller=caller)
    assert summary.end_reason == "office_picked_up"
    saved = phone.first("message_saved")
    assert saved["ended_by"] == "office_picked_up"
    message, _ = _only_message(phone)
    assert 2300 <= message.duration_ms <= 2700


def test_pound_during_the_greeting_skips_to_the_beep(make_phone, tmp_path) -> None:
    phone = make_phone()
    phone.call(f"wait 0.5; press 3; wait 0.5; press #; waitbeep; wait 0.3; "
               f"speak {_wav(tmp_path, 1.5)}; press #; wait 4", number=KNOWN)
    text = phrase("unavailable_greeting", "en", name="Support")
    assert text in phone.texts()
    greeting_ms = len(phone.prompts.render(text, "en")) / 8
    started = phone.first("recording")["t_ms"] - phone.first("node")["t_ms"]
    assert started < greeting_ms
    assert phone.first("message_saved")["ended_by"] == "key"


def test_a_pause_is_not_the_end_where_the_exchange_signals_hang_ups(make_phone) -> None:
    """`ivrbox calibrate` learned a loop-current drop: silence is only a pause then."""
    from firmware.line.sim import HangUp, Press, Speak, Wait, WaitForBeep

    script = [Wait(500), Press("3"), WaitForBeep(30_000), Wait(300), Speak(voice(1.0)),
              Wait(5000), Speak(voice(1.0)), Press("#"), Wait(3000), HangUp()]
    phone = make_phone()
    phone.call(script, number=KNOWN)
    assert phone.first("message_saved")["ended_by"] == "silence"  # not calibrated: 3 s ends it
    phone.store.kv.set("line.hangup_signal", {"kind": "loop_drop", "after_ms": 600})
    phone.call(script, number=KNOWN)
    saved = phone.first("message_saved")
    assert saved["ended_by"] == "key" and saved["ms"] >= 6500
