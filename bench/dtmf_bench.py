"""DTMF receiver benchmark: ours (firmware.dsp.dtmf) against spandsp's dtmf_rx.

Prints, from one run:
  - throughput in audio seconds per CPU second (time.process_time / clock()), streaming
    in 20 ms frames and whole-file, for both, and the ratio ours / spandsp;
  - latency from tone onset to KeyDown (median, p95, max in ms) over keys at random
    levels, twists, phases and onsets (spandsp fed one sample per call, for comparison);
  - false digits per hour on the talk-off material of tests/dsp/talkoff.py.

Run from the repository root: `.venv/bin/python bench/dtmf_bench.py [--quick]`.
The spandsp harness (bench/spandsp_dtmf.c) is compiled into bench/.build/ on demand.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.dsp.dtmf import DtmfDetector, KeyDown, detect_digits  # noqa: E402
from firmware.dsp.level import dbm0_to_peak  # noqa: E402
from firmware.dsp.tones import DTMF_FREQS, DTMF_KEYS, dtmf  # noqa: E402
from tests.dsp import talkoff  # noqa: E402

RATE = 8000
FRAME = 160  # 20 ms, the line's frame
HARNESS_SRC = ROOT / "bench" / "spandsp_dtmf.c"
HARNESS = ROOT / "bench" / ".build" / "spandsp_dtmf"


def build_harness() -> Path:
    if not HARNESS.exists() or HARNESS.stat().st_mtime < HARNESS_SRC.stat().st_mtime:
        HARNESS.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["gcc", "-O2", "-o", str(HARNESS), str(HARNESS_SRC), "-lspandsp",
                        "-lm"], check=True)
    return HARNESS


def spandsp(audio: np.ndarray, frame: int, repeat: int) -> tuple[str, list[tuple[str, int]],
                                                                float]:
    """(digits, [(digit, sample of the call that reported it)], CPU seconds of all passes)."""
    with tempfile.NamedTemporaryFile(suffix=".raw") as f:
        audio.astype(np.int16).tofile(f.name)
        with open(f.name, "rb") as stdin:
            out = subprocess.run([str(HARNESS), str(frame), str(repeat)], stdin=stdin,
                                 capture_output=True, text=True, check=True).stdout
    digits, onsets, cpu = "", [], 0.0
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "digits":
            digits = parts[1] if len(parts) > 1 else ""
        elif parts and parts[0] == "onset":
            onsets.append((parts[1], int(parts[2])))
        elif parts and parts[0] == "cpu_seconds":
            cpu = float(parts[1])
    return digits, onsets, cpu


def ours_stream(audio: np.ndarray) -> tuple[str, float]:
    det = DtmfDetector()
    keys = []
    t0 = time.process_time()
    for i in range(0, len(audio), FRAME):
        keys += [e.digit for e in det.feed(audio[i:i + FRAME]) if isinstance(e, KeyDown)]
    det.flush()
    return "".join(keys), time.process_time() - t0


def ours_whole(audio: np.ndarray, repeat: int) -> tuple[str, float]:
    t0 = time.process_time()
    for _ in range(repeat):
        spans = detect_digits(audio)
    return "".join(s.digit for s in spans), (time.process_time() - t0) / repeat


def throughput_signal(seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Speech with a key string every 10 s, the kind of audio a call brings."""
    speech = talkoff.english_speech()
    out = np.zeros(int(seconds * RATE))
    reps = int(np.ceil(len(out) / len(speech)))
    out[:] = np.tile(speech, reps)[: len(out)] * 0.5
    keys = ""
    for start in range(2 * RATE, len(out) - 2 * RATE, 10 * RATE):
        s = "".join(rng.choice(list(DTMF_KEYS), 4))
        tone = dtmf(s, 70, 80, dbm0=-8).astype(float)
        out[start:start + len(tone)] = tone + out[start:start + len(tone)] * 0.1
        keys += s
    return np.clip(np.round(out), -32768, 32767).astype(np.int16), keys


