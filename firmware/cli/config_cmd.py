"""`ivrbox config`: check config files, and make PIN hashes to paste into them.

- `ivrbox config check FILE [FILE...]`: prints `OK: FILE` for each valid file, or each
  problem as `file:line section.field: message`, one per line; exit status 2 if any
  file has a problem.
- `ivrbox config hash-pin`: reads a PIN (asked twice on a terminal, else one line of
  stdin) and prints the `pin_hash:` value for a mailbox.
"""

from __future__ import annotations

import argparse
import sys

EXIT_PROBLEMS = 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("config", help="check config files, hash mailbox PINs")
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION")
    sub.required = True
    check = sub.add_parser("check", help="validate config files and list every problem",
                           description="Print OK: FILE, or every problem as `file:line "
                                       "section.field: message`; exit 2 if any file has one.")
    check.add_argument("files", nargs="+", metavar="FILE", help="config file (YAML)")
    check.set_defaults(func=_check)
    pin = sub.add_parser("hash-pin", help="print the pin_hash for a mailbox PIN",
                         description="Read a mailbox PIN (4 to 12 digits; asked twice on a "
                                     "terminal, else one line of stdin) and print the value "
                                     "to paste as the mailbox's pin_hash.")
    pin.set_defaults(func=_hash_pin)


def _check(args: argparse.Namespace) -> int:
    from firmware.errors import ConfigError
    from firmware.settings import load

    status = 0
    for name in args.files:
        try:
            load(name)
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem)
            status = EXIT_PROBLEMS
        else:
            print(f"OK: {name}")
    return status


def _hash_pin(args: argparse.Namespace) -> int:
    from firmware.errors import UsageError
    from firmware.settings.pins import check_pin, hash_pin

    if sys.stdin.isatty():
        import getpass

        pin = getpass.getpass("PIN: ")
        if getpass.getpass("PIN again: ") != pin:
            raise UsageError("the two PINs differ")
    else:
        pin = sys.stdin.readline().strip()
    print(hash_pin(check_pin(pin)))
    return 0
