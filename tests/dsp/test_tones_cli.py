"""`ivrbox tones` and `ivrbox gen`, through the real dispatcher (and once a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from firmware.cli import main
from firmware.dsp import tones
from firmware.dsp.audiofile import read_audio, write_wav
from firmware.dsp.dtmf import digits_of

RATE = 8000
ROOT = Path(__file__).resolve().parents[2]


def test_gen_tone_then_find_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "busy.wav"
    assert main(["gen", "tone", "busy", "--country", "tw", "-o", str(out), "--seconds", "3"]) == 0
    info = soundfile.info(str(out))
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    assert info.frames == 3 * RATE
    assert np.array_equal(read_audio(out), tones.call_progress("busy", "tw", 3000))
    capsys.readouterr()
    assert main(["tones", str(out), "--country", "tw"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    kind, start, _, end, *_ = line.split()
    assert kind == "busy" and float(start) < 0.06 and abs(float(end) - 2.5) < 0.06


def test_tones_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.concatenate([np.zeros(RATE, np.int16), tones.call_progress("ringback", "uk", 3000),
                        np.zeros(RATE // 2, np.int16), tones.call_progress("reorder", "uk", 2500)])
    path = tmp_path / "call.flac"
    soundfile.write(str(path), x, RATE)
    assert main(["tones", str(path), "--country", "UK", "--json"]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["type"] for f in found] == ["ringback", "reorder"]
    assert set(found[0]) == {"type", "start_ms", "end_ms", "detected_ms"}
    assert abs(found[0]["start_ms"] - 1000) <= 60 and abs(found[1]["start_ms"] - 4500) <= 60
    assert found[0]["start_ms"] < found[0]["detected_ms"] < found[0]["end_ms"]


def test_tones_none_found_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "quiet.wav"
    write_wav(path, np.zeros(RATE, np.int16))
    assert main(["tones", str(path)]) == 1
    assert capsys.readouterr().out == ""


def test_gen_dtmf_is_heard_by_the_dtmf_detector(tmp_path: Path) -> None:
    out = tmp_path / "keys.wav"
    assert main(["gen", "dtmf", "123#", "-o", str(out), "--on-ms", "60", "--off-ms", "60",
                 "--level", "-20", "--twist", "-3"]) == 0
    x = read_audio(out)
    assert len(x) == 4 * 120 * RATE // 1000
    assert digits_of(x) == "123#"


@pytest.mark.parametrize("argv,message", [
    (["tones", "{tmp}/missing.wav"], "no such file"),
    (["tones", "{tmp}/notes.txt"], "not an audio file"),
    (["tones", "{tmp}/ok.wav", "--country", "fr"], "unknown country 'fr'"),
    (["gen", "tone", "howler", "-o", "{tmp}/x.wav"], "unknown tone 'howler'"),
    (["gen", "tone", "dial", "--country", "xx", "-o", "{tmp}/x.wav"], "unknown country"),
    (["gen", "dtmf", "12x", "-o", "{tmp}/x.wav"], "not a DTMF key"),
    (["gen", "dtmf", "1", "--level", "9", "-o", "{tmp}/x.wav"], "--level must be between"),
    (["gen", "tone", "busy", "-o", "{tmp}/no/dir/x.wav"], "cannot write"),
])
def test_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    argv: list[str], message: str) -> None:
    (tmp_path / "notes.txt").write_text("not audio\n" * 50)
    write_wav(tmp_path / "ok.wav", np.zeros(RATE, np.int16))
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err
    assert err.startswith(f"ivrbox {argv[0]}: ")


def test_real_process(tmp_path: Path) -> None:
    out = tmp_path / "dial.wav"
    cmd = [sys.executable, "-m", "firmware"]
    made = subprocess.run(cmd + ["gen", "tone", "dial", "--country", "de", "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert made.returncode == 0, made.stderr
    found = subprocess.run(cmd + ["tones", str(out), "--country", "de", "--json"],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert found.returncode == 0, found.stderr
    (event,) = [json.loads(line) for line in found.stdout.splitlines()]
    assert event["type"] == "dial" and event["start_ms"] <= 60
    assert abs(event["end_ms"] - tones.DEFAULT_MS["dial"]) <= 60
    bad = subprocess.run(cmd + ["tones", str(tmp_path / "nope.wav")], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
