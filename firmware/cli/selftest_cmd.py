"""`ivrbox selftest`: is this box ready to answer calls? One PASS/FAIL line per check.

    ivrbox selftest [--line sim|modem|fxo] [--device PATH] [--data DIR] [--config FILE]
                    [--no-line] [--json]

Checks (firmware/cli/checks/): config valid, disk space, clock synchronised, mail server
reachable; then the line: backend found and answering, GPIO pins (FXO board), dial tone
after going off-hook briefly, audio in and out levels. A failure prints its fix on the
next line; the exit status is 1 if anything failed. The line checks take the line, so
stop the engine first on an installed box (`sudo systemctl stop ivrbox-engine`), or pass
--no-line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DATA = Path("./data")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("selftest", help="check the line, audio, disk, clock, mail and config")
    p.add_argument("--line", choices=("sim", "modem", "fxo"),
                   help="line backend (default: the config's line.backend)")
    p.add_argument("--device", help="modem serial port or FXO sound card")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    p.add_argument("--config", type=Path, help="config (default DATA/config/current.yaml)")
    p.add_argument("--no-line", action="store_true", help="skip the line checks")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from firmware.appliance import data_config_path, open_line
    from firmware.cli.checks.suite import exit_status, full_selftest

    config = args.config or data_config_path(args.data)

    checks = asyncio.run(full_selftest(config, args.data, open_line, args.line, args.device,
                                       with_line=not args.no_line))
    if args.json:
        print(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        for check in checks:
            print(check.line())
        failures = sum(not c.ok for c in checks)
        print(f"selftest: {failures} of {len(checks)} checks FAILED" if failures else
              f"selftest: no check failed ({len(checks)} checks)")
    return exit_status(checks)
