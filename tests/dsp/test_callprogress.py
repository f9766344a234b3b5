"""Call-progress detector: every kind in every country, under line conditions.

Signals reach the detector as audio: our generator with noise, G.711 and level and
frequency offsets; espeak-ng speech before the tone; sox as an independent generator.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from firmware.dsp import g711, tones
from firmware.dsp.audiofile import read_audio
from firmware.dsp.callprogress import CallProgressDetector, detect_tones, patterns_for
from firmware.dsp.level import rms_dbm0, white_noise
from firmware.errors import UsageError

RATE = 8000
START_TOLERANCE = 0.060 * RATE  # the recorder trims a tone off at `start`
KINDS = ("dial", "ringback", "busy", "reorder", "sit", "fax_cng", "fax_ced")
EXPECTED = {("jp", "reorder"): "busy"}  # NTT's reorder is its busy tone
LEAD_IN = 4000  # 0.5 s before each tone


def expected(country: str, kind: str) -> str:
    return EXPECTED.get((country, kind), kind)


def signal_ms(country: str, kind: str) -> float:
    plan = tones.PLANS[country][kind]
    if kind == "ringback":
        return sum(plan.cadence_ms) + plan.cadence_ms[0]
    return 5000.0


def line(x: np.ndarray, snr_db: float | None, seed: int = 7) -> np.ndarray:
    """Through a line: white noise `snr_db` under the tone's on-level, then mu-law."""
    y = x.astype(np.float64)
    if snr_db is not None:
        on = x[np.abs(x) > 0]
        noise = white_noise(len(x), rms_dbm0(on) - snr_db, np.random.default_rng(seed))
        y = y + noise
    y = np.clip(np.round(y), -32768, 32767).astype(np.int16)
    return g711.ulaw_decode(g711.ulaw_encode(y))


def decided(events: list) -> list:
    return [e for e in events if e.end is None]


def run_stream(x: np.ndarray, country: str, chunk: int = 160) -> list:
    det = CallProgressDetector(country)
    events = []
    for i in range(0, len(x), chunk):
        events += det.feed(x[i:i + chunk])
    return events + det.flush()


CONDITIONS = {
    "clean": dict(dbm0=-13.0, detune=1.0, snr=None),
    "quiet-noisy": dict(dbm0=-30.0, detune=1.0, snr=20.0),
    "loud-sharp": dict(dbm0=-6.0, detune=1.015, snr=20.0),
    "flat-noisy": dict(dbm0=-20.0, detune=0.985, snr=20.0),
}


@pytest.mark.parametrize("condition", list(CONDITIONS))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("country", tones.COUNTRIES)
def test_each_kind_in_each_country(country: str, kind: str, condition: str) -> None:
    c = CONDITIONS[condition]
    plan = tones.PLANS[country][kind]
    tone = tones.render(plan, signal_ms(country, kind), c["dbm0"], c["detune"])
    x = line(np.concatenate([np.zeros(LEAD_IN, np.int16), tone]), c["snr"])
    events = run_stream(x, country)
    first = decided(events)[0]
    assert {e.type for e in events} == {expected(country, kind)}, events
    assert abs(first.start - LEAD_IN) <= START_TOLERANCE
    assert first.detected > first.start


def test_uk_number_unobtainable_is_reorder() -> None:
    x = np.concatenate([np.zeros(LEAD_IN, np.int16), tones.render(tones.UK_UNOBTAINABLE, 3000)])
    (event,) = detect_tones(line(x, 20.0), "uk")
    assert event.type == "reorder"
    assert (event.detected - event.start) / RATE == pytest.approx(1.3, abs=0.1)
    assert abs(event.end - len(x)) <= START_TOLERANCE


# Decision latency from the tone's onset, as cadence.py documents it (+ <= 80 ms).
LATENCY_S = [
    ("us", "dial", 1.0), ("cn", "dial", 1.2), ("us", "ringback", 1.6), ("tw", "ringback", 0.8),
    ("de", "ringback", 1.0), ("uk", "ringback", 0.32), ("us", "busy", 1.4), ("us", "reorder", 0.7),
    ("uk", "busy", 1.05), ("uk", "reorder", 0.975), ("cn", "busy", 0.98), ("de", "reorder", 0.67),
    ("us", "sit", 0.75), ("de", "fax_cng", 2.9), ("jp", "fax_ced", 1.0),
]


