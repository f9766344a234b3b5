"""`ivrbox callerid FILE`: find caller ID messages in a recording of a phone line.

Any format soundfile reads (WAV, FLAC, OGG, ...), any rate and channel count: it is mixed
to mono and resampled to 8 kHz before decoding. Every standard is tried at once (Bell
202 SDMF/MDMF, ETSI/BT V.23, NTT, DTMF). One line per message, or with `--json` one JSON
object per line. Exit status: 0 when at least one message was found, 1 when none,
2 when the file is missing or is not audio.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

SAMPLE_RATE = 8000


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "callerid", help="decode caller ID (FSK or DTMF) from an audio file",
        description="Decode every caller ID message in an audio file (Bell 202, ETSI "
                    "V.23, NTT, DTMF). Exit 0 if any was found, 1 if none.")
    p.add_argument("file", metavar="FILE", help="audio file (WAV, FLAC, ...)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per message instead of a text line")
    p.set_defaults(func=run)


def _datetime(when: str | None) -> str | None:
    """'MMDDhhmm' -> 'MM-DD hh:mm' (caller ID carries no year)."""
    if not when or len(when) != 8 or not when.isdigit():
        return when
    return f"{when[0:2]}-{when[2:4]} {when[4:6]}:{when[6:8]}"


_ABSENT = {"O": "unavailable", "P": "private", "C": "coin/public phone",
           "S": "service conflict"}


def _line(msg: Any) -> str:
    at = f"{msg.start / SAMPLE_RATE:7.3f}s  {msg.standard:<13}"
    if not msg.checksum_ok:
        return f"{at}  checksum BAD: message ignored (type 0x{msg.message_type:02x})"
    parts = [at]
    if msg.number:
        parts.append(f"number {msg.number}")
    elif msg.number_absent:
        parts.append(f"number withheld ({_ABSENT.get(msg.number_absent, '?')}, "
                     f"{msg.number_absent})")
    if msg.name:
        parts.append(f'name "{msg.name}"')
    elif msg.name_absent:
        parts.append(f"name withheld ({_ABSENT.get(msg.name_absent, '?')}, "
                     f"{msg.name_absent})")
    if msg.when:
        parts.append(f"date {_datetime(msg.when)}")
    if msg.dialled:
        parts.append(f"dialled {msg.dialled}")
    parts.append("checksum ok" if msg.standard != "dtmf" else "no checksum (DTMF)")
    return "  ".join(parts)


def _json(msg: Any) -> str:
    return json.dumps({
        "number": msg.number, "name": msg.name, "datetime": _datetime(msg.when),
        "number_absent": msg.number_absent, "name_absent": msg.name_absent,
        "dialled": msg.dialled, "standard": msg.standard, "checksum_ok": msg.checksum_ok,
        "message_type": msg.message_type, "start_s": round(msg.start / SAMPLE_RATE, 4),
        "end_s": round(msg.end / SAMPLE_RATE, 4),
    }, ensure_ascii=False)


def run(args: argparse.Namespace) -> int:
    import sys

    from firmware.dsp.callerid import decode

    from firmware.dsp.audiofile import read_audio

    messages = decode(read_audio(args.file))
    for msg in messages:
        print(_json(msg) if args.json else _line(msg))
    if not messages and not args.json:
        print("no caller ID found", file=sys.stderr)
    return 0 if messages else 1
