"""TTY listening on every call: CPU per 20 ms frame, and how fast a TTY is recognised.

Every step of a call feeds its 160-sample frame to `TtyWatch.feed` (firmware/ivr/tty.py,
the Baudot decoder behind a carrier/purity gate). This bench times exactly that call,
frame by frame, in two modes:

    45.45       TtyWatch(45.45): one rate (what calls did before 50 baud was heard)
    auto        TtyWatch(): 45.45 and 50 framed from one demodulator until a TTY is
                heard (what calls do now; after that, one rate)

on:

    speech      espeak-ng speech (tests/dsp/talkoff.py), a caller talking
    music       sox music (talk-off material)
    silence     white noise at -65 dBm0
    tty45/tty50 Baudot text at -20 dBm0 at 45.45/50 baud (a TTY typing all the time:
                the worst case; for "auto" the watch is fed a fresh stream, so it
                frames at both rates until it locks, then at one)

and prints CPU microseconds per frame (time.process_time, best of --repeat passes) and
the share of one core. Then it measures detection latency in auto mode at each rate:
the time from the start bit of a TTY's first code (LTRS) to the frame in which the call
knows it is a TTY, over levels -30..-6 dBm0, three text openings and 20 phase offsets.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/tty_bench.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.dsp.baudot import LEAD_MS, TTY_BAUD_EU, TTY_BAUD_US, modulate  # noqa: E402
from firmware.ivr.tty import TtyWatch  # noqa: E402
from firmware.line.base import FRAME_SAMPLES, ms_to_samples, samples_to_ms  # noqa: E402
from tests.dsp import talkoff  # noqa: E402

FRAME_US = 20_000.0
NOISE_DBM0 = -65.0
FULL_SCALE_DBM0 = 3.14  # mu-law 0 dBm0 = full-scale sine minus 3.14 dB


def _noise(seconds: float) -> np.ndarray:
    rms = 32767 / np.sqrt(2) * 10 ** ((NOISE_DBM0 - FULL_SCALE_DBM0) / 20)
    rng = np.random.default_rng(1)
    return np.round(rng.normal(0, rms, int(seconds * 8000))).astype(np.int16)


MODES: dict[str, float | None] = {"45.45": TTY_BAUD_US, "auto": None}


def _cpu_per_frame(audio: np.ndarray, repeat: int, baud: float | None) -> float:
    frames = [audio[i:i + FRAME_SAMPLES] for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES)]
    best = float("inf")
    for _ in range(repeat):
        watch = TtyWatch(baud)
        t0 = time.process_time()
        for n, frame in enumerate(frames):
            watch.feed(frame, n * FRAME_SAMPLES)
        best = min(best, (time.process_time() - t0) / len(frames) * 1e6)
    return best


def _latencies(baud: float) -> list[float]:
    out = []
    for level in (-30.0, -20.0, -12.0, -6.0):
        for text in ("GA", "HELLO", "1"):
            for offset in range(20):
                quiet = np.zeros(ms_to_samples(500) + offset * 8, dtype=np.int16)
                audio = np.concatenate([quiet, modulate(text, baud=baud, dbm0=level),
                                        np.zeros(8000, np.int16)])
                first = len(quiet) + ms_to_samples(LEAD_MS)
                watch = TtyWatch()  # auto, as calls listen
                for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
                    if watch.feed(audio[i:i + FRAME_SAMPLES], i) and watch.baud == baud:
                        out.append(samples_to_ms(i + FRAME_SAMPLES - first))
                        break
                else:
                    out.append(float("inf"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    material = {
        "speech": talkoff.english_speech()[: int(args.seconds * 8000)],
        "music": talkoff.sox_music(0, args.seconds),
        "silence": _noise(args.seconds),
    }
    for name, baud in (("tty45", TTY_BAUD_US), ("tty50", TTY_BAUD_EU)):
        text = modulate("THE QUICK BROWN FOX 0123456789 GA ", baud=baud, dbm0=-20.0)
        material[name] = np.tile(text, 5)[: int(args.seconds * 8000)]
    print("TtyWatch.feed, CPU per 20 ms frame (this machine):")
    print(f"  {'':8s} " + "  ".join(f"{mode:>24s}" for mode in MODES))
    for name, audio in material.items():
        cells = []
        for baud in MODES.values():
            us = _cpu_per_frame(audio, args.repeat, baud)
            cells.append(f"{us:7.1f} us {100 * us / FRAME_US:5.2f} % core")
        print(f"  {name:8s} " + "  ".join(f"{c:>24s}" for c in cells))
    for baud in (TTY_BAUD_US, TTY_BAUD_EU):
        lat = np.array(_latencies(baud))
        print(f"auto: a {baud:g}-baud TTY recognised at its rate after its first code's start "
              f"bit ({len(lat)} runs, -30..-6 dBm0): median {np.median(lat):.0f} ms, "
              f"max {lat.max():.0f} ms, missed or wrong rate {int(np.isinf(lat).sum())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
