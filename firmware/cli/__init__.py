"""The `ivrbox` command line: one small module per subcommand.

Each module in `COMMANDS` exposes `register(subparsers)`, which adds its parser and sets
`func(args) -> int`. Sub-commands import their heavy dependencies inside `func`, so
`ivrbox --help` stays fast on a Pi Zero. Any `IvrboxError` becomes one clear line on
stderr and exit status 2; nothing prints a traceback at an owner or an installer.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from firmware import __version__
from firmware.errors import IvrboxError

# Order here is the order in `ivrbox --help`.
COMMANDS: tuple[str, ...] = ("run", "call", "callerid", "config", "tones", "dtmf", "gen",
                            "selftest", "status", "backup", "preseed", "calibrate", "board",
                            "tty", "web")

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer whose reader left


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake as one line (what is wrong, where the help is) and
    exit status 2, as every other error a person can cause; sub-parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ivrbox", description="Auto-attendant for an analog phone line.")
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
    except PermissionError as exc:
        # the usual cause: a box's data dir belongs to the `ivrbox` user (mode 0750) and
        # the command was run as the login user
        print(f"ivrbox {args.command}: {_not_allowed(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`ivrbox dtmf --json f.wav | head -1`): not our error, and
        # no traceback; stdout goes to /dev/null so the flush at exit cannot raise again
        _quiet_stdout()
        return EXIT_BROKEN_PIPE


def _not_allowed(exc: PermissionError) -> str:
    """One line: which file, and as whom to run the command instead."""
    import pwd

    name = exc.filename or ""
    text = f"{name}: permission denied" if name else f"permission denied ({exc})"
    if not name:
        return text
    for folder in (Path(name), *Path(name).parents):
        try:
            owner = folder.stat().st_uid
        except OSError:
            continue
        if owner != os.geteuid():
            try:
                user = pwd.getpwuid(owner).pw_name
            except KeyError:
                user = str(owner)
            return f"{text}: it belongs to user '{user}'; run the command as that user (sudo -u {user} ivrbox ...)"
        break
    return text


def _quiet_stdout() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
