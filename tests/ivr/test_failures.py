"""Faults of the box itself during a call (QA C3): a prompt file the store refuses, text-to-
speech missing. The caller hears text instead of a bad file; a fault the flow cannot
get around ends the call with outcome "error", logged, and the engine takes the next
call."""

from __future__ import annotations

from pathlib import Path

from firmware.appliance import find_audio_dir
from firmware.dsp.audiofile import write_wav
from firmware.ivr.prompts import Prompts, TextToSpeech
from tests.ivr.conftest import KNOWN, voice


def test_a_prompt_file_pointing_outside_the_data_dir_is_spoken_as_text(make_phone,
                                                                       tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.wav"
    write_wav(outside, voice(1.0))
    phone = make_phone({"prompts": {"main": {"en": "Main menu. Press one to nine.",
                                             "file": {"en": "greetings/main.wav"}}}})
    greetings = phone.store.data.root / "greetings"
    greetings.mkdir(parents=True, exist_ok=True)
    (greetings / "main.wav").symlink_to(outside)  # resolves outside: the store refuses it
    summary, _ = phone.call("wait 0.5; waitsilence 20; press 66; wait 5", number=KNOWN)
    assert "Main menu. Press one to nine." in phone.texts()
    assert phone.first("prompt_file_failed")["error"] == "StoreError"
    assert "bye" in summary.path and summary.end_reason == "goodbye"


def test_text_to_speech_missing_ends_the_call_as_an_error_and_the_next_call_works(
        make_phone, tmp_path: Path) -> None:
    phone = make_phone()
    working = phone.box.services.prompts
    broken = Prompts(TextToSpeech(tmp_path / "empty-cache", espeak="ivrbox-no-such-espeak"),
                     find_audio_dir())
    phone.box.services.prompts = broken
    summary, _ = phone.call("wait 10; hangup", number=KNOWN)
    assert summary.outcome == "error"
    assert summary.end_reason == "error:AudioFormatError"
    assert phone.first("error")["type"] == "AudioFormatError"
    row = phone.store.calls.get(summary.call_id)
    assert row.outcome == "error" and row.end_reason == "error:AudioFormatError"
    assert not phone.line.is_off_hook  # hung up at once, not left in dead air
    phone.box.services.prompts = working
    again, _ = phone.call("wait 0.5; press 66; wait 5", number=KNOWN)
    assert again.end_reason == "goodbye"
