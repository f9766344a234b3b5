"""TTY/TDD Baudot: numbers from issue 8 at 45.45 and 50 baud, and minimodem as the
independent peer.

Calls listen at both rates at once (`BaudotDecoder(None)`, "auto"), so the issue's
figures are checked through the auto decoder at each rate, as a call hears them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from firmware.dsp import g711
from firmware.dsp.baudot import (
    MAX_MISFIT,
    TTY_BAUD_EU,
    TTY_BAUD_US,
    BaudotDecoder,
    decode_text,
    encode,
    modulate,
)
from firmware.dsp.level import white_noise
from tests.dsp import minimodem

TEXT = "HELLO, THIS IS ANN AT 555-0142. CAN YOU CALL ME BACK? GA"
RATE = 8000
BAUDS = [TTY_BAUD_US, TTY_BAUD_EU]
AUTO = None  # BaudotDecoder(None): 45.45 and 50 until one fits


def _noisy(signal: np.ndarray, dbm0: float, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = white_noise(len(signal), dbm0 - snr_db, np.random.default_rng(seed))
    return np.clip(signal.astype(np.int32) + noise, -32768, 32767).astype(np.int16)


def _errors(got: str, want: str) -> int:
    """Character errors: substitutions plus missing or extra characters (by alignment)."""
    import difflib

    matcher = difflib.SequenceMatcher(a=want, b=got, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return max(len(want), len(got)) - matched


@pytest.mark.parametrize("baud", BAUDS)
@pytest.mark.parametrize("dbm0", [-30, -20, -12, -6])
def test_every_character_at_20_db_snr(baud: float, dbm0: float) -> None:
    signal = _noisy(modulate(TEXT, baud=baud, dbm0=dbm0), dbm0, 20)
    assert decode_text(signal, baud=AUTO) == TEXT
    assert decode_text(signal, baud=baud) == TEXT  # and with the rate given


@pytest.mark.parametrize("baud", BAUDS)
@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_through_g711(baud: float, codec: str) -> None:
    encode_, decode_ = {"ulaw": (g711.ulaw_encode, g711.ulaw_decode),
                        "alaw": (g711.alaw_encode, g711.alaw_decode)}[codec]
    for dbm0 in (-30, -6):
        assert decode_text(decode_(encode_(modulate(TEXT, baud=baud, dbm0=dbm0))),
                           baud=AUTO) == TEXT


def _random_text(n: int, seed: int = 7) -> str:
    rng = np.random.default_rng(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,?-"
    text = "".join(rng.choice(list(alphabet), n)).strip()
    return " ".join(text.split())  # no double spaces: they carry no information


@pytest.mark.parametrize("baud", BAUDS)
def test_character_error_rate_at_12_db_snr_is_under_one_percent(baud: float) -> None:
    text = _random_text(600)
    got = decode_text(_noisy(modulate(text, baud=baud, dbm0=-20), -20, 12, seed=3), baud=AUTO)
    assert _errors(got, text) / len(text) <= 0.01


@pytest.mark.parametrize("snr", [40, 12])
def test_misfit_tells_the_rates_apart(snr: float) -> None:
    """Every printed character fits its own rate's bit clock and misses the other's by
    far more than MAX_MISFIT: the figure the auto decoder's rate lock rests on."""
    text = _random_text(300, seed=11)
    for tx in BAUDS:
        signal = np.concatenate([_noisy(modulate(text, baud=tx, dbm0=-20), -20, snr, seed=5),
                                 np.zeros(4000, np.int16)])
        for rx in BAUDS:
            misfit = np.array([c.misfit for c in BaudotDecoder(rx).feed(signal)])
            assert len(misfit) > 100
            if rx == tx:
                assert misfit.max() <= MAX_MISFIT / 3, (tx, rx, misfit.max())
            else:
                assert misfit.min() >= MAX_MISFIT * 1.5, (tx, rx, misfit.min())


@pytest.mark.parametrize("baud", BAUDS)
@pytest.mark.parametrize("clock", [0.985, 1.0, 1.015])
def test_auto_locks_to_the_rate_it_hears(baud: float, clock: float) -> None:
    """...from the first character, with the TTY's clock up to 1.5 % off."""
    decoder = BaudotDecoder(AUTO)
    assert decoder.baud is None
    signal = modulate("HI 42", baud=baud * clock)
    chars = decoder.feed(np.concatenate([signal, np.zeros(4000, np.int16)]))
    assert decoder.baud == baud and "".join(c.char for c in chars) == "HI 42"
    decoder.reset()  # a new stretch of audio: the caller's rate stays
    assert decoder.baud == baud


