"""DTMF receiver against the acceptance numbers of issue 2 (see firmware/dsp/dtmf.py).

Tones here are built with random phases and onsets by `_key` (plain numpy), so they do not
merely replay `tones.dtmf`; test_dtmf_tools.py adds sox-made tones and multimon-ng.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.dsp import g711
from firmware.dsp.dtmf import (
    DigitSpan, DtmfDetector, KeyDown, KeyUp, detect_digits, digits_of,
)
from firmware.dsp.level import dbm0_to_peak, white_noise
from firmware.dsp.tones import DTMF_FREQS, DTMF_KEYS, dtmf, sine_mix
from firmware.errors import UsageError

RATE = 8000
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)


def _ms(n: float) -> int:
    return int(round(n * RATE / 1000))


def _key(key: str, ms: float, dbm0: float = -10.0, twist_db: float = 0.0,
         dev: tuple[float, float] = (0.0, 0.0), seed: int = 0) -> np.ndarray:
    """One key as float samples: random phases, each tone's own offset (relative)."""
    rng = np.random.default_rng(seed)
    low, high = DTMF_FREQS[key]
    t = np.arange(_ms(ms)) / RATE
    out = np.zeros(len(t))
    for hz, rel, level in ((low, dev[0], dbm0), (high, dev[1], dbm0 + twist_db)):
        out += dbm0_to_peak(level) * np.sin(2 * np.pi * hz * (1 + rel) * t
                                            + rng.uniform(0, 2 * np.pi))
    return out


def _i16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _padded(x: np.ndarray, lead: int, tail_ms: float = 60.0) -> np.ndarray:
    return np.concatenate([np.zeros(lead), x, np.zeros(_ms(tail_ms))])


def _stream(keys: str, on_ms: float = 60, off_ms: float = 60, seed: int = 0,
            **kw: float) -> tuple[np.ndarray, list[int]]:
    """Keys with random phases; returns audio (float) and the onset sample of each key."""
    parts, onsets, pos = [np.zeros(_ms(off_ms))], [], _ms(off_ms)
    for i, key in enumerate(keys):
        tone = _key(key, on_ms, seed=seed * 100 + i, **kw)
        onsets.append(pos)
        parts += [tone, np.zeros(_ms(off_ms))]
        pos += len(tone) + _ms(off_ms)
    return np.concatenate(parts), onsets


# -- the 16 keys, positions, streaming ------------------------------------------------

def test_all_sixteen_keys_with_positions() -> None:
    audio, onsets = _stream(DTMF_KEYS, on_ms=60, off_ms=60)
    spans = detect_digits(_i16(audio))
    assert "".join(s.digit for s in spans) == DTMF_KEYS
    for span, onset in zip(spans, onsets):
        assert abs(span.start - onset) <= _ms(2)
        assert abs(span.end - (onset + _ms(60))) <= _ms(2)
        assert span.start < span.detected < span.end


def test_generator_output_and_digits_of() -> None:
    assert digits_of(dtmf("0123456789*#ABCD", 50, 50)) == "0123456789*#ABCD"
    assert digits_of(np.zeros(8000, dtype=np.int16)) == ""
    assert digits_of(np.zeros(0, dtype=np.int16)) == ""


@given(st.lists(st.integers(1, 400), min_size=1, max_size=60), st.integers(0, 50))
@SETTINGS
def test_any_chunking_gives_the_same_events(sizes: list[int], lead: int) -> None:
    audio = _i16(_padded(_stream("1#1A", on_ms=45, off_ms=45, seed=lead)[0], lead))
    whole = DtmfDetector()
    expected = whole.feed(audio) + whole.flush()
    det, got, i, k = DtmfDetector(), [], 0, 0
    while i < len(audio):
        n = sizes[k % len(sizes)]
        got += det.feed(audio[i:i + n])
        i, k = i + n, k + 1
    got += det.flush()
    assert got == expected
    assert "".join(e.digit for e in got if isinstance(e, KeyDown)) == "1#1A"


def test_one_sample_at_a_time_matches_whole_buffer() -> None:
    audio = _i16(_stream("5D*", on_ms=50, off_ms=45, seed=3)[0])
    whole = DtmfDetector()
    expected = whole.feed(audio) + whole.flush()
    det = DtmfDetector()
    got = []
    for i in range(len(audio)):
        got += det.feed(audio[i:i + 1])
    got += det.flush()
    assert got == expected and len(expected) == 6


