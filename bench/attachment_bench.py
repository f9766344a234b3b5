"""Voicemail attachments: CPU time and size per minute of message, MP3 and Opus via
libsndfile (what the e-mail worker thread runs) against ffmpeg encoding the same WAV to
the same codec at a like bitrate in the same run (a ratio survives a noisy machine).

The message is 5 minutes of espeak-ng speech at 8 kHz (what a long voicemail is), or a
swelling tone if espeak-ng is missing. Run:

    .venv/bin/python bench/attachment_bench.py [--minutes 5]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.notify.attachment import available_formats, encode_recording  # noqa: E402

RATE = 8000
TEXT = ("Hello, this is Mrs Chen from the bakery on Main Street. I am calling about the "
        "order for Saturday, two cakes and forty buns. Please call me back at 0 2 2 3 4 5 "
        "6 7 8 9 before five o'clock. Thank you, goodbye. ")
FFMPEG = {"mp3": ["-c:a", "libmp3lame", "-b:a", "16k"], "opus": ["-c:a", "libopus", "-b:a", "12k"]}


def speech(minutes: float, tmp: Path) -> np.ndarray:
    if shutil.which("espeak-ng"):
        out = tmp / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(out), TEXT], check=True)
        voice, rate = soundfile.read(out, dtype="float32")
        voice = soxr.resample(voice, rate, RATE)
    else:
        t = np.arange(RATE * 10) / RATE
        voice = 0.3 * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) * np.sin(2 * np.pi * 440 * t)
    reps = int(np.ceil(minutes * 60 * RATE / len(voice)))
    whole = np.tile(voice, reps)[: int(minutes * 60 * RATE)]
    return np.clip(whole * 32767, -32768, 32767).astype(np.int16)


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def ffmpeg_cpu(wav: Path, fmt: str, tmp: Path) -> tuple[float, int] | None:
    if not shutil.which("ffmpeg"):
        return None
    out = tmp / f"peer.{'mp3' if fmt == 'mp3' else 'opus'}"
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), *FFMPEG[fmt], str(out)]
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if subprocess.run(cmd, check=False).returncode != 0:
        return None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used, out.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wav = tmp / "message.wav"
        soundfile.write(wav, speech(args.minutes, tmp), RATE, subtype="PCM_16")
        print(f"message: {args.minutes:g} min at 8 kHz, WAV {wav.stat().st_size / args.minutes / 1000:.0f} kB/min; "
              f"formats here: {', '.join(available_formats())}")
        for fmt in ("mp3", "opus"):
            if fmt not in available_formats():
                print(f"{fmt}: not available on this box")
                continue
            result = {}
            seconds = cpu(lambda: result.setdefault("a", encode_recording(wav, fmt)))
            size = len(result["a"].data)
            line = (f"{fmt:4s} ivrbox: {seconds / args.minutes * 1000:6.0f} ms CPU/min, "
                    f"{size / args.minutes / 1000:6.1f} kB/min")
            peer = ffmpeg_cpu(wav, fmt, tmp)
            if peer:
                line += (f" | ffmpeg {' '.join(FFMPEG[fmt][1:])}: {peer[0] / args.minutes * 1000:6.0f} ms CPU/min, "
                         f"{peer[1] / args.minutes / 1000:6.1f} kB/min | CPU ratio ffmpeg/ivrbox "
                         f"{peer[0] / seconds:.2f}")
            print(line)


if __name__ == "__main__":
    main()
