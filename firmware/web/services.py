"""What the web page needs from the rest of the box, handed in by whoever starts it.

API:
    WebServices(store, voicemail, prompts, config_path, settings, ...)   see the fields
    LineState(state, detail=None, last_error=None)    "idle" | "ringing" | "in_call" | "missing"
                                                       (| "stopped": the engine is not running)
    SelfTestResult(name, ok, detail)
    EngineFactory                                      (line, settings_fn, on_event) -> Engine
    default_engine_factory(services) -> EngineFactory  an engine on the web's own store

The appliance builds one `WebServices` and passes it to `create_app`; tests build their
own with a temp data dir. Nothing in `firmware.web` reads a global: every clock, path
and provider the page uses is a field here, so tests can pin them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware import __version__
from firmware.ivr.context import Services
from firmware.ivr.engine import Engine
from firmware.ivr.prompts import Prompts
from firmware.line.base import Line
from firmware.settings import Settings
from firmware.store import Store
from firmware.voicemail.mailbox import Voicemail

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # an uploaded greeting, any format
MAX_UPLOAD_S = 5 * 60.0  # longer than any sensible greeting
TEST_LINE_NAME = "web-test"  # calls placed from the page's test call, shown as such


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class LineState:
    state: str  # idle, ringing, in_call, missing
    detail: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class SelfTestResult:
    name: str
    ok: bool
    detail: str = ""


EngineFactory = Callable[[Line, Callable[[], Settings], Callable[[str, dict[str, Any]], None]], Engine]


@dataclass
class WebServices:
    store: Store
    voicemail: Voicemail
    prompts: Prompts
    config_path: Path  # <data>/config/current.yaml: the published config
    settings: Callable[[], Settings]  # the newest good published config
    line_state: Callable[[], LineState] = lambda: LineState("idle")  # the busiest line's
    # (name, state) of every line, in the config's order; None = one unnamed line (line_state)
    lines_state: Callable[[], list[tuple[str, LineState]]] | None = None
    config_error: Callable[[], str | None] = lambda: None  # why the newest file was refused
    selftest: Callable[[], list[SelfTestResult]] | None = None
    engine_factory: EngineFactory | None = None  # test calls; default: default_engine_factory
    clock_ms: Callable[[], int] = wall_clock_ms
    version: str = __version__
    started_ms: int = field(default_factory=wall_clock_ms)
    log_path: Path | None = None  # the log tail on the system page
    secure_cookies: bool = False  # behind HTTPS: mark cookies Secure
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_upload_s: float = MAX_UPLOAD_S
    password_hasher: Any = None  # argon2 PasswordHasher; None = RFC 9106 low-memory profile
    # Restore a validated backup zip (blocking). None: swap the data dir here (the engine
    # shares this process's Store); set by the appliance when the engine runs apart.
    restore: Callable[[Path], Any] | None = None
    # The Box's notify.Outbox: the integrations page's "send again" tries a failed delivery
    # from this process at once. None: the job is only queued for the outbox's worker.
    outbox: Any = None

    def engine_for(self, line: Line, settings: Callable[[], Settings],
                   on_event: Callable[[str, dict[str, Any]], None]) -> Engine:
        factory = self.engine_factory or default_engine_factory(self)
        return factory(line, settings, on_event)


def default_engine_factory(web: WebServices) -> EngineFactory:
    """An engine that logs test calls on the page's store under `TEST_LINE_NAME`."""
    services = Services(store=web.store, voicemail=web.voicemail, prompts=web.prompts,
                        now_ms=web.clock_ms)

    def make(line: Line, settings: Callable[[], Settings],
             on_event: Callable[[str, dict[str, Any]], None]) -> Engine:
        return Engine(line, services=services, settings=settings, line_name=TEST_LINE_NAME,
                      on_event=on_event, ring_gap_s=30.0)

    return make
