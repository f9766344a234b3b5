"""Voice-modem edge cost: CPU per second of call audio for DLE unshielding + codec
conversion (receive) and codec conversion + DLE shielding (transmit).

Run from the repository root: `.venv/bin/python bench/modem_bench.py [--seconds 60]`

For each format a modem may give us (16-bit linear, mu-law, 8-bit unsigned) and two
kinds of audio (voice-like, and a worst case whose encoding is one third 0x10 bytes),
the receive side is timed as the line runs it: the shielded stream, with a DLE event
every second, cut into reads of random sizes (as a serial port returns them) and fed to
firmware.line.dle.StreamDecoder, then decoded to int16 one 20 ms frame at a time. The
transmit side encodes and shields 20 ms frames. A per-byte Python unshielder is timed on
the same stream for comparison. Figures are CPU time (time.process_time) per second of
audio, and the share of one core that a real-time call needs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.line import dle, v253  # noqa: E402
from firmware.line.base import FRAME_SAMPLES, SAMPLE_RATE  # noqa: E402

KINDS = ("linear16", "ulaw", "u8")
READ_BYTES = (1, 7, 64, 160, 333, 1024)  # read sizes the reader thread may see


def voice_like(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    f = 140.0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(8 * np.pi * t))
    x = x / np.max(np.abs(x)) * 8000 + rng.normal(0, 50, n)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def dle_heavy(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Audio whose encoding has 0x10 in about a third of its bytes."""
    if kind == "linear16":
        pool = np.array([0x1010, 0x0010, 0x1000, 1234, -4321, 77], np.int16)
    else:
        table = v253.decode_audio(bytes(range(256)), kind)
        pool = np.array([table[0x10], table[0x10], table[0x42], table[0x90], table[0x33],
                         table[0x10]], np.int16)
    return rng.choice(pool, n).astype(np.int16)


def wire(samples: np.ndarray, kind: str) -> bytes:
    """The shielded stream a modem sends while recording, a DTMF report every second."""
    width = v253.KIND_BYTES[kind]
    raw = v253.encode_audio(samples, kind)
    step = SAMPLE_RATE * width
    parts = []
    for i in range(0, len(raw), step):
        parts.append(dle.shield(raw[i:i + step]))
        parts.append(b"\x105")
    return b"\r\nCONNECT\r\n" + b"".join(parts) + b"\x10\x03\r\nOK\r\n"


def cut(stream: bytes, rng: np.random.Generator) -> list[bytes]:
    sizes = rng.choice(READ_BYTES, len(stream))
    chunks, pos, i = [], 0, 0
    while pos < len(stream):
        chunks.append(stream[pos:pos + int(sizes[i])])
        pos += int(sizes[i])
        i += 1
    return chunks


def receive(chunks: list[bytes], kind: str) -> float:
    """CPU seconds to unshield and decode, frame by frame, as ModemLine does."""
    need = FRAME_SAMPLES * v253.KIND_BYTES[kind]
    t0 = time.process_time()
    decoder = dle.StreamDecoder()
    decoder.expect_audio()
    buf = bytearray()
    frames = 0
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if isinstance(item, dle.Audio):
                buf += item.data
        while len(buf) >= need:
            v253.decode_audio(bytes(buf[:need]), kind)
            del buf[:need]
            frames += 1
    return time.process_time() - t0


def transmit(samples: np.ndarray, kind: str) -> float:
    t0 = time.process_time()
    for i in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        dle.shield(v253.encode_audio(samples[i:i + FRAME_SAMPLES], kind))
    return time.process_time() - t0


def unshield_only(chunks: list[bytes]) -> float:
    """CPU seconds for StreamDecoder.feed alone (to compare with the per-byte loop)."""
    t0 = time.process_time()
    decoder = dle.StreamDecoder()
    decoder.expect_audio()
    for chunk in chunks:
        decoder.feed(chunk)
    return time.process_time() - t0


def naive_unshield(chunks: list[bytes]) -> float:
    """A per-byte Python loop, for comparison (what the slice-based decoder avoids)."""
    t0 = time.process_time()
    out = bytearray()
    pending = False
    for chunk in chunks:
        for byte in chunk:
            if pending:
                pending = False
                if byte == 0x10:
                    out.append(byte)
            elif byte == 0x10:
                pending = True
            else:
                out.append(byte)
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per case")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    n = int(args.seconds * SAMPLE_RATE)
    print(f"modem edge, {args.seconds:.0f} s of audio per case; CPU ms per audio second "
          f"(and % of one core in real time)")
    print(f"{'format':9} {'audio':11} {'0x10 share':>10} {'rx unshield+decode':>20} "
          f"{'tx encode+shield':>17} {'unshield only':>14} {'per-byte loop':>14}")
    for kind in KINDS:
        for label, samples in (("voice-like", voice_like(n, rng)),
                               ("dle-heavy", dle_heavy(kind, n, rng))):
            stream = wire(samples, kind)
            share = stream.count(b"\x10") / len(stream)
            chunks = cut(stream, rng)
            rx = receive(chunks, kind) / args.seconds * 1000
            tx = transmit(samples, kind) / args.seconds * 1000
            only = unshield_only(chunks) / args.seconds * 1000
            naive = naive_unshield(chunks) / args.seconds * 1000
            print(f"{kind:9} {label:11} {share:10.1%} {rx:11.2f} ms ({rx / 10:4.2f}%) "
                  f"{tx:8.2f} ms ({tx / 10:4.2f}%) {only:11.2f} ms {naive:11.2f} ms")
    print("A Pi Zero 2 core is roughly 8-10x slower than a desktop core for this kind of "
          "Python work: multiply the % column accordingly.")


if __name__ == "__main__":
    main()