def test_events_and_flush_and_reset() -> None:
    det = DtmfDetector()
    tone = _i16(_key("7", 200))
    events = det.feed(tone)
    assert len(events) == 1 and isinstance(events[0], KeyDown)
    assert events[0].digit == "7" and events[0].start <= 1
    up = det.flush()  # stream ends with the key still down: closed near the end
    assert len(up) == 1 and isinstance(up[0], KeyUp)
    assert (up[0].digit, up[0].start) == ("7", events[0].start)
    assert len(tone) - 8 <= up[0].end <= len(tone)
    assert det.flush() == []
    # after flush (and after reset) positions count from zero again
    again = det.feed(np.concatenate([np.zeros(800, np.int16), tone]))
    assert abs(again[0].start - 800) <= 8
    det.reset()
    assert det.feed(np.zeros(10, np.int16)) == [] and det.flush() == []


def test_rejects_other_rates_and_non_integer_samples() -> None:
    with pytest.raises(UsageError):
        DtmfDetector(16000)
    with pytest.raises(UsageError):
        detect_digits(np.zeros(100, np.int16), rate=44100)
    with pytest.raises(UsageError):
        DtmfDetector().feed(np.zeros(100, dtype=np.float32))


# -- frequency ---------------------------------------------------------------------

@given(st.sampled_from(DTMF_KEYS), st.floats(-0.015, 0.015), st.floats(-0.015, 0.015),
       st.integers(0, 101), st.integers(0, 10_000))
@SETTINGS
def test_offsets_within_1_5_percent_detected(key: str, d_low: float, d_high: float,
                                              lead: int, seed: int) -> None:
    audio = _padded(_key(key, 50, dev=(d_low, d_high), seed=seed), lead)
    assert digits_of(_i16(audio)) == key


@pytest.mark.parametrize("dev", [0.035, -0.035, 0.05, -0.05])
@pytest.mark.parametrize("which", ["low", "high", "both"])
def test_offsets_beyond_3_5_percent_rejected(dev: float, which: str) -> None:
    d = (dev if which != "high" else 0.0, dev if which != "low" else 0.0)
    for key in DTMF_KEYS:
        assert digits_of(_i16(_padded(_key(key, 200, dev=d), 30))) == "", key


# -- duration, pauses, dropouts ----------------------------------------------------

@given(st.sampled_from(DTMF_KEYS), st.floats(40, 60), st.integers(0, 101),
       st.integers(0, 10_000))
@SETTINGS
def test_tones_of_40_ms_or_more_detected(key: str, ms: float, lead: int, seed: int) -> None:
    assert digits_of(_i16(_padded(_key(key, ms, seed=seed), lead))) == key


@given(st.sampled_from(DTMF_KEYS), st.floats(5, 23), st.integers(0, 101),
       st.integers(0, 10_000))
@SETTINGS
def test_tones_of_23_ms_or_less_rejected(key: str, ms: float, lead: int, seed: int) -> None:
    assert digits_of(_i16(_padded(_key(key, ms, seed=seed), lead))) == ""


def test_key_held_four_seconds_is_one_digit() -> None:
    spans = detect_digits(_i16(_padded(_key("9", 4000), 123)))
    assert [s.digit for s in spans] == ["9"]
    assert abs(spans[0].end - spans[0].start - 32000) <= 16


@given(st.sampled_from(DTMF_KEYS), st.floats(40, 80), st.integers(0, 101),
       st.integers(0, 10_000))
@SETTINGS
def test_pause_of_40_ms_separates_equal_keys(key: str, gap: float, lead: int,
                                             seed: int) -> None:
    audio = np.concatenate([_key(key, 45, seed=seed), np.zeros(_ms(gap)),
                            _key(key, 45, seed=seed + 1)])
    assert digits_of(_i16(_padded(audio, lead))) == key * 2


@given(st.sampled_from(DTMF_KEYS), st.floats(0.5, 19.9), st.integers(320, 800),
       st.booleans(), st.integers(0, 10_000))
@SETTINGS
def test_dropout_under_20_ms_does_not_split(key: str, ms: float, at: int,
                                            keep_phase: bool, seed: int) -> None:
    """ETSI: a tone interrupted for less than 20 ms stays one key (pieces >= 40 ms)."""
    cut, after = _ms(ms), _ms(50)
    if keep_phase:  # a gated tone: the phase runs on under the dropout
        tone = _key(key, (at + cut + after) / 8, seed=seed)
        tone[at:at + cut] = 0.0
    else:  # two pieces with unrelated phases
        tone = np.concatenate([_key(key, at / 8, seed=seed), np.zeros(cut),
                               _key(key, after / 8, seed=seed + 7)])
    spans = detect_digits(_i16(_padded(tone, 17)))
    assert [s.digit for s in spans] == [key]
    assert abs(spans[0].end - (17 + len(tone))) <= _ms(2)


