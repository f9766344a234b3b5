"""Composition root: the one place that picks concrete backends and wires the parts.

API:
    find_audio_dir() -> Path                  shipped prompts (repo, release, or env)
    ConfigSource(path, fallback=DEFAULT_CONFIG)
        .current() -> Settings                newest good config (re-read when the file
                                              changes; a broken file keeps the last good)
        .last_error                           why the newest file was refused, if it was
    open_line(kind, device=None, settings=None, **options) -> Line
                                              (fxo: options board=<pin map name or file>)
    Box(data_dir, config_source)              store, voicemail, prompts, outbox, notifier
        .services, .outbox, .store, .notifier (e-mail + webhooks)
        .engine(line, line_name=..., on_event=...) -> Engine   (sees for_line(config, name))
        .line_settings(line_name) -> () -> Settings            that view, newest config
        .recover()                            crash leftovers: recordings, notices owed,
                                              open calls (closed, call_ended sent)
    data_config_path(data_dir) -> Path        where the published config lives
    await simulated_call(box, caller, parties=None, realtime=False, on_event=None)
                                              one SimCaller through the engine on a SimLine
    StatusBoard(data_root)                    each line's state, shared with the page (a
        .event_sink(line) / .set(line, state) / .read()   file, as systemd runs them apart)
        .forget(line)                         a line removed from the config
    web_services(box, status, engine_in_process) -> WebServices   the page's (each line's
                                              state from the board, by the config's lines)
    (restores handed to the engine: firmware.restore_handoff)
    selftest_report(box, status) -> [SelfTestResult]   the page's self-test (every line)

Everything above this module receives its collaborators through constructors; nothing
reads a global. Hardware modules are imported only when that backend is chosen, so the
simulated line runs on a laptop without PortAudio, a modem or GPIO.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from firmware.errors import ConfigError, UsageError
from firmware.ivr.context import Services
from firmware.ivr.engine import Engine
from firmware.ivr.prompts import Prompts, TextToSpeech
from firmware.line.base import Line
from firmware.notify.email import EMAIL_KIND, EmailNotifier
from firmware.notify.notifier import CALLBACK_KIND, CallbackMailer, OutboxNotifier, smtp_config
from firmware.notify.outbox import Outbox
from firmware.notify.webhook import WEBHOOK_KIND, WebhookSender
from firmware.restore_handoff import restore_via_engine
from firmware.settings import DEFAULT_LINE_NAME, Settings, for_line, line_list, load
from firmware.store import Store
from firmware.voicemail.mailbox import DEFAULT_MIN_MESSAGE_MS, MailboxPolicy, Voicemail

log = logging.getLogger("ivrbox")

REPO_DIR = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_DIR / "config" / "default.yaml"


def find_audio_dir() -> Path:
    """audio/ beside the package (development), beside the venv (release), or env."""
    candidates = [os.environ.get("IVRBOX_AUDIO_DIR"), REPO_DIR / "audio",
                  Path(sys.prefix).parent / "audio"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "vocabulary.yaml").exists():
            return Path(candidate)
    return REPO_DIR / "audio"


def data_config_path(data_dir: Path) -> Path:
    return Path(data_dir) / "config" / "current.yaml"


class ConfigSource:
    """The newest config that validated. Re-reads the file when its mtime changes."""

    def __init__(self, path: Path, fallback: Path | None = DEFAULT_CONFIG):
        self.path = Path(path)
        if not self.path.exists():
            if fallback is None or not Path(fallback).exists():
                raise UsageError(f"no config at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fallback, self.path)
            log.info("no config yet: started from %s", fallback)
        self._stamp: int | None = None
        self._settings: Settings | None = None
        self.last_error: str | None = None
        self._refresh()
        if self._settings is None:  # the first load must succeed: nothing to fall back on
            raise UsageError(f"{self.path} is not a valid config:\n{self.last_error}")

    def _refresh(self) -> None:
        try:
            stamp: int | None = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._settings = load(self.path)
            self.last_error = None
        except (ConfigError, OSError, UnicodeDecodeError) as exc:
            self.last_error = str(exc)
            if self._settings is not None:
                log.error("config %s refused, keeping the last good one:\n%s", self.path, exc)

    def current(self) -> Settings:
        self._refresh()
        if self._settings is None:
            raise UsageError(f"{self.path} is not a valid config:\n{self.last_error}")
        return self._settings


def pinmap_dirs() -> tuple[Path, ...]:
    """hw/pinmaps in the source tree (development) and beside the venv (release): one list,
    kept where the config check needs it to tell a known board name."""
    from firmware.settings.devices import PINMAP_DIRS

    return PINMAP_DIRS


def open_line(kind: str, device: str | None = None, settings: Settings | None = None,
              **options: Any) -> Line:
    country = settings.business.country if settings else "us"
    if settings is not None and kind in ("modem", "fxo"):
        options.setdefault("flash_ms", settings.line.flash_ms_for(country))
    if kind == "sim":
        from firmware.line.sim import SimLine

        return SimLine(country=country, **options)
    if kind == "modem":
        if not device:
            raise UsageError("the modem line needs --device (e.g. /dev/ttyACM0)")
        from firmware.line.modem import ModemLine

        return ModemLine(device, country=country, **options)
    if kind == "fxo":
        from firmware.board import Board, load_pinmap
        from firmware.line.audioport import SoundDevicePort
        from firmware.line.fxo import FxoLine

        pinmap = load_pinmap(settings.line.board if settings else "ivrbox-fxo-ref",
                             search=pinmap_dirs())
        return FxoLine(SoundDevicePort(device or "default"), Board(pinmap), country=country,
                       **options)
    raise UsageError(f"unknown line backend '{kind}' (use sim, modem or fxo)")


async def release_line(line: Line) -> None:
    """Close a line for good: on-hook, then give back its hardware (GPIO pins)."""
    try:
        await line.close()
    finally:
        board = getattr(line, "board", None)
        if board is not None:
            board.close()


class Box:
    """The long-lived parts of one ivrbox, shared by the engine(s) and the web page."""

    def __init__(self, data_dir: Path, config: ConfigSource,
                 now_ms: Callable[[], int] | None = None):
        self.config = config
        self.store = Store(Path(data_dir))
        self.voicemail = Voicemail(self.store, MailboxPolicy(min_message_ms=0))
        self.prompts = Prompts(TextToSpeech(self.store.data.tts_cache), find_audio_dir())

        def smtp() -> Any:
            return smtp_config(config.current())

        self.outbox = Outbox(self.store.jobs, {EMAIL_KIND: EmailNotifier(smtp),
                                               CALLBACK_KIND: CallbackMailer(smtp),
                                               WEBHOOK_KIND: WebhookSender(config.current)})
        notifier = OutboxNotifier(self.outbox, self.store, config.current)
        self.notifier = notifier
        kwargs = {"now_ms": now_ms} if now_ms else {}
        self.services = Services(store=self.store, voicemail=self.voicemail,
                                 prompts=self.prompts, notify=notifier, **kwargs)

    def recover(self) -> None:
        """After a crash or power cut: recordings cut short become messages; every message
        not yet notified (those, and any saved just before the crash) is e-mailed and sent
        to webhooks as a message saved in a call is (through the outbox, so nothing waits
        on the network here); calls left open are closed as interrupted, each with its
        call_ended webhook event. A recording shorter than its mailbox's min_message_s is
        dropped unless it holds speech."""
        settings = self.config.current()

        def shortest_ms(mailbox: str) -> int:
            box = settings.mailboxes.get(mailbox)
            return int(box.min_message_s * 1000) if box is not None else DEFAULT_MIN_MESSAGE_MS

        recovered = self.voicemail.recover(shortest_ms)
        if recovered:
            log.warning("recovered %d message(s) cut short by a restart", len(recovered))
        owed = self.notifier.send_owed()
        if owed:
            log.warning("queued the notice of %d message(s) saved before a restart", owed)
        closed = self.store.calls.close_open("restart", on_closed=self.notifier.call_ended)
        if closed:
            log.warning("closed %d call(s) left open by a restart", closed)

    def engine(self, line: Line, *, line_name: str = DEFAULT_LINE_NAME, **options: Any) -> Engine:
        hooks = self.notifier.engine_sink()  # call ends and survey answers -> webhooks
        own = options.pop("on_event", None)

        def on_event(kind: str, detail: dict[str, Any]) -> None:
            # the webhooks first: they are queued in the transaction that ends the call,
            # and must neither wait on nor be lost to a display listener that fails
            hooks(kind, detail)
            if own is not None:
                own(kind, detail)

        return Engine(line, services=self.services, settings=self.line_settings(line_name),
                      line_name=line_name, on_event=on_event, **options)

    def line_settings(self, line_name: str) -> Callable[[], Settings]:
        """The newest config as line `line_name` sees it (its rings, transfer, entry)."""
        memo: list[Any] = [None, None]  # (config, its view): one copy per published config

        def current() -> Settings:
            settings = self.config.current()
            if memo[0] is not settings:
                memo[:] = [settings, for_line(settings, line_name)]
            return memo[1]  # type: ignore[no-any-return]

        return current

    def close(self) -> None:
        self.store.close()


async def simulated_call(box: Box, caller: Any, *, parties: dict[str, Any] | None = None,
                         realtime: bool = False, on_event: Callable[[str, dict[str, Any]], None] | None = None,
                         ring_gap_s: float = 30.0) -> Any:
    """Ring a simulated line with `caller` (a SimCaller) and run the engine for that call.

    Returns the engine's CallSummary; the caller keeps what it heard (`caller.heard()`).
    """
    from firmware.line.sim import SimLine

    settings = box.config.current()
    line = SimLine(country=settings.business.country, realtime=realtime, parties=parties or {},
                   three_way_transfer=settings.line.transfer == "transfer")
    engine = box.engine(line, on_event=on_event, ring_gap_s=ring_gap_s)
    await line.open()
    try:
        line.incoming(caller)
        return await engine.handle_call()
    finally:
        await line.close()


STATES_BY_EVENT = {"ring": "ringing", "answered": "in_call", "call_end": "idle"}


class StatusBoard:
    """Each line's state ("idle", "ringing", "in_call", "missing") in <data>/status.json,
    plus results the page waits for (a restore it handed over).

    The engine writes it on every change; the web page (often another process) reads it.
    Written atomically, so a reader never sees half a file.
    """

    def __init__(self, data_root: Path):
        self.path = Path(data_root) / "status.json"
        self._entries: dict[str, dict[str, Any]] = {}

    def _write(self) -> None:
        import json

        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._entries), encoding="utf-8")
        os.replace(tmp, self.path)

    def set(self, line: str, state: str, detail: str | None = None,
            error: str | None = None) -> None:
        import time

        entry = self._entries.setdefault(line, {})
        if entry.get("state") == state and entry.get("detail") == detail and error is None:
            return
        entry.update(state=state, detail=detail, since_ms=int(time.time() * 1000))
        if error is not None:
            entry["last_error"] = error
        self._write()

    def forget(self, line: str) -> None:
        """Drop a removed line's entry (a line added again later starts afresh)."""
        if self._entries.pop(line, None) is not None:
            self._write()

    def set_result(self, key: str, value: dict[str, Any]) -> None:
        """A non-line entry (e.g. the outcome of a restore the page handed over)."""
        self._entries[key] = value
        self._write()

    def event_sink(self, line: str) -> Callable[[str, dict[str, Any]], None]:
        def sink(kind: str, detail: dict[str, Any]) -> None:
            if kind in STATES_BY_EVENT:
                self.set(line, STATES_BY_EVENT[kind])
            elif kind == "line_status":
                state = detail.get("state")
                self.set(line, "missing" if state == "missing" else "idle", detail.get("detail"))
            elif kind == "error":
                self.set(line, "idle", error=str(detail.get("error")))
        return sink

    def read(self) -> dict[str, dict[str, Any]]:
        import json

        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}