@pytest.mark.parametrize("country,kind,seconds", LATENCY_S)
def test_decision_latency(country: str, kind: str, seconds: float) -> None:
    x = np.concatenate([np.zeros(LEAD_IN, np.int16), tones.call_progress(kind, country, 8000)])
    first = decided(run_stream(x, country))[0]
    latency = (first.detected - LEAD_IN) / RATE
    assert seconds - 0.03 <= latency <= seconds + 0.08


def test_events_report_start_end_and_decision() -> None:
    x = np.concatenate([np.zeros(LEAD_IN, np.int16), tones.call_progress("reorder", "us", 3000),
                        np.zeros(8000, np.int16)])
    events = run_stream(x, "us")
    assert [(e.type, e.end is None) for e in events] == [("reorder", True), ("reorder", False)]
    opened, closed = events
    assert (opened.start, opened.detected) == (closed.start, closed.detected)
    last_on_end = LEAD_IN + int(2.75 * RATE)  # 6 cycles of 0.25/0.25, the last off is silence
    assert abs(closed.end - last_on_end) <= START_TOLERANCE


def test_chunking_does_not_matter() -> None:
    x = line(np.concatenate([np.zeros(LEAD_IN, np.int16), tones.call_progress("busy", "de", 6000)]),
             20.0)
    whole = run_stream(x, "de", chunk=len(x))
    rng = np.random.default_rng(3)
    det = CallProgressDetector("de")
    events, pos = [], 0
    while pos < len(x):
        n = int(rng.integers(1, 700))
        events += det.feed(x[pos:pos + n])
        pos += n
    assert events + det.flush() == whole
    det.reset()
    assert det.feed(x) + det.flush() == whole


def test_silence_is_reported_after_silence_ms() -> None:
    quiet = white_noise(8 * RATE, -60.0, np.random.default_rng(1))
    x = np.concatenate([tones.call_progress("busy", "us", 2000), quiet])
    events = detect_tones(x, "us", silence_ms=5000)
    assert [e.type for e in events] == ["busy", "silence"]
    silence = events[1]
    assert abs(silence.start - 2 * RATE) <= 0.6 * RATE  # after the last busy burst ends
    assert silence.end == len(x)


def test_unknown_country() -> None:
    with pytest.raises(UsageError, match="valid: us, tw, cn, uk, de, jp"):
        CallProgressDetector("fr")


def test_within_a_country_no_two_patterns_alike() -> None:
    for country in tones.COUNTRIES:
        for freqs, patterns in patterns_for(country).items():
            cadences = [p.cadence_ms for p in patterns]
            assert len(set(cadences)) == len(cadences), (country, freqs, patterns)


# --- Speech, music and DTMF: no tone events (talk-off) ---------------------------------

SENTENCES = [
    "Hello, you have reached the office. Please leave a message after the tone.",
    "I was calling about the invoice from last Tuesday, the number is four five six.",
    "Ooh, aah, mmm. Well, hmmmm, nooooo, I'd rather wait for an hour or two.",
]


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("speech")
    parts = []
    for i, (voice, text) in enumerate(zip(["en", "en-us+f3", "en-gb+m5"], SENTENCES)):
        wav = out / f"s{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
        parts.append(read_audio(wav))
    return np.concatenate(parts)


