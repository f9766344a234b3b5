"""dBm0 helpers and voice activity, on espeak-ng speech with pauses and line noise."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pytest

from firmware.dsp import g711
from firmware.dsp.audiofile import read_audio
from firmware.dsp.level import (
    FULL_SCALE_SINE_DBM0, VadSegment, VoiceActivity, dbm0_to_peak, dbm0_to_rms,
    frame_levels_dbm0, rms_dbm0, speech_segments, white_noise,
)
from firmware.dsp.tones import sine_mix

RATE = 8000
EDGE = int(0.06 * RATE)  # segment edges within 60 ms


def test_dbm0_reference_points() -> None:
    assert dbm0_to_peak(FULL_SCALE_SINE_DBM0) == pytest.approx(32767.0)
    assert dbm0_to_rms(0.0) * math.sqrt(2) == pytest.approx(32767.0 * 10 ** (-3.14 / 20))
    assert rms_dbm0(sine_mix([1000], 1000, -20.0)) == pytest.approx(-20.0, abs=0.01)
    assert rms_dbm0(np.zeros(10)) == rms_dbm0([]) == -120.0
    noise = white_noise(80000, -30.0, np.random.default_rng(0))
    assert rms_dbm0(noise) == pytest.approx(-30.0, abs=0.1)


def test_frame_levels_remove_dc() -> None:
    x = np.concatenate([sine_mix([500], 40, -10.0), np.full(320, 3000, np.int16)])
    levels = frame_levels_dbm0(x, 160)
    assert levels[:2] == pytest.approx([-10.0, -10.0], abs=0.2)
    assert levels[2:].tolist() == [-120.0, -120.0]


@pytest.fixture(scope="module")
def sentences(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("vad")
    texts = ["Hello, this is Anna from the bakery.", "Please call me back tomorrow morning."]
    parts = []
    for i, text in enumerate(texts):
        wav = out / f"{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav), text], check=True)
        x = read_audio(wav)
        loud = np.nonzero(np.abs(x) > 150)[0]  # cut espeak's own lead-in and tail
        parts.append(x[loud[0]: loud[-1] + 1])
    return parts


def message(sentences: list[np.ndarray], gap_s: float = 1.5,
            tail_s: float = 4.0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Two sentences with a pause, then silence; and where the speech really is."""
    lead = np.zeros(int(0.5 * RATE), np.int16)
    gap = np.zeros(int(gap_s * RATE), np.int16)
    tail = np.zeros(int(tail_s * RATE), np.int16)
    a, b = sentences
    x = np.concatenate([lead, a, gap, b, tail])
    truth = [(len(lead), len(lead) + len(a))]
    truth.append((truth[0][1] + len(gap), truth[0][1] + len(gap) + len(b)))
    return x, truth


def on_line(x: np.ndarray, noise_dbm0: float, seed: int = 1) -> np.ndarray:
    y = x + white_noise(len(x), noise_dbm0, np.random.default_rng(seed)).astype(np.float64)
    y = np.clip(np.round(y), -32768, 32767).astype(np.int16)
    return g711.ulaw_decode(g711.ulaw_encode(y))


def assert_segments(found: list[VadSegment], truth: list[tuple[int, int]],
                    edge: int = EDGE) -> None:
    assert len(found) == len(truth), found
    for seg, (start, end) in zip(found, truth):
        assert seg.speech
        assert abs(seg.start - start) <= edge and abs(seg.end - end) <= edge, (seg, start, end)


def test_speech_with_pauses_on_a_quiet_line(sentences: list[np.ndarray]) -> None:
    x, truth = message(sentences)
    assert_segments(speech_segments(on_line(x, -60.0), hangover_ms=500), truth)


def test_hiss_needs_the_adaptive_floor(sentences: list[np.ndarray]) -> None:
    x, truth = message(sentences)
    hissy = on_line(x, -35.0)
    (everything,) = speech_segments(hissy, hangover_ms=500)  # fixed -40 dBm0: all "speech"
    assert everything.start == 0
    vad = VoiceActivity(hangover_ms=500, adaptive=True)
    found = [s for s in vad.feed(hissy) + vad.flush() if s.speech]
    assert_segments(found, truth, edge=int(0.08 * RATE))  # soft onsets sink into the hiss


def test_adaptive_floor_follows_the_line_not_the_speech(sentences: list[np.ndarray]) -> None:
    x, _ = message(sentences)
    vad = VoiceActivity(adaptive=True)
    vad.feed(on_line(x, -45.0))
    assert vad.noise_floor_dbm0 == pytest.approx(-45.0, abs=2.0)
    assert vad.threshold_now() == pytest.approx(-35.0, abs=2.0)


def test_segments_tile_the_stream_and_chunking_does_not_matter(sentences: list[np.ndarray]) -> None:
    x = on_line(message(sentences)[0], -55.0)
    whole = VoiceActivity(hangover_ms=400)
    expected = whole.feed(x) + whole.flush()
    assert expected[0].start == 0 and expected[-1].end == len(x)
    assert all(a.end == b.start and a.speech != b.speech for a, b in zip(expected, expected[1:]))
    vad, got, pos = VoiceActivity(hangover_ms=400), [], 0
    rng = np.random.default_rng(5)
    while pos < len(x):
        n = int(rng.integers(1, 500))
        got += vad.feed(x[pos:pos + n])
        pos += n
    assert got + vad.flush() == expected


def test_recorder_can_end_on_n_seconds_of_silence(sentences: list[np.ndarray]) -> None:
    """What the recorder does: stop after 3 s of silence, trim back to the speech's end."""
    x, truth = message(sentences, tail_s=6.0)
    x = on_line(x, -55.0)
    vad, stop_at, last_speech_end = VoiceActivity(hangover_ms=500), None, 0
    for pos in range(0, len(x), 160):
        for seg in vad.feed(x[pos:pos + 160]):
            if seg.speech:
                last_speech_end = seg.end
        if vad.silent_for >= 3 * RATE and not vad.in_speech:
            stop_at = pos + 160
            break
    assert stop_at is not None
    assert abs(stop_at - (truth[1][1] + 3 * RATE)) <= EDGE
    assert abs(last_speech_end - truth[1][1]) <= EDGE  # the pause between sentences did not stop it


def test_hangover_bridges_short_pauses(sentences: list[np.ndarray]) -> None:
    x, truth = message(sentences, gap_s=0.25)
    (seg,) = speech_segments(on_line(x, -60.0), hangover_ms=400)
    assert abs(seg.start - truth[0][0]) <= EDGE and abs(seg.end - truth[1][1]) <= EDGE
    assert len(speech_segments(on_line(x, -60.0), hangover_ms=100)) >= 2


def test_clicks_are_not_speech() -> None:
    x = np.zeros(RATE * 2, np.int16)
    x[4000:4080] = 20000  # a 10 ms pop
    x[9000:9010] = -30000
    assert speech_segments(x) == []
    vad = VoiceActivity()
    assert vad.feed(x) == [] and vad.silent_for == len(x)
    assert vad.flush() == [VadSegment(False, 0, len(x))]
