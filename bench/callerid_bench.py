"""Caller ID decoder throughput: audio seconds decoded per CPU second.

Run: .venv/bin/python bench/callerid_bench.py [--seconds 120] [--no-spandsp]

The test audio is a line as the box hears it between rings: white noise at -50 dBm0 and,
every 6 s, one caller ID message (Bell 202 SDMF, Bell 202 MDMF, ETSI V.23 with the UK
alert, NTT, DTMF D...C in turn) at -13 dBm0. Our decoder is timed streaming in 20 ms frames (as a
line delivers audio) and on the whole buffer at once. If gcc and libspandsp-dev are
present, spandsp's adsi receiver is built into bench/.build/ and timed on the same audio
in 20 ms frames, once per standard it has to be told about (it decodes one standard per
instance; ours listens for all at once), and the ratios are printed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.dsp.callerid import CallerIdDecoder, CallerIdInfo, decode, generate  # noqa: E402
from firmware.dsp.level import white_noise  # noqa: E402

RATE = 8000
FRAME = 160  # 20 ms
CYCLE_S = 6.0
NOISE_DBM0 = -50.0
STANDARDS = ("bell202-sdmf", "bell202-mdmf", "etsi-v23", "ntt", "dtmf")
BUILD = ROOT / "bench" / ".build"


def make_audio(seconds: float) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(1)
    info = CallerIdInfo(number="0223456789", name="WANG XIAO MING", when="03141530")
    cycles = max(1, int(seconds // CYCLE_S))
    cycle_n = int(CYCLE_S * RATE)
    parts = []
    for i in range(cycles):
        std = STANDARDS[i % len(STANDARDS)]
        noise = white_noise(cycle_n, NOISE_DBM0, rng).astype(np.int32)
        sig = generate(info, std, alert=std == "etsi-v23",
                       dtmf_form="DC")
        at = RATE  # one second into the cycle
        noise[at: at + len(sig)] += sig
        parts.append(np.clip(noise, -32768, 32767).astype(np.int16))
    return np.concatenate(parts), cycles


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def time_ours(audio: np.ndarray) -> tuple[float, float, int]:
    found: list[int] = []

    def streaming() -> None:
        dec = CallerIdDecoder()
        n = 0
        for i in range(0, len(audio), FRAME):
            n += len(dec.feed(audio[i: i + FRAME]))
        found.append(n)

    t_stream = best_of(streaming)
    t_whole = best_of(lambda: decode(audio))
    return t_stream, t_whole, found[-1]


def build_spandsp() -> Path | None:
    if shutil.which("gcc") is None:
        return None
    BUILD.mkdir(parents=True, exist_ok=True)
    exe = BUILD / "spandsp_cid"
    src = ROOT / "bench" / "spandsp_cid.c"
    res = subprocess.run(["gcc", "-O2", "-o", str(exe), str(src), "-lspandsp", "-lm"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        print(f"spandsp harness did not build: {res.stderr.strip()[:200]}")
        return None
    return exe


def time_spandsp(exe: Path, audio: np.ndarray, standard: str, repeat: int) -> tuple[float, int]:
    out = subprocess.run([str(exe), "rx", standard, str(repeat)], input=audio.tobytes(),
                         capture_output=True, check=True).stdout.decode()
    m = re.search(r"cpu ([0-9.]+) messages (\d+)", out)
    if not m:
        raise RuntimeError(f"unexpected harness output: {out!r}")
    return float(m.group(1)) / repeat, int(m.group(2)) // repeat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="length of test audio")
    ap.add_argument("--no-spandsp", action="store_true", help="skip the spandsp comparison")
    args = ap.parse_args()

    audio, sent = make_audio(args.seconds)
    dur = len(audio) / RATE
    print(f"audio: {dur:.0f} s at 8 kHz, {sent} caller ID messages "
          f"({', '.join(STANDARDS)} in turn), noise {NOISE_DBM0:.0f} dBm0")
    t_stream, t_whole, found = time_ours(audio)
    print(f"ivrbox streaming 20 ms frames: {dur / t_stream:8.1f} x real time "
          f"({t_stream * 1e6 / (len(audio) / FRAME):.1f} us CPU per frame), "
          f"{found}/{sent} messages")
    print(f"ivrbox whole buffer:           {dur / t_whole:8.1f} x real time")
    if args.no_spandsp:
        return 0
    exe = build_spandsp()
    if exe is None:
        print("spandsp comparison skipped (needs gcc and libspandsp-dev)")
        return 0
    total = 0.0
    for std in ("class", "clip", "jclip", "dtmf"):
        t, n = time_spandsp(exe, audio, std, repeat=5)
        total += t
        print(f"spandsp adsi_rx {std:<5} 20 ms frames: {dur / t:8.1f} x real time, "
              f"{n} messages (it decodes only its own standard)")
    print(f"spandsp, all four receivers together: {dur / total:8.1f} x real time")
    print(f"ratio ivrbox streaming / spandsp (all four): {total / t_stream:.3f}"
          f"  (>1 means ivrbox is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
