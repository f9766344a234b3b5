"""TTY/TDD Baudot: numbers from issue 8, and minimodem as the independent peer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from firmware.dsp import g711
from firmware.dsp.baudot import BaudotDecoder, decode_text, encode, modulate
from firmware.dsp.level import white_noise

TEXT = "HELLO, THIS IS ANN AT 555-0142. CAN YOU CALL ME BACK? GA"
RATE = 8000


def _noisy(signal: np.ndarray, dbm0: float, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = white_noise(len(signal), dbm0 - snr_db, np.random.default_rng(seed))
    return np.clip(signal.astype(np.int32) + noise, -32768, 32767).astype(np.int16)


def _errors(got: str, want: str) -> int:
    """Character errors: substitutions plus missing or extra characters (by alignment)."""
    import difflib

    matcher = difflib.SequenceMatcher(a=want, b=got, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return max(len(want), len(got)) - matched


@pytest.mark.parametrize("dbm0", [-30, -20, -12, -6])
def test_every_character_at_20_db_snr(dbm0: float) -> None:
    assert decode_text(_noisy(modulate(TEXT, dbm0=dbm0), dbm0, 20)) == TEXT


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_through_g711(codec: str) -> None:
    encode_, decode_ = {"ulaw": (g711.ulaw_encode, g711.ulaw_decode),
                        "alaw": (g711.alaw_encode, g711.alaw_decode)}[codec]
    for dbm0 in (-30, -6):
        assert decode_text(decode_(encode_(modulate(TEXT, dbm0=dbm0)))) == TEXT


def test_character_error_rate_at_12_db_snr_is_under_one_percent() -> None:
    rng = np.random.default_rng(7)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,?-"
    text = "".join(rng.choice(list(alphabet), 600)).strip()
    text = " ".join(text.split())  # no double spaces: they carry no information
    got = decode_text(_noisy(modulate(text, dbm0=-20), -20, 12, seed=3))
    assert _errors(got, text) / len(text) <= 0.01


def test_fifty_baud_variant() -> None:
    assert decode_text(modulate(TEXT, baud=50.0), baud=50.0) == TEXT


def test_any_feed_sizes_give_the_same_characters() -> None:
    signal = _noisy(modulate(TEXT, dbm0=-15), -15, 25)
    whole = BaudotDecoder().feed(np.concatenate([signal, np.zeros(4000, np.int16)]))
    decoder = BaudotDecoder()
    pieces = []
    rng = np.random.default_rng(1)
    padded = np.concatenate([signal, np.zeros(4000, np.int16)])
    i = 0
    while i < len(padded):
        n = int(rng.integers(1, 400))
        pieces += decoder.feed(padded[i:i + n])
        i += n
    assert pieces == whole


def test_first_character_is_known_within_600_ms() -> None:
    signal = modulate("GA", lead_ms=150)
    decoder = BaudotDecoder()
    first_char_start = int(0.150 * RATE)
    for i in range(0, len(signal), 160):
        if decoder.feed(signal[i:i + 160]):
            assert (i + 160 - first_char_start) / RATE <= 0.600
            return
    pytest.fail("no character decoded")


def test_letters_and_figures_shift_as_needed() -> None:
    codes = encode("A1 B")
    assert codes[0] == 0x1F  # LTRS first, as TTYs do
    assert decode_text(modulate("A1B2 C3,D!")) == "A1B2 C3,D!"


def test_talk_off_speech_and_music_decode_nothing(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is missing (make test installs it)")
    from firmware.dsp.audiofile import read_audio

    audio = []
    for voice, text in (("en", "The quick brown fox jumps over the lazy dog. Please hold "
                                "while I connect your call to the sales department."),
                        ("cmn", "您好，感謝您的來電。查詢營業時間請按一，業務洽詢請按二。")):
        wav = tmp_path / f"{voice}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True,
                       capture_output=True)
        audio.append(read_audio(wav))
    t = np.arange(RATE * 6) / RATE
    chords = sum(np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
                 for f in (1396.9, 1760.0, 1568.0, 1174.7))  # notes near the TTY tones
    audio.append((chords * 3000).astype(np.int16))
    assert decode_text(np.concatenate(audio)) == ""


needs_minimodem = pytest.mark.skipif(shutil.which("minimodem") is None,
                                     reason="minimodem missing (make test installs it)")


@needs_minimodem
def test_minimodem_tdd_transmission_is_decoded(tmp_path: Path) -> None:
    wav = tmp_path / "tx.wav"
    subprocess.run(["minimodem", "--tx", "tdd", "-f", str(wav), "-R", "48000"],
                   input=TEXT.encode(), check=True, capture_output=True)
    data, rate = sf.read(wav, dtype="float64")
    audio = np.clip(soxr.resample(data, rate, RATE) * 32767, -32768, 32767).astype(np.int16)
    assert decode_text(audio).strip() == TEXT


@needs_minimodem
def test_minimodem_receives_our_transmission(tmp_path: Path) -> None:
    wav = tmp_path / "ours.wav"
    sf.write(wav, modulate(TEXT, dbm0=-10), RATE, subtype="PCM_16")
    out = subprocess.run(["minimodem", "--rx", "tdd", "-f", str(wav)], check=True,
                         capture_output=True, text=True)
    assert out.stdout.strip() == TEXT


def test_cli_gen_tty_then_tty_reads_it_back(tmp_path: Path, capsys) -> None:
    from firmware.cli import main

    out = tmp_path / "tty.wav"
    assert main(["gen", "tty", "CALL ME 555-0100 GA", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["tty", str(out)]) == 0
    assert capsys.readouterr().out.strip() == "CALL ME 555-0100 GA"
    assert main(["tty", str(tmp_path / "missing.wav")]) == 2
    assert "missing.wav" in capsys.readouterr().err
