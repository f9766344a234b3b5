"""The `ivrbox` command line: one small module per subcommand.

Each module in `COMMANDS` exposes `register(subparsers)`, which adds its parser and sets
`func(args) -> int`. Sub-commands import their heavy dependencies inside `func`, so
`ivrbox --help` stays fast on a Pi Zero. Any `IvrboxError` becomes one clear line on
stderr and exit status 2; nothing prints a traceback at an owner or an installer.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from firmware import __version__
from firmware.errors import IvrboxError

# Order here is the order in `ivrbox --help`.
COMMANDS: tuple[str, ...] = ("run", "call", "callerid", "config", "tones", "dtmf", "gen",
                            "selftest", "status", "backup", "preseed", "calibrate", "board",
                            "tty", "web")

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivrbox", description="Auto-attendant for an analog phone line."
    )
    parser.add_argument("--version", action="version", version=f"ivrbox {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"firmware.cli.{name}_cmd").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IvrboxError as exc:
        print(f"ivrbox {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
