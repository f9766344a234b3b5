"""`ivrbox run` (engine and web page in one process), `ivrbox engine` and `ivrbox migrate`.

    ivrbox run [--line sim|modem|fxo] [--device PATH] [--config FILE] [--data DIR]
               [--web HOST:PORT]
    ivrbox engine ...      the same without the page (systemd runs the two apart, so a
                           crash of the page never touches a call)
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
                   help="line backend (default: the config's line.backend)")
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
    m.add_argument("--data", type=Path, default=DEFAULT_DATA)
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


async def _follow_restores(box: Any, engine: Any, status: Any) -> None:
    """The page (another process under systemd) hands restores over as a file: swap the
    data between calls, never during one. A database replaced by other means (a manual
    `ivrbox restore`) is reopened likewise."""
    from firmware.appliance import apply_pending_restore

    while True:
        await asyncio.sleep(RESTORE_CHECK_S)
        if engine.state != "idle":
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


async def _serve(args: argparse.Namespace) -> None:
    from firmware.appliance import (DEFAULT_CONFIG, Box, ConfigSource, StatusBoard,
                                    data_config_path, open_line, release_line)
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
    kind = args.line or settings.line.backend
    device = args.device or settings.line.device
    status = StatusBoard(box.store.data.root)
    line = open_line(kind, device, settings, **({"realtime": True} if kind == "sim" else {}))
    engine = box.engine(line, line_name="line1", on_event=status.event_sink("line1"))
    tasks: list[asyncio.Task[Any]] = []
    try:
        tasks += [asyncio.create_task(box.outbox.run(), name="outbox"),
                  asyncio.create_task(_periodic(box), name="purge"),
                  asyncio.create_task(_watchdog(), name="watchdog"),
                  asyncio.create_task(_follow_restores(box, engine, status), name="restores")]
        if listen is not None:
            from firmware.appliance import web_services
            from firmware.web.app import create_app, serve

            app = create_app(web_services(box, status, line_name="line1", engine_in_process=True))
            tasks.append(asyncio.create_task(serve(app, *listen), name="web"))
        await line.open()
        status.set("line1", engine.state)
        log.info("ready: line %s%s%s", kind, f" on {device}" if device else "",
                 f", page on http://{args.web}" if listen else "")
        notify("READY=1")
        tasks.append(asyncio.create_task(engine.run(), name="engine"))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # raises if it failed; the web server also ends on Ctrl-C
    finally:
        notify("STOPPING=1")
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await release_line(line)
        status.set("line1", "stopped")
        box.close()
        log.info("stopped: line on-hook")


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
