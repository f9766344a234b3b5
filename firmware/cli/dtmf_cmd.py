"""`ivrbox dtmf FILE...`: the DTMF keys pressed in recordings.

Any format `firmware.dsp.audiofile` reads, any rate and channel count (resampled to 8 kHz
mono). Prints each file's keys as one string, prefixed with the file name when several
files are given; with `--json`, one JSON object per key and line: `file`, `digit`,
`start_ms`, `end_ms`. Exit status 0; 2 for a missing or unreadable file (one line).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

SAMPLE_RATE = 8000


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dtmf", help="list the DTMF keys (touch tones) in audio files",
        description="Detect the DTMF keys in each audio file and print them as a string "
                    "(or one JSON object per key with --json).")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio file (WAV, FLAC, MP3, ...)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per key: file, digit, start_ms, end_ms")
    p.set_defaults(func=run)


def _ms(samples: int) -> float:
    return round(samples * 1000.0 / SAMPLE_RATE, 3)


def run(args: argparse.Namespace) -> int:
    from firmware.dsp.audiofile import read_audio
    from firmware.dsp.dtmf import detect_digits

    for path in args.files:
        spans = detect_digits(read_audio(path))
        if args.json:
            for s in spans:
                print(json.dumps({"file": path, "digit": s.digit, "start_ms": _ms(s.start),
                                  "end_ms": _ms(s.end)}))
        elif len(args.files) > 1:
            print(f"{path}: {''.join(s.digit for s in spans)}")
        else:
            print("".join(s.digit for s in spans))
    return 0