BUSIEST_FIRST = ("in_call", "ringing", "missing", "stopped", "idle")


def web_services(box: Box, status: StatusBoard, engine_in_process: bool = False) -> Any:
    """What the page is given. With the engine in another process (systemd), a restore
    is handed to it; in one process (`ivrbox run`) both share this Box's store."""
    from firmware.web.services import LineState, WebServices

    def lines_state() -> list[tuple[str, LineState]]:
        entries = status.read()
        out = []
        for entry in line_list(box.config.current()):
            e = entries.get(entry.name, {})
            out.append((entry.name, LineState(e.get("state", "idle"), e.get("detail"),
                                              e.get("last_error"))))
        return out

    def line_state() -> LineState:
        """The busiest line (a restore waits while any line rings or talks)."""
        states = [state for _, state in lines_state()]
        rank = {s: i for i, s in enumerate(BUSIEST_FIRST)}
        return min(states, key=lambda s: rank.get(s.state, len(rank)))

    return WebServices(store=box.store, voicemail=box.voicemail, prompts=box.prompts,
                       config_path=box.config.path, settings=box.config.current,
                       config_error=lambda: box.config.last_error,
                       line_state=line_state, lines_state=lines_state,
                       selftest=lambda: selftest_report(box, status),
                       restore=None if engine_in_process
                       else (lambda zip_path: restore_via_engine(box, status, zip_path)),
                       outbox=box.outbox)


def selftest_report(box: Box, status: StatusBoard) -> list[Any]:
    """The self-test for the web page: the checks that leave the engine's lines alone
    (config, disk, clock, mail server) and the engine's own view of each line. Blocking
    (the mail server check waits up to its timeout): call it from a worker thread."""
    from firmware.cli.checks.suite import box_checks, line_state_check
    from firmware.web.services import SelfTestResult

    settings = box.config.current()
    entries = status.read()
    checks = box_checks(box.config.path, box.store.data.root, settings)
    names = [entry.name for entry in line_list(settings)]
    for name in names:
        entry = entries.get(name, {})
        check = line_state_check(entry.get("state", "stopped"), entry.get("detail"),
                                 entry.get("last_error"))
        if len(names) > 1:  # say which line: "line (engine) front-desk"
            check = replace(check, name=f"{check.name} {name}")
        checks.append(check)
    return [SelfTestResult(c.name, c.ok, c.detail + (f" (fix: {c.fix})" if c.fix and not c.ok
                                                     else "")) for c in checks]