def test_auto_does_not_lock_on_what_starts_before_lock_from() -> None:
    """Our own 45.45-baud announcement echoed back must not lock out a 50-baud caller."""
    echo = modulate("TTY USERS PRESS ANY KEY GA", baud=TTY_BAUD_US, dbm0=-25)
    caller = modulate("HELLO GA", baud=TTY_BAUD_EU)
    decoder = BaudotDecoder(AUTO)
    assert decoder.feed(echo, lock_from=len(echo)) == []
    assert decoder.baud is None
    chars = decoder.feed(np.concatenate([caller, np.zeros(4000, np.int16)]), lock_from=len(echo))
    assert decoder.baud == TTY_BAUD_EU and "".join(c.char for c in chars) == "HELLO GA"


def test_the_rate_given_is_kept() -> None:
    assert decode_text(modulate(TEXT, baud=50.0), baud=50.0) == TEXT
    decoder = BaudotDecoder(50.0)
    assert decoder.baud == 50.0


@pytest.mark.parametrize("baud", [TTY_BAUD_US, AUTO])
def test_any_feed_sizes_give_the_same_characters(baud: float | None) -> None:
    signal = _noisy(modulate(TEXT, baud=TTY_BAUD_EU if baud is AUTO else baud, dbm0=-15), -15, 25)
    whole = BaudotDecoder(baud).feed(np.concatenate([signal, np.zeros(4000, np.int16)]))
    assert "".join(c.char for c in whole) == TEXT
    decoder = BaudotDecoder(baud)
    pieces = []
    rng = np.random.default_rng(1)
    padded = np.concatenate([signal, np.zeros(4000, np.int16)])
    i = 0
    while i < len(padded):
        n = int(rng.integers(1, 400))
        pieces += decoder.feed(padded[i:i + n])
        i += n
    assert pieces == whole


@pytest.mark.parametrize("baud", BAUDS)
def test_first_character_is_known_within_600_ms(baud: float) -> None:
    signal = modulate("GA", baud=baud, lead_ms=150)
    decoder = BaudotDecoder(AUTO)
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
    for baud in (TTY_BAUD_US, TTY_BAUD_EU, AUTO):
        assert decode_text(np.concatenate(audio), baud=baud) == "", baud


needs_minimodem = pytest.mark.skipif(not minimodem.available(),
                                     reason="minimodem missing (make test installs it)")


@needs_minimodem
@pytest.mark.parametrize("baud", BAUDS)
def test_minimodem_tdd_transmission_is_decoded(baud: float) -> None:
    decoder = BaudotDecoder(AUTO)
    chars = decoder.feed(np.concatenate([minimodem.transmit(TEXT, baud), np.zeros(4000, np.int16)]))
    assert "".join(c.char for c in chars).strip() == TEXT
    assert decoder.baud == baud


@needs_minimodem
@pytest.mark.parametrize("baud", BAUDS)
def test_minimodem_receives_our_transmission(baud: float) -> None:
    assert minimodem.receive(modulate(TEXT, baud=baud, dbm0=-10), baud).strip() == TEXT
    # and the other rate's receiver does not: the rates are not interchangeable
    other = TTY_BAUD_EU if baud == TTY_BAUD_US else TTY_BAUD_US
    assert TEXT not in minimodem.receive(modulate(TEXT, baud=baud, dbm0=-10), other)


