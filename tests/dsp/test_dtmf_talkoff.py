"""Talk-off: speech and music must not produce keys (material: tests/dsp/talkoff.py)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.dsp.dtmf import detect_digits, digits_of
from firmware.dsp.tones import dtmf
from tests.dsp import talkoff

pytestmark = pytest.mark.skipif(not talkoff.have_tools(), reason="needs espeak-ng and sox")


def _no_keys(audio: np.ndarray) -> None:
    spans = detect_digits(audio)
    assert spans == [], [(s.digit, round(s.start / 8000, 2)) for s in spans]


def test_english_speech() -> None:
    _no_keys(talkoff.english_speech())


def test_mandarin_speech() -> None:
    _no_keys(talkoff.mandarin_speech())


@pytest.mark.parametrize("seed", range(6))
def test_music_from_sox(seed: int) -> None:
    _no_keys(talkoff.sox_music(seed))


@pytest.mark.parametrize("source", ["recorded_speech", "recorded_music", "mandarin_syllables"])
def test_recorded_material_from_debian(source: str) -> None:
    files = getattr(talkoff, source)()
    if source == "mandarin_syllables":
        files = files[::3]  # 400 of the 1200 syllables keep the suite quick
    if not files:
        pytest.skip(f"{source}: Debian package not installed (see talkoff.py)")
    gap = np.zeros(400, dtype=np.int16)
    _no_keys(np.concatenate([np.concatenate([talkoff.read_8k(f), gap]) for f in files]))


def test_keys_still_found_amid_speech() -> None:
    """The same detector settings find keys pressed while someone talks 15 dB lower."""
    speech = talkoff.english_speech()[: 8000 * 4].astype(np.float64)
    keys = dtmf("159#", 60, 940, dbm0=-8).astype(np.float64)
    speech *= 10 ** (-15 / 20) * np.sqrt(np.mean(keys ** 2) / np.mean(speech ** 2))
    mix = np.clip(np.round(keys + speech[: len(keys)]), -32768, 32767).astype(np.int16)
    assert digits_of(mix) == "159#"