def latency_set(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[int], str]:
    """n single keys, 80 ms each, random level/twist/phase/onset, 300 ms apart."""
    parts, onsets, keys, pos = [], [], "", 0
    for _ in range(n):
        key = str(rng.choice(list(DTMF_KEYS)))
        lead = int(rng.integers(100, 400))
        level, twist = rng.uniform(-29, -3), rng.uniform(-8, 4)
        t = np.arange(640) / RATE
        low, high = DTMF_FREQS[key]
        tone = (dbm0_to_peak(level) * np.sin(2 * np.pi * low * t + rng.uniform(0, 6.3))
                + dbm0_to_peak(min(level + twist, -3.0))
                * np.sin(2 * np.pi * high * t + rng.uniform(0, 6.3)))
        parts += [np.zeros(lead), tone, np.zeros(1600)]
        onsets.append(pos + lead)
        keys += key
        pos += lead + 640 + 1600
    audio = np.clip(np.round(np.concatenate(parts)), -32768, 32767).astype(np.int16)
    return audio, onsets, keys


def _stats(ms: list[float]) -> str:
    a = np.asarray(ms)
    return f"median {np.median(a):5.1f}  p95 {np.percentile(a, 95):5.1f}  max {a.max():5.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller material (a smoke run)")
    args = ap.parse_args()
    rng = np.random.default_rng(2024)
    build_harness()

    seconds = 120.0 if args.quick else 600.0
    audio, keys = throughput_signal(seconds, rng)
    dur = len(audio) / RATE
    s_digits, _, s_stream = spandsp(audio, FRAME, 10)
    _, _, s_whole = spandsp(audio, 0, 10)
    s_stream, s_whole = dur * 10 / s_stream, dur * 10 / s_whole
    o_digits, o_stream = ours_stream(audio)
    w_digits, o_whole = ours_whole(audio, 3)
    o_stream, o_whole = dur / o_stream, dur / o_whole
    print(f"throughput on {dur:.0f} s of speech with {len(keys)} keys "
          "(audio seconds per CPU second):")
    print(f"  streaming 20 ms frames: ours {o_stream:9.0f}x  spandsp {s_stream:9.0f}x  "
          f"ratio {o_stream / s_stream:.3f}")
    print(f"  whole file:             ours {o_whole:9.0f}x  spandsp {s_whole:9.0f}x  "
          f"ratio {o_whole / s_whole:.3f}")
    print(f"  keys right: ours stream {o_digits == keys}, whole {w_digits == keys}; "
          f"spandsp {s_digits == keys}")

    n = 100 if args.quick else 400
    lat_audio, onsets, lat_keys = latency_set(n, rng)
    spans = detect_digits(lat_audio)
    ours_lat = [(s.detected - o) / 8.0 for s, o in zip(spans, onsets)]
    _, s_onsets, _ = spandsp(lat_audio, 1, 1)
    starts = np.asarray(onsets)
    s_lat = []
    for digit, at in s_onsets:  # pair each report with the key it belongs to
        i = int(np.searchsorted(starts, at, side="right")) - 1
        if i >= 0 and at - starts[i] < 2000 and lat_keys[i] == digit:
            s_lat.append((at - starts[i]) / 8.0)
    print(f"latency onset -> key down over {n} keys (-29..-3 dBm0, twist -8..+4 dB):")
    print(f"  ours    {_stats(ours_lat)}  (keys right: "
          f"{''.join(s.digit for s in spans) == lat_keys})")
    print(f"  spandsp {_stats(s_lat)}  (found {len(s_lat)} of {n} keys with default "
          "settings)")

    corpus = talkoff.corpus(max_files=100 if args.quick else None)
    hours = sum(len(x) for x in corpus.values()) / RATE / 3600.0
    ours_false = {name: len(detect_digits(x)) for name, x in corpus.items()}
    s_false = {name: len(spandsp(x, FRAME, 1)[1]) for name, x in corpus.items()}
    print(f"talk-off: {hours * 60:.1f} min of speech and music, false digits "
          f"(ours / spandsp):")
    for name in corpus:
        print(f"  {name:18s} {len(corpus[name]) / RATE / 60:6.1f} min  "
              f"{ours_false[name]:3d} / {s_false[name]:3d}")
    print(f"  per hour: ours {sum(ours_false.values()) / hours:.1f}, "
          f"spandsp {sum(s_false.values()) / hours:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