def _scaled(x: np.ndarray, dbm0: float) -> np.ndarray:
    gain = 10 ** ((dbm0 - rms_dbm0(x[np.abs(x) > 50])) / 20)
    return np.clip(np.round(x * gain), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("country", tones.COUNTRIES)
def test_speech_gives_no_tone_events(speech: np.ndarray, country: str) -> None:
    for level in (-20.0, -6.0):
        assert detect_tones(line(_scaled(speech, level), 30.0), country) == []


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Hold music made by sox: a plucked melody, then sustained organ-like chords."""
    out = tmp_path_factory.mktemp("music")
    notes = ["A3", "C4", "E4", "G#3", "A4", "B3", "D4", "F4", "E4", "C4", "A3", "E3"]
    melody = []
    for n in notes:  # ':' chains play one after another
        melody += ["synth", "0.45", "pluck", n, ":"]
    chords = ["synth", "1.5", "triangle", "A2", "triangle", "mix", "C4", "triangle", "mix", "E4",
              "tremolo", "5", "40", ":", "synth", "1.5", "square", "F3", "square", "mix", "A3",
              "square", "mix", "C4"]
    parts = []
    for name, effects, post in (("melody", melody[:-1], ["gain", "-6", "repeat", "2"]),
                                ("chords", chords, ["gain", "-12", "repeat", "3"])):
        raw, wav = out / f"{name}-raw.wav", out / f"{name}.wav"
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(raw), *effects],
                       check=True, capture_output=True)
        subprocess.run(["sox", str(raw), str(wav), *post], check=True, capture_output=True)
        parts.append(read_audio(wav))
    assert sum(len(p) for p in parts) > 20 * RATE
    return np.concatenate(parts)


@pytest.mark.parametrize("country", tones.COUNTRIES)
def test_music_gives_no_tone_events(music: np.ndarray, country: str) -> None:
    assert detect_tones(line(_scaled(music, -15.0), 30.0), country) == []


@pytest.mark.parametrize("country", tones.COUNTRIES)
def test_dtmf_gives_no_tone_events(country: str) -> None:
    x = np.concatenate([tones.dtmf("0123456789*#ABCD", 100, 100, -10),
                        tones.dtmf("5#9*0D", 600, 400, -6, twist_db=-4),
                        tones.dtmf("1111", 300, 300, -20)])
    assert detect_tones(line(x, 20.0), country) == []


# --- Tones after speech: start within 60 ms -------------------------------------------

@pytest.mark.parametrize("country,kind", [("us", "reorder"), ("us", "dial"), ("uk", "busy"),
                                          ("de", "busy"), ("cn", "reorder"), ("tw", "busy"),
                                          ("jp", "dial"), ("uk", "dial")])
@pytest.mark.parametrize("gap_ms", [0, 300])
def test_tone_after_speech_starts_where_it_starts(speech: np.ndarray, country: str, kind: str,
                                                  gap_ms: int) -> None:
    talk = _scaled(speech[: 4 * RATE], -15.0)
    onset = len(talk) + gap_ms * RATE // 1000
    x = np.concatenate([talk, np.zeros(onset - len(talk), np.int16),
                        tones.call_progress(kind, country, 5000, dbm0=-20)])
    events = decided(run_stream(line(x, 25.0), country))
    assert [e.type for e in events] == [kind]
    assert abs(events[0].start - onset) <= START_TOLERANCE


# --- sox as an independent generator ---------------------------------------------------

def _sox(path: Path, *effects: str) -> np.ndarray:
    """Synthesise with sox (':' chains play one after another), then -12 dB and 0.5 s lead-in."""
    raw = path.with_name("raw.wav")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(raw), *effects],
                   check=True, capture_output=True)
    subprocess.run(["sox", str(raw), str(path), "gain", "-12", "pad", "0.5", "0"],
                   check=True, capture_output=True)
    return read_audio(path)


SOX_SIGNALS = [
    ("us", "busy", ["synth", "0.5", "sine", "480", "sine", "mix", "620", "pad", "0", "0.5",
                    "repeat", "4"]),
    ("us", "dial", ["synth", "3", "sine", "350", "sine", "mix", "440"]),
    ("uk", "ringback", ["synth", "0.4", "sine", "400", "sine", "mix", "450", "pad", "0", "0.2",
                        ":", "synth", "0.4", "sine", "400", "sine", "mix", "450", "pad", "0",
                        "2", "repeat", "1"]),
    ("de", "reorder", ["synth", "0.24", "sine", "425", "pad", "0", "0.24", "repeat", "6"]),
    ("jp", "ringback", ["synth", "1", "sine", "400", "sine", "amod", "16", "pad", "0", "2",
                        "repeat", "1"]),
    ("cn", "busy", ["synth", "0.35", "sine", "450", "pad", "0", "0.35", "repeat", "5"]),
    ("tw", "fax_ced", ["synth", "3.3", "sine", "2100"]),
    ("uk", "fax_cng", ["synth", "0.5", "sine", "1100", "pad", "0", "3", "repeat", "1"]),
    ("us", "sit", ["synth", "0.274", "sine", "913.8", ":", "synth", "0.274", "sine", "1370.6",
                   ":", "synth", "0.38", "sine", "1776.7"]),
]


@pytest.mark.parametrize("country,kind,effects", SOX_SIGNALS, ids=[f"{c}-{k}" for c, k, _ in SOX_SIGNALS])
def test_sox_generated_tones(tmp_path: Path, country: str, kind: str, effects: list[str]) -> None:
    x = _sox(tmp_path / "t.wav", *effects)
    events = detect_tones(line(x, 25.0), country)
    assert [e.type for e in events] == [kind]
    assert abs(events[0].start - LEAD_IN) <= START_TOLERANCE