@pytest.mark.parametrize("gap", [40.0, 45.0])
def test_dropout_of_40_ms_splits(gap: float) -> None:
    for key in DTMF_KEYS:
        tone = _key(key, 140)
        tone[_ms(50):_ms(50 + gap)] = 0.0
        assert digits_of(_i16(_padded(tone, 31))) == key * 2


# -- twist, level -----------------------------------------------------------------

@pytest.mark.parametrize("twist", [-8.0, -6.0, -3.0, 0.0, 2.0, 4.0])
def test_twist_from_minus_8_to_plus_4_detected(twist: float) -> None:
    audio, _ = _stream(DTMF_KEYS, on_ms=45, off_ms=45, seed=int(twist) + 10, twist_db=twist)
    assert digits_of(_i16(audio)) == DTMF_KEYS


@pytest.mark.parametrize("twist", [-14.0, 10.0])
def test_gross_twist_rejected(twist: float) -> None:
    audio, _ = _stream(DTMF_KEYS, on_ms=100, off_ms=45, twist_db=twist)
    assert digits_of(_i16(audio)) == ""


@pytest.mark.parametrize("level", [-3.0, -10.0, -20.0, -29.0, -36.0])
def test_levels_from_minus_29_to_minus_3_dbm0_detected(level: float) -> None:
    audio, _ = _stream(DTMF_KEYS, on_ms=45, off_ms=45, dbm0=level)
    assert digits_of(_i16(audio)) == DTMF_KEYS


@pytest.mark.parametrize("level", [-50.0, -55.0, -70.0])
def test_levels_of_minus_50_dbm0_and_below_rejected(level: float) -> None:
    audio, _ = _stream(DTMF_KEYS, on_ms=100, off_ms=45, dbm0=level)
    assert digits_of(_i16(audio)) == ""


# -- noise, dial tone, line paths ------------------------------------------------

@pytest.mark.parametrize("level", [-10.0, -25.0])
@pytest.mark.parametrize("seed", range(3))
def test_every_key_found_at_12_db_snr(level: float, seed: int) -> None:
    audio, _ = _stream(DTMF_KEYS, on_ms=45, off_ms=45, seed=seed, dbm0=level)
    tone_power_dbm0 = level + 10 * np.log10(2)  # two tones at `level` each
    noise = white_noise(len(audio), tone_power_dbm0 - 12.0, np.random.default_rng(seed))
    assert digits_of(_i16(audio + noise)) == DTMF_KEYS


def test_dial_tone_10_db_under_does_not_hide_keys() -> None:
    audio, _ = _stream(DTMF_KEYS, on_ms=45, off_ms=45, dbm0=-12.0)
    dial = sine_mix([350.0, 440.0], len(audio) / 8, -22.0).astype(float)
    assert digits_of(_i16(audio + dial)) == DTMF_KEYS


@pytest.mark.parametrize("codec", ["ulaw", "alaw", "u8"])
@pytest.mark.parametrize("level", [-3.0, -29.0])
def test_g711_and_8_bit_linear_paths(codec: str, level: float) -> None:
    audio, _ = _stream(DTMF_KEYS, on_ms=45, off_ms=45, dbm0=level)
    enc, dec = {"ulaw": (g711.ulaw_encode, g711.ulaw_decode),
                "alaw": (g711.alaw_encode, g711.alaw_decode),
                "u8": (g711.u8_encode, g711.u8_decode)}[codec]
    assert digits_of(dec(enc(_i16(audio)))) == DTMF_KEYS
    twisted, _ = _stream(DTMF_KEYS, on_ms=45, off_ms=45, dbm0=level + 4, twist_db=-8)
    assert digits_of(dec(enc(_i16(twisted)))) == DTMF_KEYS


# -- latency ------------------------------------------------------------------------

def test_latency_at_most_45_ms_median_at_most_35() -> None:
    latencies = []
    for i, key in enumerate(DTMF_KEYS * 4):
        lead = (i * 37) % 160
        spans = detect_digits(_i16(_padded(_key(key, 80, seed=i), lead)))
        assert len(spans) == 1
        latencies.append((spans[0].detected - lead) / 8.0)
    assert max(latencies) <= 45.0
    assert float(np.median(latencies)) <= 35.0


def test_digit_span_is_what_detect_digits_returns() -> None:
    spans = detect_digits(_i16(_padded(_key("#", 60), 0)))
    assert spans and isinstance(spans[0], DigitSpan)
