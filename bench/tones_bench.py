"""Call-progress detector: decision latency per type and country, and throughput.

Latency is from the tone's true onset to the sample at which the detector decided
(`ToneEvent.detected`), for clean tones and through a line (-25 dBm0, 20 dB SNR white
noise, mu-law). Throughput is seconds of audio per CPU second (process time), fed in
20 ms frames as a call does and as one whole buffer, on tones and on a quiet line.

    .venv/bin/python bench/tones_bench.py
"""

from __future__ import annotations

import time

import numpy as np

from firmware.dsp import g711, tones
from firmware.dsp.callprogress import CallProgressDetector
from firmware.dsp.level import rms_dbm0, white_noise

RATE = 8000
LEAD_IN = RATE // 2
KINDS = ("dial", "ringback", "busy", "reorder", "sit", "fax_cng", "fax_ced")


def on_line(x: np.ndarray, dbm0: float, snr_db: float) -> np.ndarray:
    scaled = x * 10 ** ((dbm0 - rms_dbm0(x[x != 0])) / 20)
    noise = white_noise(len(x), dbm0 - snr_db, np.random.default_rng(0))
    y = np.clip(np.round(scaled + noise), -32768, 32767).astype(np.int16)
    return g711.ulaw_decode(g711.ulaw_encode(y))


def first_decision(x: np.ndarray, country: str) -> tuple[str, float] | None:
    det = CallProgressDetector(country)
    events = []
    for i in range(0, len(x), 160):
        events += det.feed(x[i:i + 160])
    events += det.flush()
    for e in events:
        if e.end is None:
            return e.type, (e.detected - LEAD_IN) / RATE
    return None


def latency_table() -> None:
    print("decision latency, s after onset (clean / line: -25 dBm0, 20 dB SNR, mu-law)")
    print("kind      " + "".join(f"{c:>14}" for c in tones.COUNTRIES))
    for kind in KINDS:
        row = f"{kind:<10}"
        for country in tones.COUNTRIES:
            tone = tones.call_progress(kind, country, 14000 if kind == "ringback" else 8000)
            x = np.concatenate([np.zeros(LEAD_IN, np.int16), tone])
            cells = []
            for signal in (x, on_line(x, -25.0, 20.0)):
                found = first_decision(signal, country)
                cells.append("-" if found is None else f"{found[1]:.2f}")
            row += f"{'/'.join(cells):>14}"
        print(row)


def throughput(x: np.ndarray, country: str, chunk: int) -> float:
    det = CallProgressDetector(country)
    t0 = time.process_time()
    for i in range(0, len(x), chunk):
        det.feed(x[i:i + chunk])
    det.flush()
    return len(x) / RATE / (time.process_time() - t0)


def throughput_table() -> None:
    rng = np.random.default_rng(1)
    busy = on_line(tones.call_progress("busy", "us", 60000), -20.0, 30.0)
    quiet = white_noise(60 * RATE, -60.0, rng)
    babble = on_line(np.concatenate([tones.dtmf("0123456789" * 3, 150, 150, -15),
                                     white_noise(51 * RATE, -20.0, rng)]), -20.0, 30.0)
    print("\nthroughput, audio s per CPU s (60 s of each, US plan)")
    for name, x in (("busy tone", busy), ("quiet line", quiet), ("DTMF + noise", babble)):
        figures = [f"{throughput(x, 'us', chunk):7.0f}x ({label})"
                   for chunk, label in ((160, "20 ms frames"), (len(x), "whole buffer"))]
        print(f"  {name:<14}" + "  ".join(figures))


if __name__ == "__main__":
    latency_table()
    throughput_table()
