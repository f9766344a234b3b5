"""The far-end script language: the CLI text form, its errors, and sound files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from firmware.dsp.dtmf import digits_of
from firmware.dsp.level import rms_dbm0
from firmware.errors import AudioFormatError, UsageError
from firmware.line.base import ms_to_samples
from firmware.line.sim import (HangUp, Press, Silence, SimCaller, SimLine, Speak, Wait,
                               WaitForBeep, WaitForSilence, parse_script)
from tests.line.rig import run
from tests.line.rig_sim import exchange_audio, ring_and_answer


def test_text_form_becomes_steps() -> None:
    steps = parse_script("wait 1; press 2; wait 6.5\nsilence 0.25; press 12#*;"
                         " hangup reorder; waitbeep 3; waitsilence; hangup")
    assert steps == [Wait(1000.0), Press("2"), Wait(6500.0), Silence(250.0),
                     Press("12#*"), HangUp("reorder"), WaitForBeep(3000.0),
                     WaitForSilence(timeout_ms=30_000.0), HangUp("loop_drop")]
    assert parse_script("hangup dial") == [HangUp("dial_tone")]
    assert parse_script("  ;; \n") == []


@pytest.mark.parametrize("text, words", [
    ("jump 3", "unknown step 'jump'"),
    ("wait", "takes 1 argument"),
    ("wait soon", "not a number of seconds"),
    ("wait -1", "zero or more"),
    ("press 12x", "not a string of DTMF keys"),
    ("hangup gently", "hang-up style 'gently'"),
    ("press 1 2", "takes 1 argument"),
])
def test_script_errors_name_the_step(text: str, words: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_script(f"wait 1\n{text}")
    assert words in str(err.value) and "line 2" in str(err.value)


def test_speak_reads_any_rate_and_channels_relative_to_base_dir(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000.0
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 500 * t)] * 2, axis=1)
    soundfile.write(tmp_path / "msg.wav", stereo, 16000)
    (step,) = parse_script("speak msg.wav", base_dir=tmp_path)
    assert isinstance(step, Speak) and step.samples.dtype == np.int16
    assert abs(len(step.samples) - 8000) <= 2  # 1 s at 8 kHz
    assert abs(rms_dbm0(step.samples[100:-100]) - rms_dbm0(0.3 * 32767 *
               np.sin(2 * np.pi * 500 * t))) < 0.3


def test_missing_or_broken_sound_file_is_an_audio_format_error(tmp_path: Path) -> None:
    with pytest.raises(AudioFormatError, match="nothere.wav"):
        parse_script("speak nothere.wav", base_dir=tmp_path)
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really")
    with pytest.raises(AudioFormatError, match="junk.wav"):
        parse_script(f"speak {tmp_path / 'junk.wav'}")


def test_a_scripted_call_with_real_speech_from_espeak(tmp_path: Path) -> None:
    """espeak-ng speech as the caller's voice: delivered intact, and no false keys."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is a test dependency (Makefile TEST_DEBS)"
    wav = tmp_path / "hello.wav"
    subprocess.run([espeak, "-w", str(wav), "Hello, I would like to leave a message "
                    "for the sales department, please call me back."], check=True)
    steps = parse_script("wait 0.5; speak hello.wav; wait 0.5; press 9; hangup",
                         base_dir=tmp_path)
    speech = steps[1].samples
    caller = SimCaller(steps)

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        rx, _ = await exchange_audio(line, 1500 + 1000 * len(speech) / 8000)
        return rx

    rx = run(body)
    start = ms_to_samples(500)
    assert np.array_equal(rx[start:start + len(speech)], speech)
    assert digits_of(rx) == "9"  # the speech itself produced no digit
    assert caller.gone_style == "loop_drop"
