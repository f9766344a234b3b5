"""The compiled DTMF kernel against the numpy formulation it replaced (dtmf_reference.py).

Same audio, same events: digits, onsets, decision and end samples. The material sits on
the receiver's decision edges (frequency offsets around FREQ_TOL, durations around
MIN_ON_MS, levels around MIN_LEVEL_DBM0, twist at its limits, dropouts around
END_ABSENT_BLOCKS) and in what a call brings (speech, music-like chords, noise), where a
one-ulp difference in a power or a phase step would flip a decision.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.dsp.dtmf import DtmfDetector, KeyDown, KeyUp
from firmware.dsp.level import dbm0_to_peak, white_noise
from firmware.dsp.tones import DTMF_FREQS, DTMF_KEYS
from tests.dsp import talkoff
from tests.dsp.dtmf_reference import ReferenceDetector

RATE = 8000
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def _events(det: DtmfDetector | ReferenceDetector, x: np.ndarray,
            sizes: list[int]) -> list[KeyDown | KeyUp]:
    """Feed x in pieces cycling through `sizes`, then flush."""
    out: list[KeyDown | KeyUp] = []
    i, k = 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        out += det.feed(x[i:i + n])
        i, k = i + n, k + 1
    return out + list(det.flush())


def _i16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _edge_keys(rng: np.random.Generator, n: int) -> np.ndarray:
    """n keys with parameters drawn across the accept/reject edges, over quiet noise."""
    parts = []
    for _ in range(n):
        key = str(rng.choice(list(DTMF_KEYS)))
        low, high = DTMF_FREQS[key]
        ms = rng.uniform(20, 60)
        level = rng.uniform(-48, -3)
        twist = rng.uniform(-13, 8)
        dev = rng.uniform(-0.035, 0.035, 2)
        t = np.arange(int(ms * 8)) / RATE
        tone = (dbm0_to_peak(level) * np.sin(2 * np.pi * low * (1 + dev[0]) * t + rng.uniform(0, 7))
                + dbm0_to_peak(min(level + twist, -1.0))
                * np.sin(2 * np.pi * high * (1 + dev[1]) * t + rng.uniform(0, 7)))
        if rng.random() < 0.3:  # a dropout somewhere inside
            at, gap = int(rng.integers(0, len(tone))), int(rng.uniform(5, 45) * 8)
            tone[at:at + gap] = 0.0
        parts += [tone, np.zeros(int(rng.uniform(15, 80) * 8))]
    x = np.concatenate(parts)
    return x + white_noise(len(x), -60.0, rng)


def test_edge_material_gives_the_same_events_in_any_chunking() -> None:
    x = _i16(_edge_keys(np.random.default_rng(7), 300))
    ref = _events(ReferenceDetector(), x, [len(x)])
    downs = sum(isinstance(e, KeyDown) for e in ref)
    assert 30 < downs < 250  # keys on both sides of the edges
    for sizes in ([len(x)], [160], [1, 7, 51, 333, 2], [4096, 13]):
        assert _events(DtmfDetector(), x, sizes) == ref, sizes


def test_speech_music_and_keys_give_the_same_events() -> None:
    rng = np.random.default_rng(11)
    speech = np.tile(talkoff.english_speech(), 2)[: 20 * RATE].astype(np.float64)
    t = np.arange(len(speech)) / RATE
    chords = sum(0.2 * dbm0_to_peak(-15) * np.sin(2 * np.pi * hz * t)
                 for hz in (697.0, 1209.0, 1477.0 * 1.01))
    x = speech * 0.8 + chords * (np.sin(2 * np.pi * 0.3 * t) > 0.5)
    keys = _edge_keys(rng, 40)
    x[RATE:RATE + len(keys)] += keys
    x = _i16(x)
    ref = _events(ReferenceDetector(), x, [160])
    assert any(isinstance(e, KeyDown) for e in ref)
    assert _events(DtmfDetector(), x, [160]) == ref


@SETTINGS
@given(seed=st.integers(0, 10_000), sizes=st.lists(st.integers(1, 700), min_size=1,
                                                   max_size=4))
def test_random_edge_keys_match_the_reference(seed: int, sizes: list[int]) -> None:
    x = _i16(_edge_keys(np.random.default_rng(seed), 6))
    assert _events(DtmfDetector(), x, sizes) == _events(ReferenceDetector(), x, [len(x)])


def test_reset_mid_key_and_flush_match_the_reference() -> None:
    x = _i16(_edge_keys(np.random.default_rng(3), 20))
    for cut in (777, 5000, len(x) // 2):
        ours, ref = DtmfDetector(), ReferenceDetector()
        assert ours.feed(x[:cut]) == ref.feed(x[:cut])
        assert ours.flush() == ref.flush()  # a key held at the cut ends at the cut
        assert ours.feed(x[cut:]) == ref.feed(x[cut:])  # positions from 0 again
        ours.reset()
        ref.reset()
        assert ours.feed(x) + ours.flush() == ref.feed(x) + ref.flush()
