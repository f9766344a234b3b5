"""DTMF receiver against independent tools: sox makes tones, multimon-ng decodes ours,
sox band-limits a line; and the `ivrbox dtmf` command."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from firmware.cli import main
from firmware.dsp.audiofile import read_audio, write_wav
from firmware.dsp.dtmf import detect_digits, digits_of
from firmware.dsp.tones import DTMF_FREQS, DTMF_KEYS, dtmf

needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")


def _sox_key(path: Path, key: str, ms: float, gain_db: float, low_rel: float = 0.0,
             high_rel: float = 0.0) -> None:
    low, high = DTMF_FREQS[key]
    subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "1", str(path), "synth",
                    f"{ms / 1000:.4f}", "sine", f"{low * (1 + low_rel):.2f}", "sine",
                    f"{high * (1 + high_rel):.2f}", "gain", f"{gain_db}", "pad", "0.03",
                    "0.05"], check=True, capture_output=True)


@needs_sox
@pytest.mark.parametrize("gain_db,ms", [(-3.0, 60), (-20.0, 45), (-30.0, 100)])
def test_sox_made_keys(tmp_path: Path, gain_db: float, ms: float) -> None:
    for key in DTMF_KEYS:
        f = tmp_path / "k.wav"
        _sox_key(f, key, ms, gain_db)
        assert digits_of(read_audio(f)) == key


@needs_sox
def test_sox_made_offsets(tmp_path: Path) -> None:
    for key, lo, hi, want in (("1", 0.015, -0.015, "1"), ("D", -0.015, 0.015, "D"),
                              ("5", 0.04, 0.0, ""), ("#", 0.0, -0.04, "")):
        f = tmp_path / "k.wav"
        _sox_key(f, key, 80, -10.0, lo, hi)
        assert digits_of(read_audio(f)) == want, key


@needs_sox
def test_sox_string_with_remix_and_short_tones(tmp_path: Path) -> None:
    """A two-channel sox string mixed to mono: 50 ms keys, a 20 ms blip in between."""
    f = tmp_path / "s.wav"
    chains: list[str] = []
    for key, ms in (("3", 50), ("6", 20), ("9", 50), ("9", 50)):
        low, high = DTMF_FREQS[key]
        chains += [":"] if chains else []
        chains += ["synth", f"{ms / 1000}", "sine", str(low), "sine", str(high),
                   "pad", "0", "0.06"]
    subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "2", str(f), *chains,
                    "remix", "1,2", "gain", "-12"], check=True, capture_output=True)
    assert digits_of(read_audio(f)) == "399"


@needs_sox
@pytest.mark.parametrize("band", ["300-3400", "400-3000"])
def test_band_limited_line(tmp_path: Path, band: str) -> None:
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    write_wav(src, dtmf(DTMF_KEYS, 45, 45, dbm0=-12))
    subprocess.run(["sox", str(src), str(out), "sinc", band], check=True,
                   capture_output=True)
    assert digits_of(read_audio(out)) == DTMF_KEYS


@needs_sox
@pytest.mark.parametrize("encoding", ["u-law", "a-law"])
def test_sox_g711_files(tmp_path: Path, encoding: str) -> None:
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    write_wav(src, dtmf(DTMF_KEYS, 45, 45, dbm0=-25))
    subprocess.run(["sox", str(src), "-e", encoding, str(out)], check=True,
                   capture_output=True)
    assert digits_of(read_audio(out)) == DTMF_KEYS


@pytest.mark.skipif(shutil.which("multimon-ng") is None, reason="multimon-ng missing")
def test_multimon_decodes_our_generator(tmp_path: Path) -> None:
    """multimon-ng wants 22.05 kHz raw audio; it decodes what tones.dtmf makes."""
    import soxr

    audio = dtmf("0123456789ABCD*#", 70, 70, dbm0=-10)
    raw = tmp_path / "k.raw"
    up = soxr.resample(audio.astype(np.float32) / 32768.0, 8000, 22050)
    (np.clip(up, -1, 1) * 32767).astype("<i2").tofile(raw)
    out = subprocess.run(["multimon-ng", "-q", "-c", "-a", "DTMF", "-t", "raw", str(raw)],
                         check=True, capture_output=True, text=True).stdout
    got = "".join(line.split(":", 1)[1].strip() for line in out.splitlines()
                  if line.startswith("DTMF:"))
    assert got == "0123456789ABCD*#"
    assert digits_of(audio) == got


def test_cli_prints_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    write_wav(a, dtmf("42#", 60, 60))
    write_wav(b, np.zeros(4000, np.int16))
    assert main(["dtmf", str(a)]) == 0
    assert capsys.readouterr().out == "42#\n"
    assert main(["dtmf", str(a), str(b)]) == 0
    assert capsys.readouterr().out == f"{a}: 42#\n{b}: \n"


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a.wav"
    write_wav(a, dtmf("7*", 60, 40))
    assert main(["dtmf", "--json", str(a)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["digit"] for r in rows] == ["7", "*"]
    assert rows[0]["file"] == str(a)
    assert abs(rows[0]["start_ms"]) <= 2 and abs(rows[0]["end_ms"] - 60) <= 2
    assert abs(rows[1]["start_ms"] - 100) <= 2 and abs(rows[1]["end_ms"] - 160) <= 2
    spans = detect_digits(read_audio(a))
    assert [s.digit for s in spans] == ["7", "*"]


def test_cli_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    assert main(["dtmf", str(tmp_path / "missing.wav")]) == 2
    assert main(["dtmf", str(text)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("ivrbox dtmf: ") for line in err)
