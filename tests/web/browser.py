"""What every real-browser test shares: Debian's chromium, its flags, the page served
by uvicorn in a thread on a free loopback port, and where screenshots go."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# As root in CI: no sandbox; no background networking (the machine has no Internet).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(app: Any, ws: str = "none") -> Iterator[str]:
    """Serve `app` on 127.0.0.1 in a thread; yields its base URL; stops it after."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", ws=ws))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def screenshots_dir() -> Path:
    """$IVRBOX_SCREENSHOTS, or a fresh temp dir (printed, so a person can look)."""
    path = Path(os.environ.get("IVRBOX_SCREENSHOTS") or tempfile.mkdtemp(prefix="ivrbox-screens-"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path


def log_in(page: Any, base: str, password: str | None = None) -> None:
    """Log in through the login page, as the owner does, and land on the dashboard."""
    from tests.web.conftest import PASSWORD

    page.goto(base + "/login")
    page.fill("input[name=password]", password or PASSWORD)
    page.click("button.primary")
    page.wait_for_url(base + "/")
