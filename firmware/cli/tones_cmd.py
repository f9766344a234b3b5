"""`ivrbox tones FILE --country us`: find call-progress signals in a recording.

Any format `firmware.dsp.audiofile` reads (WAV, FLAC, OGG, MP3, and M4A through ffmpeg),
any rate and channel count. One line per signal found: type, start and end in seconds,
and when the detector decided it; with `--json` one JSON object per line with `type`,
`start_ms`, `end_ms`, `detected_ms`. Exit status: 0 when a signal was found, 1 when
none, 2 for a missing or unreadable file or an unknown country.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

SAMPLE_RATE = 8000


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "tones", help="find call-progress tones (busy, dial, ringback...) in an audio file",
        description="List the call-progress signals (dial, ringback, busy, reorder, SIT, "
                    "fax CNG/CED, silence) in an audio file, as the given country's "
                    "exchanges play them. Exit 0 if any was found, 1 if none.")
    p.add_argument("file", metavar="FILE", help="audio file (WAV, FLAC, MP3, ...)")
    p.add_argument("--country", default="us",
                   help="whose tone plan to listen for: us, tw, cn, uk, de, jp (default us)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per signal instead of a text line")
    p.set_defaults(func=run)


def _ms(samples: int | None) -> int | None:
    return None if samples is None else int(round(samples * 1000 / SAMPLE_RATE))


def run(args: argparse.Namespace) -> int:
    from firmware.dsp import tones
    from firmware.dsp.audiofile import read_audio
    from firmware.dsp.callprogress import detect_tones

    country = tones.check_country(args.country)  # before the (slower) decoding
    events = detect_tones(read_audio(args.file), country)
    for e in events:
        if args.json:
            print(json.dumps({"type": e.type, "start_ms": _ms(e.start), "end_ms": _ms(e.end),
                              "detected_ms": _ms(e.detected)}))
        else:
            end = e.end if e.end is not None else e.start
            print(f"{e.type:<9} {e.start / SAMPLE_RATE:8.3f} s {end / SAMPLE_RATE:8.3f} s"
                  f"   (decided at {e.detected / SAMPLE_RATE:.3f} s)")
    return 0 if events else 1
