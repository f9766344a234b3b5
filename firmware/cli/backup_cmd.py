"""`ivrbox backup` and `ivrbox restore`: the data dir as one zip, and back.

    ivrbox backup [-o FILE] [--data DIR] [--no-history]
    ivrbox restore FILE [--data DIR] [--check] [--force] [--wait SECONDS]

The zip is the one the web page offers (`firmware.store.backup`): config and its
history, greetings, messages (rows and WAVs), and, unless --no-history, the call log.
`restore` validates the whole file first (it opens, checksums, safe names, sane sizes,
a sound database of a known schema, every message's WAV present, a valid config) and
only then swaps the data dir's contents in one go; `--check` stops after validating.
While the engine runs (the status board shows a line of it), the backup is handed to it
as the web page does (firmware.restore_handoff): it swaps the data between calls and
posts the result, which is printed; if it does not take the backup within --wait
seconds (a long call, or a stale board after a crash), nothing changes and restore
says so. --force swaps the files directly even then (for an engine known to be down).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware.appliance import StatusBoard

DEFAULT_DATA = Path("./data")
RUNNING_STATES = ("idle", "ringing", "in_call")
DEFAULT_WAIT_S = 120.0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    b = sub.add_parser("backup", help="save config, greetings and messages in one zip")
    b.add_argument("-o", "--output", type=Path,
                   help="zip to write (default ivrbox-backup-YYYYmmdd-HHMM.zip here)")
    b.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    b.add_argument("--no-history", action="store_true", help="leave out the call log")
    b.set_defaults(func=backup)
    r = sub.add_parser("restore", help="replace the data dir's contents with a backup zip")
    r.add_argument("file", type=Path, metavar="FILE", help="a zip made by `ivrbox backup` or the web page")
    r.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    r.add_argument("--check", action="store_true", help="only validate the zip")
    r.add_argument("--force", action="store_true",
                   help="swap the files directly even if the engine looks running")
    r.add_argument("--wait", type=float, default=DEFAULT_WAIT_S, metavar="SECONDS",
                   help=f"how long the running engine may take to accept the backup "
                        f"(default {DEFAULT_WAIT_S:.0f}; it swaps between calls)")
    r.set_defaults(func=restore)


def backup(args: argparse.Namespace) -> int:
    from firmware import __version__
    from firmware.store.backup import make_backup

    out = args.output or Path(f"ivrbox-backup-{dt.datetime.now():%Y%m%d-%H%M}.zip")
    info = make_backup(args.data, out, history=not args.no_history, version=__version__)
    print(f"backup written to {out}: database (schema {info.schema_version}) and "
          f"{info.files} file(s), {info.total_bytes / 1e6:.1f} MB unpacked"
          f"{'' if info.history else ', without call history'}")
    return 0


def restore(args: argparse.Namespace) -> int:
    from firmware.appliance import StatusBoard
    from firmware.errors import UsageError
    from firmware.restore_handoff import validate_config_text
    from firmware.store import free_bytes
    from firmware.store.backup import inspect_backup, restore_backup

    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    if args.wait <= 0:
        raise UsageError(f"--wait: {args.wait:g} is not a positive number of seconds")
    status = StatusBoard(args.data)
    running = {name: entry.get("state") for name, entry in status.read().items()
               if isinstance(entry, dict) and entry.get("state") in RUNNING_STATES}
    if args.check or (running and not args.force):  # a bad zip is refused here, at once
        args.data.mkdir(parents=True, exist_ok=True)
        info = inspect_backup(args.file, validate_config=validate_config_text,
                              free_bytes=free_bytes(args.data))
    if args.check:
        print(f"{args.file}: a valid backup of ivrbox {info.version or '?'} "
              f"({info.files} file(s), schema {info.schema_version})")
        return 0
    if running and not args.force:
        return _restore_through_engine(args, status, running)
    info = restore_backup(args.file, args.data, validate_config=validate_config_text)
    print(f"restored {args.file} into {args.data}: database (schema {info.schema_version}) "
          f"and {info.files} file(s); start the engine again")
    return 0


def _restore_through_engine(args: argparse.Namespace, status: StatusBoard,
                            running: dict[str, object]) -> int:
    """The engine holds the database: let it swap between calls, as the page does."""
    from firmware.errors import UsageError
    from firmware.restore_handoff import HandOverTimeout, hand_over

    lines = ", ".join(f"{name} {state}" for name, state in sorted(running.items()))
    print(f"the engine is running ({lines}): handing {args.file} to it; it restores "
          f"between calls (waiting up to {args.wait:g} s)", file=sys.stderr, flush=True)
    try:
        info = hand_over(args.data, status, args.file, wait_s=args.wait)
    except HandOverTimeout:
        raise UsageError(
            f"the engine did not take the backup within {args.wait:g} s (a call still "
            "going on, or it is not running); nothing was changed. Try again, with a "
            "longer --wait, or, if the engine is stopped, with --force") from None
    print(f"the engine restored {args.file} into {args.data}: database (schema "
          f"{info.schema_version}) and {info.files} file(s); it answers calls with them now")
    return 0
