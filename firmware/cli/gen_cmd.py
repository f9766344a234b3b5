"""`ivrbox gen`: write test signals as 8 kHz 16-bit WAV files.

    ivrbox gen dtmf 123# -o keys.wav [--on-ms 100] [--off-ms 100] [--level -10] [--twist 0]
    ivrbox gen tone busy --country tw -o busy.wav [--seconds 4] [--level -13]
    ivrbox gen tty "HELLO GA" -o tty.wav [--baud 45.45] [--level -10]

Tone kinds: dial, ringback, busy, reorder, sit, fax_cng, fax_ced, beep. `--level` is in
dBm0 per frequency; `--twist` is the high-group DTMF tone's level minus the low group's.
Bad digits, kinds or countries are one-line errors (exit 2).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("gen", help="generate DTMF, call-progress tones or TTY text into a WAV file",
                              description="Generate DTMF digits, a country's call-progress "
                                          "tone or TTY (Baudot) text as an 8 kHz 16-bit WAV file.")
    sub = p.add_subparsers(dest="signal", metavar="SIGNAL")
    sub.required = True

    d = sub.add_parser("dtmf", help="DTMF digits (0-9 * # A-D, ',' = 1 s pause)")
    d.add_argument("digits", help="e.g. 123#")
    d.add_argument("-o", "--output", required=True, help="WAV file to write")
    d.add_argument("--on-ms", type=float, default=100.0, help="tone length (default 100)")
    d.add_argument("--off-ms", type=float, default=100.0, help="pause after each (default 100)")
    d.add_argument("--level", type=float, default=-10.0,
                   help="low-group tone level, dBm0 (default -10)")
    d.add_argument("--twist", type=float, default=0.0,
                   help="high-group level minus low-group level, dB (default 0)")
    d.set_defaults(func=run_dtmf)

    t = sub.add_parser("tone", help="a call-progress tone with its cadence")
    t.add_argument("kind", help="dial, ringback, busy, reorder, sit, fax_cng, fax_ced, beep")
    t.add_argument("--country", default="us", help="us, tw, cn, uk, de, jp (default us)")
    t.add_argument("-o", "--output", required=True, help="WAV file to write")
    t.add_argument("--seconds", type=float, default=None,
                   help="length (default: a few cadence cycles for the kind)")
    t.add_argument("--level", type=float, default=-13.0,
                   help="level of each frequency, dBm0 (default -13)")
    t.set_defaults(func=run_tone)

    y = sub.add_parser("tty", help="TTY/TDD text as Baudot FSK (45.45 or 50 baud)")
    y.add_argument("text", help='e.g. "HELLO GA"')
    y.add_argument("-o", "--output", required=True, help="WAV file to write")
    y.add_argument("--baud", type=float, default=45.45, help="45.45 (US, default) or 50 (Europe); any rate from 40 to 60 for testing")
    y.add_argument("--level", type=float, default=-10.0, help="dBm0 (default -10)")
    y.set_defaults(func=run_tty)


def _check(value: float, name: str, low: float, high: float) -> None:
    from firmware.errors import UsageError

    if not low <= value <= high:
        raise UsageError(f"{name} must be between {low:g} and {high:g}, not {value:g}")


def run_dtmf(args: argparse.Namespace) -> int:
    from firmware.dsp.audiofile import write_wav
    from firmware.dsp.tones import dtmf

    if not args.digits.strip(", "):
        from firmware.errors import UsageError

        raise UsageError("give at least one key to generate, e.g. 123#")
    _check(args.on_ms, "--on-ms", 1.0, 60000.0)
    _check(args.off_ms, "--off-ms", 0.0, 60000.0)
    _check(args.level, "--level", -90.0, 3.0)
    _check(args.twist, "--twist", -20.0, 20.0)
    samples = dtmf(args.digits, args.on_ms, args.off_ms, args.level, args.twist)
    write_wav(args.output, samples)
    print(f"{args.output}: {len(samples) / 8000:.2f} s of DTMF '{args.digits}'")
    return 0


def run_tone(args: argparse.Namespace) -> int:
    from firmware.dsp import tones
    from firmware.dsp.audiofile import write_wav

    plan = tones.plan_for(args.kind, args.country)
    seconds = args.seconds if args.seconds is not None else tones.DEFAULT_MS[plan.kind] / 1000.0
    _check(seconds, "--seconds", 0.01, 3600.0)
    _check(args.level, "--level", -90.0, 3.0)
    samples = tones.call_progress(args.kind, args.country, seconds * 1000.0, args.level)
    write_wav(args.output, samples)
    print(f"{args.output}: {seconds:.2f} s of {tones.check_country(args.country).upper()} "
          f"{args.kind}")
    return 0


def run_tty(args: argparse.Namespace) -> int:
    from firmware.dsp.audiofile import write_wav
    from firmware.dsp.baudot import modulate

    _check(args.baud, "--baud", 40.0, 60.0)
    _check(args.level, "--level", -90.0, 3.0)
    samples = modulate(args.text, baud=args.baud, dbm0=args.level)
    write_wav(args.output, samples)
    print(f"{args.output}: {len(samples) / 8000:.2f} s of TTY text at {args.baud:g} baud")
    return 0
