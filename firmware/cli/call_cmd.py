"""`ivrbox call`: place a simulated call into a flow and print what happened.

    ivrbox call --config FILE --script "wait 1; press 2; wait 6; speak msg.wav; hangup"
    ivrbox call --caller-id 0912345678 --at "2026-11-28 20:00" --json --script "..."
    ivrbox call --party 0911000111=answers:"wait 1; press 1" --script "press 1; wait 30"
    ivrbox call --withheld private --script "..."   (caller ID says: number withheld)
    ivrbox call --realtime            (no script: hear it on the speaker, type keys;
                                       refused without a terminal or a sound device)

Keys in the script reach the engine as DTMF audio through the detector, exactly as on
a real line. The transcript gives each event's time in the call (line clock, ms from
answer): prompts played, keys detected, nodes entered, transfer results, messages saved.
Every sound the caller hears is a `prompt` event naming what it was (ivr/heard.py).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from firmware.errors import UsageError

QUIET_KINDS = {"prompt_frame"}
# --withheld: the caller ID "number absent" reason sent in its place (SDMF/MDMF/DTMF/NTT)
WITHHELD = {"private": "P", "unavailable": "O"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("call", help="place a simulated call into the flow and print a transcript",
                       description="Ring the flow on a simulated line: the script's keys are "
                                   "sent as DTMF audio, and every event is printed with its "
                                   "time in the call.")
    p.add_argument("--config", type=Path, help="config file (default: the shipped default)")
    p.add_argument("--data", type=Path, help="data dir (default: a throw-away one)")
    p.add_argument("--script", help='caller script, e.g. "wait 1; press 2; hangup"')
    p.add_argument("--caller-id", dest="caller_id", help="caller's number (sent as caller ID)")
    p.add_argument("--caller-name", dest="caller_name", help="caller's name")
    p.add_argument("--withheld", choices=tuple(WITHHELD),
                   help="the caller's number is not sent: caller ID says why, 'private' "
                        "(withheld by the caller, code P) or 'unavailable' (out of area, "
                        "code O); the box classes the call as that")
    p.add_argument("--at", help='wall time of the call, "YYYY-MM-DD HH:MM" in the business zone')
    p.add_argument("--party", action="append", default=[],
                   help="who a forward reaches: NUMBER=answers[:SCRIPT], NUMBER=busy or "
                        "NUMBER=no_answer (NUMBER of someone in the config's people; spaces, "
                        "dashes, dots and parentheses ignored)")
    p.add_argument("--json", action="store_true", help="one JSON event per line")
    p.add_argument("--realtime", action="store_true",
                   help="pace to the wall clock; without --script: speaker and keyboard")
    p.set_defaults(func=run)


_AS_DIALLED = str.maketrans("", "", " -.(),")  # what the exchange hears: digits only


def _parties(specs: list[str], settings: Any) -> dict[str, Any]:
    """--party specs by the digits the box dials; a number nobody in `people` has is
    refused, since no forward could ever reach it (a typo would pass unnoticed)."""
    from firmware.line.sim import SimParty

    known = {person.number.translate(_AS_DIALLED): key for key, person in settings.people.items()}
    parties: dict[str, Any] = {}
    for spec in specs:
        number, _, what = spec.partition("=")
        number = number.translate(_AS_DIALLED)
        kind, _, script = what.partition(":")
        if not number or kind not in ("answers", "busy", "no_answer"):
            raise UsageError(f"--party {spec!r}: use NUMBER=answers[:SCRIPT], NUMBER=busy or NUMBER=no_answer")
        if number not in known:
            listed = ", ".join(f"{key} {digits}" for digits, key in known.items()) or "nobody"
            raise UsageError(f"--party {spec!r}: {number} is not the number of anyone in the "
                             f"config's people ({listed}): a forward dials only those")
        if kind == "answers":
            parties[number] = SimParty.answers(script or "wait 1; press 1")
        else:
            parties[number] = getattr(SimParty, kind)()
    return parties


def _caller_id(args: argparse.Namespace) -> Any:
    """The caller ID the simulated line sends as FSK/DTMF (None: no caller ID at all)."""
    from firmware.dsp.callerid import CallerIdInfo

    if args.withheld and args.caller_id:
        raise UsageError(f"--withheld {args.withheld} and --caller-id {args.caller_id}: a "
                         "withheld number is not sent; give one of them")
    if args.withheld:
        return CallerIdInfo(name=args.caller_name, number_absent=WITHHELD[args.withheld])
    if args.caller_id or args.caller_name:
        return CallerIdInfo(number=args.caller_id, name=args.caller_name)
    return None


def _start_ms(at: str | None, settings: Any) -> int | None:
    if not at:
        return None
    try:
        local = dt.datetime.strptime(at, "%Y-%m-%d %H:%M")
    except ValueError:
        raise UsageError(f"--at {at!r}: write it as YYYY-MM-DD HH:MM") from None
    return int(local.replace(tzinfo=settings.business.zone).timestamp() * 1000)


class Transcript:
    def __init__(self, as_json: bool, out: Any = None):
        self.as_json = as_json
        self.out = out if out is not None else sys.stdout  # the stream at call time

    def __call__(self, kind: str, detail: dict[str, Any]) -> None:
        if kind in QUIET_KINDS:
            return
        detail = dict(detail)
        t_ms = detail.pop("t_ms", None)
        if self.as_json:
            print(json.dumps({"t_ms": t_ms, "event": kind, **detail}, ensure_ascii=False,
                             default=str), file=self.out, flush=True)
            return
        when = f"{t_ms / 1000:8.2f}s" if t_ms is not None else " " * 9
        rest = " ".join(f"{k}={v}" for k, v in detail.items() if k != "call_id")
        print(f"{when}  {kind:<16} {rest}", file=self.out, flush=True)


def run(args: argparse.Namespace) -> int:
    from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource, simulated_call
    from firmware.line.sim import SimCaller

    if args.script is None and not args.realtime:
        raise UsageError("give --script, or --realtime to call by speaker and keyboard")
    info = _caller_id(args)
    config = ConfigSource(args.config or DEFAULT_CONFIG, fallback=None)
    start = _start_ms(args.at, config.current())
    with tempfile.TemporaryDirectory(prefix="ivrbox-call-") as tmp:
        box = Box(args.data or Path(tmp), config,
                  now_ms=(lambda: start) if start is not None else None)
        try:
            if args.script is None:
                from firmware.cli.call_live import live_call

                return live_call(box, caller_id=info)
            caller = SimCaller(args.script, caller_id=info)
            summary = asyncio.run(simulated_call(
                box, caller, parties=_parties(args.party, config.current()), realtime=args.realtime,
                on_event=Transcript(args.json)))
        finally:
            box.close()
    if not args.json:
        print(f"call {summary.call_id}: {summary.outcome} ({summary.end_reason}); "
              f"path: {' > '.join(summary.path)}")
    return 0
