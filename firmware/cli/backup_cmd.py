"""`ivrbox backup` and `ivrbox restore`: the data dir as one zip, and back.

    ivrbox backup [-o FILE] [--data DIR] [--no-history]
    ivrbox restore FILE [--data DIR] [--check] [--force]

The zip is the one the web page offers (`firmware.store.backup`): config and its
history, greetings, messages (rows and WAVs), and, unless --no-history, the call log.
`restore` validates the whole file first (it opens, checksums, safe names, sane sizes,
a sound database of a known schema, every message's WAV present, a valid config) and
only then swaps the data dir's contents in one go; `--check` stops after validating.
Stop the engine and the page first (`sudo systemctl stop ivrbox-engine ivrbox-web`):
restore refuses while the status board says a line is in use, unless --force.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

DEFAULT_DATA = Path("./data")
RUNNING_STATES = ("idle", "ringing", "in_call")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    b = sub.add_parser("backup", help="save config, greetings and messages in one zip")
    b.add_argument("-o", "--output", type=Path,
                   help="zip to write (default ivrbox-backup-YYYYmmdd-HHMM.zip here)")
    b.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    b.add_argument("--no-history", action="store_true", help="leave out the call log")
    b.set_defaults(func=backup)
    r = sub.add_parser("restore", help="replace the data dir's contents with a backup zip")
    r.add_argument("file", type=Path, metavar="FILE")
    r.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    r.add_argument("--check", action="store_true", help="only validate the zip")
    r.add_argument("--force", action="store_true", help="restore even if a line looks busy")
    r.set_defaults(func=restore)


def _validate_config(text: str) -> None:
    from firmware.settings import parse

    parse(text, "backup:config/current.yaml")


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
    from firmware.store import free_bytes
    from firmware.store.backup import inspect_backup, restore_backup

    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file")
    if args.check:
        args.data.mkdir(parents=True, exist_ok=True)
        info = inspect_backup(args.file, validate_config=_validate_config,
                              free_bytes=free_bytes(args.data))
        print(f"{args.file}: a valid backup of ivrbox {info.version or '?'} "
              f"({info.files} file(s), schema {info.schema_version})")
        return 0
    busy = {name: entry.get("state") for name, entry in StatusBoard(args.data).read().items()
            if entry.get("state") in RUNNING_STATES}
    if busy and not args.force:
        raise UsageError(f"the engine seems to be running ({busy}); stop it first "
                         "(`sudo systemctl stop ivrbox-engine ivrbox-web`) or pass --force")
    info = restore_backup(args.file, args.data, validate_config=_validate_config)
    print(f"restored {args.file} into {args.data}: database (schema {info.schema_version}) "
          f"and {info.files} file(s); start the engine again")
    return 0
