"""FXO line edge cost: CPU per second of line audio, and the resampler's delay.

Run: .venv/bin/python bench/fxo_bench.py [--seconds 60] [--rate 48000]

What is timed (process CPU time, so other load on the machine does not count):
  edge         RateEdge (soxr, variable-rate engine) 48 kHz -> 8 kHz capture plus
               8 kHz -> 48 kHz playback, in 20 ms blocks: the sound-card edge alone
  idle         FxoLine on-hook on the fake exchange: capture resampling, the caller-ID
               decoder on every frame, ring detection from mock-pin edges (US cadence,
               20 Hz ringing) with one Bell 202 message per ring cycle
  call         FxoLine off-hook: rx + tx every 20 ms step (both resampling directions,
               line-sense ticks), the far end speaking noise
The idle and call figures include the fake exchange and gpiozero's mock pins (audio
synthesis, pin bookkeeping), so they are upper bounds on the line's own cost. The delay
is measured with an impulse through each direction of the edge.
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

from firmware.dsp.callerid import CallerIdInfo, generate  # noqa: E402
from firmware.dsp.level import white_noise  # noqa: E402
from firmware.line.audioport import RateEdge  # noqa: E402
from tests.line.rig_fxo import FxoExchange  # noqa: E402
from firmware.line.fxo import FxoLine  # noqa: E402

LINE_RATE = 8000
BLOCK_MS = 20


def bench_edge(seconds: float, rate: int) -> float:
    edge = RateEdge(rate)
    rng = np.random.default_rng(1)
    cap = white_noise(rate * BLOCK_MS // 1000, -20.0, rng)
    play = white_noise(LINE_RATE * BLOCK_MS // 1000, -20.0, rng)
    blocks = int(seconds * 1000 / BLOCK_MS)
    t0 = time.process_time()
    for _ in range(blocks):
        edge.to_line(cap)
        edge.to_device(play)
    return (time.process_time() - t0) / seconds


def edge_delay_ms(rate: int, block_ms: float = 5.0) -> tuple[float, float]:
    """How long after a sample goes in (streaming, `block_ms` blocks) it comes out at the
    other rate: soxr keeps its output time-aligned but holds the newest samples back
    until the filter has seen what follows them."""
    def delay(down: bool) -> float:
        edge = RateEdge(rate)
        in_rate, out_rate = (rate, LINE_RATE) if down else (LINE_RATE, rate)
        conv = edge.to_line if down else edge.to_device
        x = np.zeros(in_rate, np.int16)
        mark = in_rate // 4
        x[mark] = 20000
        want = int(mark * out_rate / in_rate)  # where the impulse's response peaks
        step = max(1, int(in_rate * block_ms / 1000))
        produced = 0
        for i in range(0, len(x), step):
            produced += len(conv(x[i : i + step]))
            if produced > want:
                return ((i + step) - mark) / in_rate * 1000
        return float("nan")
    return delay(True), delay(False)


async def bench_line(seconds: float, off_hook: bool) -> float:
    ex = FxoExchange("us", device_rate=48000)
    line = FxoLine(ex.audio, ex.board, country="us", clock=ex.clock)
    await line.open()
    rng = np.random.default_rng(2)
    info = CallerIdInfo(number="5551234567", name="ALICE SMITH", when="11241530")
    cid = generate(info, "bell202-mdmf", rate=ex.rate)
    t0 = time.process_time()
    if off_hook:
        await line.answer()
        ex.play(white_noise(int(seconds * ex.rate) + ex.rate, -20.0, rng))
        frame = white_noise(160, -20.0, rng)
        for _ in range(int(seconds * 1000 / BLOCK_MS)):
            await line.tx(frame)
            await line.rx()
    else:
        cycles = int(seconds // 6)
        for i in range(cycles):
            end = ex.ring_once(ex.now + ex.ms(100) + i * ex.ms(6000))
            ex.play(cid, end + ex.ms(500))
        await ex.until(ex.ms(seconds * 1000))
        rings = [e for e in line.poll_events() if type(e).__name__ == "Ring"]
        assert len(rings) >= cycles - 1, rings
    cpu = time.process_time() - t0
    await line.close()
    ex.close()
    return cpu / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=48000, help="sound card rate for `edge`")
    args = parser.parse_args()
    down, up = edge_delay_ms(args.rate)
    print(f"resampler delay at {args.rate} Hz (5 ms blocks): capture {down:.1f} ms, "
          f"playback {up:.1f} ms")
    edge = bench_edge(args.seconds, args.rate)
    print(f"edge  {args.rate} <-> 8000 Hz both ways: {edge * 1000:6.2f} ms CPU per s of audio "
          f"({edge * 100:.2f} % of one core)")
    idle = asyncio.run(bench_line(args.seconds, off_hook=False))
    print(f"idle  on-hook, ringing + caller ID:   {idle * 1000:6.2f} ms CPU per s of line time "
          f"({idle * 100:.2f} % of one core, fake exchange included)")
    call = asyncio.run(bench_line(args.seconds, off_hook=True))
    print(f"call  off-hook, rx + tx every 20 ms:  {call * 1000:6.2f} ms CPU per s of line time "
          f"({call * 100:.2f} % of one core, fake exchange included)")


if __name__ == "__main__":
    main()
