"""Simulated line speed: seconds of line time per wall-clock second.

Run: .venv/bin/python bench/line_bench.py [--minutes 5]

Three figures, each a whole call on `SimLine(realtime=False)`:
  ringing   on-hook, 4 rings with Bell 202 caller ID (the line runs itself in next_event)
  bare      off-hook: the box does tx + rx every 20 ms, the caller speaks (line only)
  call      the same plus the box's DTMF detector on every rx frame (what a call costs)
The speed factor says how much faster than real time end-to-end tests run on this
machine; the engine needs >= 1x on a Pi with a real line, the simulation far more.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.dsp.callerid import CallerIdInfo  # noqa: E402
from firmware.dsp.dtmf import DtmfDetector  # noqa: E402
from firmware.dsp.tones import sine_mix  # noqa: E402
from firmware.line.base import FRAME_SAMPLES, SAMPLE_RATE, Ring  # noqa: E402
from firmware.line.sim import Press, SimCaller, SimLine, Speak, Wait  # noqa: E402


async def ringing() -> tuple[float, float]:
    line = SimLine("us")
    await line.open()
    caller = SimCaller(caller_id=CallerIdInfo(number="5551234567", name="BENCH"),
                       max_rings=4)
    line.incoming(caller)
    start = time.perf_counter()
    while True:
        event = await line.next_event()
        if isinstance(event, Ring) and event.count == 4:
            break
    return line.clock / SAMPLE_RATE, time.perf_counter() - start


async def call(minutes: float, detect: bool) -> tuple[float, float]:
    line = SimLine("us")
    await line.open()
    voice = sine_mix([220.0, 660.0, 1300.0], 10_000.0, -20.0)
    steps = [Wait(1000), Press("1234")] + [Speak(voice), Wait(2000)] * int(minutes * 5 + 1)
    line.incoming(SimCaller(steps))
    while not isinstance(await line.next_event(), Ring):
        pass
    await line.answer()
    prompt = sine_mix([440.0], 20.0, -15.0)
    detector = DtmfDetector()
    frames = int(minutes * 60 * SAMPLE_RATE / FRAME_SAMPLES)
    start = time.perf_counter()
    for _ in range(frames):
        await line.tx(prompt)
        rx = await line.rx()
        if detect:
            detector.feed(rx)
        line.poll_events()
    return frames * FRAME_SAMPLES / SAMPLE_RATE, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="line time per call")
    args = parser.parse_args()
    for name, coro in (("ringing", ringing()), ("bare", call(args.minutes, False)),
                       ("call", call(args.minutes, True))):
        line_s, wall_s = asyncio.run(coro)
        print(f"{name:8s} {line_s:8.1f} s of line time in {wall_s:6.2f} s wall: "
              f"{line_s / wall_s:7.1f}x real time")
    return 0


if __name__ == "__main__":
    np.seterr(all="raise")
    sys.exit(main())
