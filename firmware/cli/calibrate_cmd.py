"""`ivrbox calibrate`: the line calibration call (see firmware/cli/calibration.py).

    ivrbox calibrate [--line sim|modem|fxo] [--device PATH] [--data DIR] [--config FILE]
                     [--rings N] [--script TEXT] [--json]

On a real line: stop the engine (`sudo systemctl stop ivrbox-engine`), run this, call
the box's number from a mobile, listen to the prompt, press every key (1 to 9, *, 0, #)
once, then hang up and wait. The box prints level, twist and signal-to-noise per key and
what this exchange does when a caller hangs up, and stores the latter for the voicemail
recorder (store key "line.hangup_signal"). On the simulated line a scripted caller does
the same (`--script`, default: every key, then the exchange's reorder tone).
Exit status 1 when a key was missing or out of spec, or no hang-up signal was learned.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DATA = Path("./data")
PROMPT = ("Line calibration. After the tone, press every key once: one to nine, star, "
          "zero and pound. Then hang up.")
SIM_SCRIPT = "waitsilence 1; press 123456789*0#; wait 1; hangup reorder"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("calibrate", help="calibration call: key levels, hang-up signal")
    p.add_argument("--line", choices=("sim", "modem", "fxo"),
                   help="line backend (default: the config's line.backend)")
    p.add_argument("--device", help="modem serial port or FXO sound card")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    p.add_argument("--config", type=Path,
                   help="config (default DATA/config/current.yaml; without one: the simulated "
                        "line, US tones)")
    p.add_argument("--rings", type=_rings, default=1, help="answer after this many rings, 1-15 (default 1)")
    p.add_argument("--script", help=f"simulated caller's script (default: '{SIM_SCRIPT}')")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def _rings(text: str) -> int:
    """1-15, as `line.rings`: 0 would answer before any ring, 99 waits for a call that
    rang out long ago."""
    try:
        rings = int(text)
    except ValueError:
        rings = 0
    if not 1 <= rings <= 15:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of rings from 1 to 15")
    return rings


def _prompt(store: object) -> object:
    import numpy as np

    from firmware.appliance import find_audio_dir
    from firmware.dsp.tones import beep, silence
    from firmware.errors import IvrboxError
    from firmware.ivr.prompts import Prompts, TextToSpeech

    tone = np.concatenate([silence(300), beep(), silence(200)])
    try:
        prompts = Prompts(TextToSpeech(store.data.tts_cache), find_audio_dir())  # type: ignore[attr-defined]
        return np.concatenate([prompts.render(PROMPT, "en"), tone])
    except (IvrboxError, OSError):
        return tone  # no text-to-speech here: the beep alone says "now"


async def _calibrate(args: argparse.Namespace) -> tuple[object, str]:
    from firmware.appliance import data_config_path, open_line
    from firmware.cli.calibration import calibration_call, store_result
    from firmware.settings import load
    from firmware.store import Store

    # the box's config says the line, device and country; a data dir without one (a
    # bench, the simulated line) calibrates with the defaults. A config that is there
    # but does not load, or a --config that is wrong, is said, not silently replaced by
    # another country's tones and the simulated line.
    path = args.config or data_config_path(args.data)
    settings = load(path) if args.config is not None or path.exists() else None
    kind = args.line or (settings.line.backend if settings else "sim")
    device = args.device or (settings.line.device if settings else None)
    country = settings.business.country if settings else "us"
    store = Store(args.data)
    try:
        prompt = _prompt(store)
        line = open_line(kind, device, settings)
        await line.open()
        try:
            if kind == "sim":
                from firmware.line.sim import SimCaller, parse_script

                line.incoming(SimCaller(parse_script(args.script or SIM_SCRIPT)))
            else:
                print(f"calibrate: call this line now ({kind}); answering after "
                      f"{args.rings} ring(s)", flush=True)
            report = await calibration_call(line, prompt, country, rings=args.rings)
        finally:
            await line.close()
        import time

        store_result(store.kv, report, country, time.time_ns() // 1_000_000)
    finally:
        store.close()
    return report, country


def run(args: argparse.Namespace) -> int:
    import asyncio
    import json

    report, country = asyncio.run(_calibrate(args))
    if args.json:
        print(json.dumps(report.as_dict() | {"country": country}, indent=2))  # type: ignore[attr-defined]
    else:
        print("\n".join(report.lines()))  # type: ignore[attr-defined]
    good = (not report.missing and report.hangup is not None  # type: ignore[attr-defined]
            and all(k.within_spec for k in report.keys))  # type: ignore[attr-defined]
    return 0 if good else 1
