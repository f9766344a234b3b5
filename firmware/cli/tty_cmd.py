"""`ivrbox tty FILE...`: the text a TTY/TDD (Baudot text telephone) typed in recordings.

    ivrbox tty call.wav                prints the text (45.45 or 50 baud, whichever fits,
                                       as calls listen)
    ivrbox tty call.wav --baud 50      only the European 50-baud variant (or 45.45)
    ivrbox tty call.wav --json         one JSON object per character (char, baud, start_ms, end_ms)

Any format `firmware.dsp.audiofile` reads. Exit 0; 2 for a missing or unreadable file.
(`ivrbox gen tty "HELLO GA" -o out.wav` makes such a recording.)
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

SAMPLE_RATE = 8000
FLUSH_MS = 500  # silence fed after the file so its last character is decided


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("tty", help="print the text a TTY/TDD sent in audio files",
                              description="Decode the Baudot text a TTY/TDD (text telephone) "
                                          "sent in each audio file.")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio file (WAV, FLAC, MP3, ...)")
    p.add_argument("--baud", default="auto",
                   help="auto (default: 45.45 or 50, whichever fits), 45.45 (US), 50 (Europe), "
                        "or any rate from 40 to 60")
    p.add_argument("--json", action="store_true", help="one JSON object per character")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from firmware.dsp.audiofile import read_audio
    from firmware.dsp.baudot import BaudotDecoder

    baud = _baud(args.baud)
    for path in args.files:
        decoder = BaudotDecoder(baud=baud)
        chars = decoder.feed(read_audio(path))
        chars += decoder.feed(np.zeros(SAMPLE_RATE * FLUSH_MS // 1000, dtype=np.int16))
        if args.json:
            for c in chars:
                print(json.dumps({"file": path, "char": c.char, "baud": decoder.baud,
                                  "start_ms": round(c.start * 1000 / SAMPLE_RATE, 1),
                                  "end_ms": round(c.end * 1000 / SAMPLE_RATE, 1)},
                                 ensure_ascii=False))
            continue
        text = "".join(c.char for c in chars).replace("\r", "")
        print(f"{path}: {text}" if len(args.files) > 1 else text)
    return 0


def _baud(text: str) -> float | None:
    """None for auto; else a rate between 40 and 60 baud."""
    from firmware.errors import UsageError

    if text.strip().lower() == "auto":
        return None
    try:
        baud = float(text)
    except ValueError:
        baud = float("nan")
    if not 40.0 <= baud <= 60.0:  # also refuses nan
        raise UsageError(f"--baud must be auto, or between 40 and 60 (45.45 or 50), not {text}")
    return baud
