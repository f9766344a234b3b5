"""`ivrbox status`: what the box is doing, in a few lines (also `--json`).

    ivrbox status [--data DIR] [--config FILE] [--json]

Reads, never writes: the engine's status board (`<data>/status.json`: each line's state
since when, and its last error) and the database (today's calls in the business's time
zone, new messages per mailbox, the outbox's backlog and its last failure). Safe to run
beside the running engine and page: SQLite's WAL lets a reader in at any time.

API:
    gather(data_dir, config_path=None, now_ms=None) -> dict     what is printed
    render(status) -> list[str]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path("./data")
CALLS_SCANNED = 2000  # a busy office's day is far fewer calls
MESSAGES_SCANNED = 1000


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="line state, today's calls, new messages, outbox")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    p.add_argument("--config", type=Path, help="config (default DATA/config/current.yaml)")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(func=run)


def _midnight_ms(now_ms: int, tz: str) -> int:
    from zoneinfo import ZoneInfo

    local = dt.datetime.fromtimestamp(now_ms / 1000, ZoneInfo(tz))
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)


def _when(ms: int | None, tz: str) -> str | None:
    if not ms:
        return None
    from zoneinfo import ZoneInfo

    return dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def gather(data_dir: Path, config_path: Path | None = None,
           now_ms: int | None = None) -> dict[str, Any]:
    from firmware.appliance import StatusBoard, data_config_path
    from firmware.errors import ConfigError
    from firmware.settings import load
    from firmware.store import Store

    if not (Path(data_dir) / "ivrbox.db").exists():
        from firmware.errors import UsageError

        raise UsageError(f"{data_dir} holds no ivrbox data (no ivrbox.db): give --data")
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    path = config_path or data_config_path(data_dir)
    tz, config_error = "UTC", None
    try:
        tz = load(path).business.timezone
    except (ConfigError, OSError) as exc:
        config_error = str(exc).splitlines()[0]
    store = Store(data_dir)
    try:
        since = _midnight_ms(now, tz)
        calls = [c for c in store.calls.recent(CALLS_SCANNED) if c.started_ms >= since]
        new: dict[str, int] = {}
        for m in store.messages.list(limit=MESSAGES_SCANNED):
            if not m.heard:
                new[m.mailbox] = new.get(m.mailbox, 0) + 1
        jobs = store.jobs.counts()
        dead = store.jobs.list("dead", 1)
        pending = store.jobs.list("pending", 1)
        latest = store.configs.latest()
        lines = {name: {**entry, "since": _when(entry.get("since_ms"), tz)}
                 for name, entry in StatusBoard(store.data.root).read().items()}
        return {
            "time_zone": tz,
            "lines": lines,
            "calls_today": {"total": len(calls),
                            "answered": sum(1 for c in calls if c.answered_ms)},
            "new_messages": new,
            "outbox": {"pending": jobs.get("pending", 0), "failed": jobs.get("dead", 0),
                       "last_error": (pending[0].last_error if pending and pending[0].last_error
                                      else dead[0].last_error if dead else None)},
            "config": {"path": str(path), "error": config_error,
                       "version": latest.version if latest else None,
                       "published": _when(latest.published_ms, tz) if latest else None},
            "schema_version": store.db.version,
        }
    finally:
        store.close()


def render(status: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if not status["lines"]:
        out.append("line: no engine has run on this data dir yet")
    for name, entry in sorted(status["lines"].items()):
        text = f"{name}: {entry.get('state', '?')}"
        if entry.get("detail"):
            text += f" ({entry['detail']})"
        if entry.get("since"):
            text += f" since {entry['since']}"
        out.append(text)
        if entry.get("last_error"):
            out.append(f"  last error: {entry['last_error']}")
    calls = status["calls_today"]
    out.append(f"calls today: {calls['total']} ({calls['answered']} answered)")
    new = status["new_messages"]
    listing = ", ".join(f"{box} {n}" for box, n in sorted(new.items()))
    out.append(f"new messages: {sum(new.values())}" + (f" ({listing})" if listing else ""))
    box = status["outbox"]
    out.append(f"outbox: {box['pending']} waiting, {box['failed']} failed")
    if box["last_error"]:
        out.append(f"  last delivery error: {box['last_error']}")
    cfg = status["config"]
    version = f"version {cfg['version']} of {cfg['published']}" if cfg["version"] else \
        "as installed"
    out.append(f"config: {cfg['path']} ({version})")
    if cfg["error"]:
        out.append(f"  config error: {cfg['error']}")
    return out


def run(args: argparse.Namespace) -> int:
    import json

    status = gather(args.data, args.config)
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
    else:
        print("\n".join(render(status)))
    return 0
