"""CPU per 20 ms frame of what a call's listener does: DTMF + call-progress detection.

Every 20 ms step of a call (`firmware.ivr.call.Call._listen`) feeds the line's frame of
160 samples to `DtmfDetector.feed` and to `CallProgressDetector.feed`; on-hook, a line
feeds `CallerIdDecoder.feed` instead. This bench times exactly those calls, frame by
frame, on the kinds of audio a call hears:

    speech      espeak-ng speech (tests/dsp/talkoff.py), as a caller talking
    silence     a quiet line: white noise at -65 dBm0
    tone        US busy tone at -20 dBm0 (what ends a call when the caller hangs up)
    keys        speech with a DTMF key string every 2 s (keys decided while timing)

and prints CPU microseconds per frame (time.process_time, best of --repeat passes) and
the share of one core that is (us per 20 000 us). The Pi Zero 2's Cortex-A53 core runs
this kind of Python/numpy code several times slower than a desktop core; the figures
here are for the machine the bench runs on.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/call_frame_bench.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.dsp import tones  # noqa: E402
from firmware.dsp.callerid import CallerIdDecoder  # noqa: E402
from firmware.dsp.callprogress import CallProgressDetector  # noqa: E402
from firmware.dsp.dtmf import DtmfDetector  # noqa: E402
from firmware.dsp.level import white_noise  # noqa: E402
from tests.dsp import talkoff  # noqa: E402

RATE = 8000
FRAME = 160  # samples: the line's 20 ms frame
FRAME_US = 20_000.0
QUIET_DBM0 = -65.0
TONE_DBM0 = -20.0
KEY_EVERY_S = 2.0


def _int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def material(seconds: float) -> dict[str, np.ndarray]:
    n = int(seconds * RATE)
    rng = np.random.default_rng(5)
    speech = np.tile(talkoff.english_speech(), int(np.ceil(n / 80000)) + 1)[:n]
    busy = tones.call_progress("busy", "us", seconds * 1000, dbm0=TONE_DBM0)
    keys = speech.astype(np.float64) * 0.5
    for start in range(RATE, n - RATE, int(KEY_EVERY_S * RATE)):
        tone = tones.dtmf("159#", 60, 60, dbm0=-10).astype(np.float64)
        keys[start:start + len(tone)] = tone + 0.1 * keys[start:start + len(tone)]
    return {
        "speech": _int16(speech),
        "silence": _int16(white_noise(n, QUIET_DBM0, rng)),
        "tone": busy[:n],
        "keys": _int16(keys),
    }


def per_frame_us(audio: np.ndarray, make: Callable[[], Callable[[np.ndarray], object]],
                 repeat: int) -> float:
    """Best-of-`repeat` CPU microseconds per 160-sample feed (fresh detectors each pass)."""
    frames = [audio[i:i + FRAME] for i in range(0, len(audio) - FRAME + 1, FRAME)]
    best = float("inf")
    for _ in range(repeat):
        feed = make()
        t0 = time.process_time()
        for frame in frames:
            feed(frame)
        best = min(best, time.process_time() - t0)
    return best / len(frames) * 1e6


def call_listener() -> Callable[[np.ndarray], object]:
    dtmf, progress = DtmfDetector(), CallProgressDetector("us")

    def feed(frame: np.ndarray) -> object:
        return dtmf.feed(frame), progress.feed(frame)
    return feed


def dtmf_only() -> Callable[[np.ndarray], object]:
    return DtmfDetector().feed


def progress_only() -> Callable[[np.ndarray], object]:
    return CallProgressDetector("us").feed


def callerid_only() -> Callable[[np.ndarray], object]:
    return CallerIdDecoder().feed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="audio per kind")
    ap.add_argument("--repeat", type=int, default=3, help="passes; the best is kept")
    args = ap.parse_args()
    audio = material(args.seconds)
    parts = (("DTMF + call progress (a call)", call_listener), ("DTMF alone", dtmf_only),
             ("call progress alone", progress_only), ("caller ID (on-hook)", callerid_only))
    print(f"CPU per 20 ms frame, us (share of one core); {args.seconds:.0f} s of each kind, "
          f"best of {args.repeat}")
    print(f"{'':32s}" + "".join(f"{kind:>18s}" for kind in audio))
    for name, make in parts:
        cells = []
        for x in audio.values():
            us = per_frame_us(x, make, args.repeat)
            cells.append(f"{us:7.1f} ({100 * us / FRAME_US:5.2f}%)")
        print(f"{name:32s}" + "".join(f"{c:>18s}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
