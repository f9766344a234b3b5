"""`ivrbox run` (engine and web page in one process), `ivrbox engine` and `ivrbox migrate`.

    ivrbox run [--line sim|modem|fxo] [--device PATH] [--config FILE] [--data DIR]
               [--web HOST:PORT]
    ivrbox engine ...      the same without the page (systemd runs the two apart, so a
                           crash of the page never touches a call)
    Every line of the config (`lines:`, or the one `line:`) is answered at once, one
    engine per line on one event loop (firmware.cli.lines_fleet); a published config that
    adds or removes a line starts or stops it between calls;
    --line/--device override the backend of a one-line config only.
    ivrbox migrate --data DIR     bring the database schema up to date (updates)

Ctrl-C (or SIGTERM) stops cleanly: the running call's recording is finished, the line
goes on-hook, the outbox keeps undelivered mail for the next start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

log = logging.getLogger("ivrbox")

DEFAULT_DATA = Path("./data")
DEFAULT_WEB = "127.0.0.1:8080"
PURGE_EVERY_S = 3600
RESTORE_CHECK_S = 1.0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--line", choices=("sim", "modem", "fxo"),
                   help="line backend of a one-line config (default: the config's line.backend)")
    p.add_argument("--device", help="modem serial port or FXO sound card (default: the config's)")
    p.add_argument("--config", type=Path, help="config file (default: DATA/config/current.yaml)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every call event")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start the engine and the web page")
    _common(p)
    p.add_argument("--web", default=DEFAULT_WEB, metavar="HOST:PORT",
                   help=f"where the page listens (default {DEFAULT_WEB})")
    p.set_defaults(func=run, with_web=True)
    e = sub.add_parser("engine", help="start the call engine only (systemd)")
    _common(e)
    e.set_defaults(func=run, with_web=False, web=None)
    m = sub.add_parser("migrate", help="update the database schema in a data dir")
    m.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default ./data)")
    m.set_defaults(func=migrate)


def migrate(args: argparse.Namespace) -> int:
    from firmware.store import Store

    store = Store(args.data)
    print(f"database {store.data.db_path}: schema version {store.db.version}")
    store.close()
    return 0


async def _periodic(box: Any) -> None:
    while True:
        await asyncio.sleep(PURGE_EVERY_S)
        box.voicemail.purge()


async def _follow_restores(box: Any, live: Any, status: Any) -> None:
    """The page (another process under systemd) hands restores over as a file: swap the
    data between calls (on every line), never during one. A database replaced by other
    means (a manual `ivrbox restore`) is reopened likewise."""
    from firmware.cli.lines_run import all_idle
    from firmware.restore_handoff import apply_pending_restore

    while True:
        await asyncio.sleep(RESTORE_CHECK_S)
        if not all_idle(live()):
            continue
        if not apply_pending_restore(box, status) and box.store.replaced():
            log.warning("the database was replaced: reopening it")
            box.store.reopen()


async def _watchdog() -> None:
    from firmware.cli.systemd import notify, watchdog_interval_s

    interval = watchdog_interval_s()
    if interval is None:  # not under systemd's watchdog: nothing to ping, stay idle
        await asyncio.Event().wait()
    assert interval is not None
    while True:  # runs only while the loop is healthy: a hung loop stops the pings
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)


def _entries(settings: Any, args: argparse.Namespace) -> tuple[Any, ...]:
    """The config's lines; --line/--device override the one line of a one-line config."""
    from firmware.errors import UsageError
    from firmware.settings import line_list

    entries = line_list(settings)
    if not (args.line or args.device):
        return entries
    if len(entries) > 1:
        raise UsageError("--line/--device choose the backend of a one-line config; this "
                         f"config lists {len(entries)} lines: set them in its `lines:`")
    return (_overridden(entries[0], args),)


def _entries_while_running(settings: Any, args: argparse.Namespace) -> tuple[Any, ...]:
    """As `_entries`, but a config grown to several lines on the page is applied (each
    line with its own backend) instead of refused: the box keeps answering. The first
    line keeps what --line/--device gave it: the page turned it into `line1` with the
    config's backend (sim, say), and without the override the running modem line would
    be swapped for a simulated one."""
    from firmware.errors import UsageError
    from firmware.settings import DEFAULT_LINE_NAME, line_list

    try:
        return _entries(settings, args)
    except UsageError:
        log.warning("the config now lists several lines: --line/--device apply to %s only",
                    DEFAULT_LINE_NAME)
        return tuple(_overridden(e, args) if e.name == DEFAULT_LINE_NAME else e
                     for e in line_list(settings))


def _overridden(entry: Any, args: argparse.Namespace) -> Any:
    return entry.model_copy(update={"backend": args.line or entry.backend,
                                    "device": args.device or entry.device})


async def _serve(args: argparse.Namespace) -> None:
    from firmware.appliance import (DEFAULT_CONFIG, Box, ConfigSource, StatusBoard,
                                    data_config_path)
    from firmware.cli.lines_fleet import LineFleet
    from firmware.cli.systemd import notify

    listen = None
    if args.with_web:  # refuse a port in use before touching the line
        from firmware.cli.web_cmd import parse_listen

        listen = parse_listen(args.web, "--web")
    data: Path = args.data
    config = ConfigSource(args.config or data_config_path(data),
                          fallback=None if args.config else DEFAULT_CONFIG)
    box = Box(data, config)
    box.recover()
    settings = config.current()
    entries = _entries(settings, args)
    status = StatusBoard(box.store.data.root)
    fleet = LineFleet(box, status, entries_of=lambda s: _entries_while_running(s, args))
    tasks: list[asyncio.Task[Any]] = []
    try:
        fleet.reconcile(strict=True)  # a backend that cannot be built stops here
        tasks.append(asyncio.create_task(fleet.run(), name="lines"))
        tasks += [asyncio.create_task(box.outbox.run(), name="outbox"),
                  asyncio.create_task(_periodic(box), name="purge"),
                  asyncio.create_task(_watchdog(), name="watchdog"),
                  asyncio.create_task(_follow_restores(box, fleet.live, status), name="restores")]
        if listen is not None:
            from firmware.appliance import web_services
            from firmware.web.app import create_app, serve

            app = create_app(web_services(box, status, engine_in_process=True))
            tasks.append(asyncio.create_task(serve(app, *listen), name="web"))
        log.info("ready: %d line(s)%s", len(entries),
                 f", page on http://{args.web}" if listen else "")
        notify("READY=1")
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # raises if it failed; the web server also ends on Ctrl-C
    finally:
        notify("STOPPING=1")
        for task in tasks:  # the lines task releases every line as it is cancelled
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await fleet.stop()  # already done if its task ran; not if it was cancelled first
        box.close()
        log.info("stopped: lines on-hook")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("ivrbox").setLevel(logging.INFO)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        await _serve(args)

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(main())
    return 0
