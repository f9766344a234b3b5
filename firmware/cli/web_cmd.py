"""`ivrbox web`: run the owner's page alone (no phone line), for setup or development.

    ivrbox web --config config/default.yaml --data ./data --listen 127.0.0.1:8080

The published config lives at <data>/config/current.yaml; on first start it is copied
from --config. `ivrbox run` starts the engine and this page together (the appliance
builds the same WebServices with the engine's line state).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from firmware.errors import UsageError

DEFAULT_LISTEN = "127.0.0.1:8080"
READY_PROBES = 200  # start-up wait for the port: 200 x 0.05 s
READY_PROBE_S = 0.05


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("web", help="run the owner's web page alone (no phone line)")
    p.add_argument("--config", type=Path, help="config to start from (default: the shipped default)")
    p.add_argument("--data", type=Path, default=Path("data"), help="data dir (default: ./data)")
    p.add_argument("--listen", default=DEFAULT_LISTEN, help=f"HOST:PORT (default {DEFAULT_LISTEN})")
    p.set_defaults(func=run)


def parse_listen(text: str, option: str = "--listen") -> tuple[str, int]:
    """HOST:PORT, checked by binding it now: a port in use is one clear line, not a
    traceback from the web server after the engine has started."""
    import socket

    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"{option} {text!r}: write HOST:PORT, e.g. 0.0.0.0:8080")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            raise UsageError(f"{option} {text}: cannot listen there ({exc.strerror or exc}); "
                             "is ivrbox already running?") from None
    return host, int(port)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from firmware.appliance import (DEFAULT_CONFIG, Box, ConfigSource, StatusBoard,
                                    data_config_path, web_services)
    from firmware.web import create_app, serve

    host, port = parse_listen(args.listen)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = ConfigSource(data_config_path(args.data), fallback=args.config or DEFAULT_CONFIG)
    box = Box(args.data, config)
    # The engine (another process under systemd) writes each line's state to the board.
    services = web_services(box, StatusBoard(box.store.data.root))
    print(f"ivrbox web: http://{host}:{port}/  (data: {Path(args.data).resolve()})", flush=True)
    try:
        asyncio.run(_serve_notified(serve(create_app(services), host, port), host, port))
    except KeyboardInterrupt:
        pass
    finally:
        box.close()
    return 0


async def _serve_notified(server: Any, host: str, port: int) -> None:
    """Serve; tell systemd READY once the port answers, then ping its watchdog."""
    import asyncio
    import contextlib

    from firmware.cli.run_cmd import _watchdog
    from firmware.cli.systemd import notify

    task = asyncio.ensure_future(server)
    probe = "127.0.0.1" if host in ("0.0.0.0", "") else host
    for _ in range(READY_PROBES):
        if task.done():
            break
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection(probe, port)
            writer.close()
            notify("READY=1")
            break
        await asyncio.sleep(READY_PROBE_S)
    pinger = asyncio.ensure_future(_watchdog())
    try:
        await task
    finally:
        pinger.cancel()