def test_cli_gen_tty_then_tty_reads_it_back(tmp_path: Path, capsys) -> None:
    from firmware.cli import main

    out = tmp_path / "tty.wav"
    assert main(["gen", "tty", "CALL ME 555-0100 GA", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["tty", str(out)]) == 0
    assert capsys.readouterr().out.strip() == "CALL ME 555-0100 GA"
    assert main(["tty", str(tmp_path / "missing.wav")]) == 2
    assert "missing.wav" in capsys.readouterr().err


def test_cli_tty_reads_either_rate_unless_told_one(tmp_path: Path, capsys) -> None:
    import json

    from firmware.cli import main

    out = tmp_path / "tty50.wav"
    assert main(["gen", "tty", "HI 50 GA", "--baud", "50", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["tty", str(out)]) == 0  # auto by default
    assert capsys.readouterr().out.strip() == "HI 50 GA"
    assert main(["tty", str(out), "--baud", "50", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "".join(r["char"] for r in rows) == "HI 50 GA" and rows[0]["baud"] == 50.0
    assert main(["tty", str(out), "--baud", "45.45"]) == 0
    assert capsys.readouterr().out.strip() != "HI 50 GA"
    assert main(["tty", str(out), "--baud", "fast"]) == 2
    assert "--baud must be auto" in capsys.readouterr().err


# -- a short mark lead (minimodem's 2 bits) --------------------------------------------

def _figures_first(lead_bits: float, baud: float, dbm0: float = -13.0, digits: str = "5551234",
                   carrier_before: str | None = None) -> np.ndarray:
    """A burst as minimodem sends one: `lead_bits` of mark, FIGS straight away (no LTRS),
    then `digits`; silence before it, or `carrier_before` ("space") steady tone."""
    from firmware.dsp import fsk
    from firmware.dsp.baudot import _FIGURE_CODE, FIGS, MARK_HZ, SPACE_HZ

    half = [0] * 40 if carrier_before == "space" else []
    half += [1] * int(round(lead_bits * 2))
    for code in [FIGS] + [_FIGURE_CODE[d] for d in digits]:
        half += [0, 0] + [bit for i in range(5) for bit in [(code >> i) & 1] * 2] + [1] * 4
    half += [1] * 8
    tone = fsk.modulate(half, MARK_HZ, SPACE_HZ, baud * 2, dbm0)
    quiet = np.zeros(0 if carrier_before else 2400)
    return np.clip(np.round(np.concatenate([quiet, tone, np.zeros(4000)])),
                   -32768, 32767).astype(np.int16)


@needs_minimodem
@pytest.mark.parametrize("baud", BAUDS)
def test_minimodem_burst_whose_first_code_is_figs_decodes_exactly(baud: float) -> None:
    """minimodem leads with 2 bits of mark and no LTRS: its FIGS comes at once."""
    burst = minimodem.transmit("5551234 GA", baud)
    assert np.abs(burst[: int(RATE * 2 / baud)]).max() > 1000  # the lead is inside the file
    for rx in (AUTO, baud):
        decoder = BaudotDecoder(rx)
        chars = decoder.feed(np.concatenate([burst, np.zeros(4000, np.int16)]))
        assert "".join(c.char for c in chars) == "5551234 GA", rx
        assert decoder.baud == baud
    # at about -13 dBm0 with 12 dB SNR too, as a caller's TTY on a noisy line
    quiet = np.concatenate([np.zeros(2400), burst * 0.3])
    for seed in range(3):
        assert decode_text(_noisy(quiet.astype(np.int16), -13, 12, seed), baud=AUTO) == "5551234 GA"


@pytest.mark.parametrize("baud", BAUDS)
def test_shortest_mark_lead_that_decodes_a_leading_figure(baud: float) -> None:
    """1 bit of mark before FIGS is enough on a clean line, 1.5 at 12 dB SNR (minimodem
    sends 2); with none, FIGS is lost and the digits read as letters, as before."""
    assert decode_text(_figures_first(1.0, baud), baud=AUTO) == "5551234"
    assert decode_text(_figures_first(1.0, baud, dbm0=-40), baud=AUTO) == "5551234"
    for seed in range(3):
        assert decode_text(_noisy(_figures_first(1.5, baud), -13, 12, seed), baud=AUTO) == "5551234"
    assert decode_text(_figures_first(0.0, baud), baud=AUTO) == "TTTQWER"


@pytest.mark.parametrize("baud", BAUDS)
def test_a_short_mark_inside_a_steady_carrier_starts_no_burst(baud: float) -> None:
    """The short lead is only for a carrier that just came up: after a steady tone (here
    space, as a stuck or out-of-sync sender) a start bit still needs MIN_IDLE_BITS."""
    assert decode_text(_figures_first(1.0, baud, carrier_before="space"), baud=baud) == "TTTQWER"
    assert decode_text(_figures_first(3.0, baud, carrier_before="space"), baud=baud) == "5551234"
