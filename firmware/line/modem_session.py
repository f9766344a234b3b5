"""ModemSession: a voice modem on a serial port, without the call audio: the port,
AT commands and their results, idle reports (rings, caller ID), initialisation, reset,
and reopening a modem that vanished. `ModemLine` (modem.py) adds the call on top.

API:
    ModemSession(port, opener, *, flash_ms, name="modem", response_timeout_s=3.0,
                 health_interval_s=30.0, path_poll_s=1.0, cid_settle_s=1.5)
        opener() -> an open pyserial-like port (modem.py owns pyserial)
        .clock, .next_event(), .poll_events()     as in firmware.line.base.Line
        .identity / .quirks / .codec / .stats / .waiting_for_event
    ModemTimeout                  a ModemError: no final result in time (vs ERROR)

A command waits for its final result line (wall-clock `response_timeout_s`: it is about
the hardware, not the call), is sent once more without one, then the modem is reset:
`ATZ` and init again (identify, `+FCLASS=8`, `+VSM=?` and the best format, caller ID,
S29). A port that fails gives `LineStatus("missing")`; its path is polled and the modem
reopened when it returns. An idle modem is checked with `AT` every
`health_interval_s`. Caller-ID lines are collected until all four fields came, the
next RING, answer, or `cid_settle_s` of quiet, so missing and reordered fields work.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import Callable
from typing import Any

from firmware.errors import LineError, LineGone, ModemError
from firmware.line import dle, v253
from firmware.line.base import (CallerId, Hangup, HangupCause, LineEvent, LineStatus,
                                Ring)
from firmware.line.modem_io import PortLink
from firmware.line.modem_quirks import GENERIC, IDENTITY_COMMANDS, Quirks, identify

RESET_TIMEOUT_FACTOR = 3  # ATZ takes longer than other commands
BREAK_WAIT_MIN_S = 0.05  # how long to wait for a data state to end before ATZ
RING_GAP_S = 9.0  # a ring this long after the last one starts a new call (wall clock)
_FINALS = frozenset(("OK", "ERROR", "VCON", "CONNECT", "NO CARRIER", "BUSY",
                     "NO DIALTONE", "NO ANSWER"))


class ModemTimeout(ModemError):
    """The modem did not answer in time (as opposed to answering ERROR)."""


class ModemSession:
    def __init__(self, port: str, opener: Callable[[], Any], *, flash_ms: int,
                 name: str = "modem", response_timeout_s: float = 3.0,
                 health_interval_s: float = 30.0, path_poll_s: float = 1.0,
                 cid_settle_s: float = 1.5):
        self.name = name
        self.port = port
        self.flash_ms = flash_ms
        self._opener = opener
        self._timeout = response_timeout_s
        self._health_interval = health_interval_s
        self._path_poll = path_poll_s
        self._cid_settle = cid_settle_s
        self.identity: dict[str, str] = {}
        self.quirks: Quirks = GENERIC
        self.codec: v253.Codec | None = None
        self.stats: dict[str, int] = {"rings": 0, "events": 0, "resets": 0, "opens": 0,
                                      "rx_bytes": 0, "tx_bytes": 0}
        self.waiting_for_event = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._link: PortLink | None = None
        self._decoder = dle.StreamDecoder()
        self._mode = "closed"  # closed|missing|error|resetting|idle|offhook|rx|tx
        self._closing = False
        self._clock = 0
        self._events: list[LineEvent] = []
        self._event_flag = asyncio.Event()
        self._cmd_lock = asyncio.Lock()
        self._pending: tuple[asyncio.Future[tuple[str, list[str]]], list[str]] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._last_io = time.monotonic()
        self._reset_call()
        self._reset_idle()

    # ------------------------------------------------------------------ hooks
    # What a call adds (ModemLine overrides these); without a call there is no audio.
    def _reset_call(self) -> None:
        self._call = False
        self._gone_in_call = False
        self._far_gone = False
        self._rx_requested = False

    def _on_audio(self, data: bytes) -> None:
        """Audio from a recording; dropped when no call is listening."""

    def _on_dle(self, code: int) -> None:
        """A `DLE x` report; without a call, nothing listens to them."""

    def _start_rx_stream(self) -> None:
        """CONNECT after AT+VRX: the recording starts (a call's business)."""

    def _on_lost_in_call(self) -> None:
        self._gone_in_call = True

    @property
    def clock(self) -> int:
        return self._clock

    async def next_event(self) -> LineEvent:
        while True:
            ready = self.poll_events()
            if ready:
                self._events[:0] = ready[1:]
                return ready[0]
            self._event_flag.clear()
            self.waiting_for_event = True
            try:
                await self._event_flag.wait()
            finally:
                self.waiting_for_event = False

    def poll_events(self) -> list[LineEvent]:
        ready = [e for e in self._events if e.at <= self._clock]
        if ready:
            self._events = [e for e in self._events if e.at > self._clock]
        return ready

    def _reset_idle(self) -> None:
        self._ring_count = 0
        self._last_ring = 0.0
        self._cid: dict[str, str] = {}
        self._cadence: dict[str, str] = {}
        self._cid_timer: asyncio.TimerHandle | None = None

    async def _cmd(self, body: str, *, finals: tuple[str, ...] = ("OK",),
                   timeout: float | None = None, retries: int = 1) -> tuple[str, list[str]]:
        """Send AT<body>; (final result, information lines). Raises on timeout."""
        data = v253.command(body)
        for attempt in range(retries + 1):
            try:
                return await self._exchange(data, timeout=timeout)
            except ModemTimeout:
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")

    async def _checked(self, body: str, *, finals: tuple[str, ...] = ("OK",),
                       timeout: float | None = None, retries: int = 1) -> list[str]:
        result, lines = await self._cmd(body, finals=finals, timeout=timeout,
                                        retries=retries)
        if result not in finals:
            raise ModemError(f"the modem answered AT{body} with {result}")
        return lines

    async def _exchange(self, data: bytes, *, abort: bool = False,
                        timeout: float | None = None) -> tuple[str, list[str]]:
        """Write `data` and wait for the modem's final result line."""
        async with self._cmd_lock:
            if self._link is None or self._loop is None:
                raise LineGone(f"the modem at {self.port} is not connected")
            fut: asyncio.Future[tuple[str, list[str]]] = self._loop.create_future()
            self._pending = (fut, [])
            if abort:
                self._link.abort_write(data)
            else:
                self._link.write(data)
            try:
                return await asyncio.wait_for(fut, timeout or self._timeout)
            except asyncio.TimeoutError:
                raise ModemTimeout("the modem did not answer") from None
            finally:
                self._pending = None
                self._last_io = time.monotonic()

    def _on_data(self, chunk: bytes) -> None:
        self.stats["rx_bytes"] += len(chunk)
        self._last_io = time.monotonic()
        for item in self._decoder.feed(chunk):
            if isinstance(item, dle.Audio):
                self._on_audio(item.data)
            elif isinstance(item, dle.Line):
                self._on_line(item.text)
            else:
                self._on_dle(item.code)

    def _on_line(self, text: str) -> None:
        field = v253.cid_field(text)
        if field:
            self._on_cid_field(*field)
            return
        result = v253.classify_result(text)
        if result == "CONNECT" and self._rx_requested:
            self._rx_requested = False
            self._start_rx_stream()
        if result == "NO CARRIER" and self._call and not self._far_gone:
            self._far_gone = True  # even if it also answers a command we just sent
            self._emit(Hangup(at=self._clock, cause=HangupCause.MODEM))
        if result == "RING":
            self._on_ring()
        elif result in _FINALS and self._pending and not self._pending[0].done():
            self._pending[0].set_result((result, self._pending[1]))
        elif result is None and self._pending:
            self._pending[1].append(text)

    def _emit(self, event: LineEvent) -> None:
        self.stats["events"] += 1
        self._events.append(event)
        self._event_flag.set()

    def _on_ring(self) -> None:
        if self._mode != "idle":
            return
        now = time.monotonic()
        if now - self._last_ring > RING_GAP_S:
            self._ring_count = 0
        self._last_ring = now
        self._flush_caller_id()
        self._ring_count += 1
        self.stats["rings"] += 1
        cadence: tuple[int, ...] = ()
        on, off = self._cadence.get("DRON", ""), self._cadence.get("DROF", "")
        if on.isdigit() and off.isdigit():
            cadence = (int(on) * 100, int(off) * 100)  # +VDR reports 100 ms units
        self._cadence = {}
        self._emit(Ring(at=self._clock, count=self._ring_count, cadence_ms=cadence))

    def _on_cid_field(self, key: str, value: str) -> None:
        if self._mode != "idle":
            return
        if key in ("DRON", "DROF"):
            self._cadence[key] = value.strip()
            return
        if key in self._cid:  # a second report before the first was flushed
            self._flush_caller_id()
        self._cid[key] = value
        if self._cid_timer:
            self._cid_timer.cancel()
        if all(k in self._cid for k in ("DATE", "TIME", "NMBR", "NAME")):
            self._flush_caller_id()
        elif self._loop:
            self._cid_timer = self._loop.call_later(self._cid_settle, self._flush_caller_id)

    def _flush_caller_id(self) -> None:
        if self._cid_timer:
            self._cid_timer.cancel()
            self._cid_timer = None
        fields, self._cid = self._cid, {}
        if fields:
            self._emit(CallerId(at=self._clock, standard="modem",
                                **v253.caller_id_fields(fields)))

    def _port_problem(self) -> str | None:
        """Why the port cannot be a modem now (None: a character device is there).

        Checked at each open, not when the config is read: a modem unplugged while the
        line is set up is normal. A path that is a plain file or a folder is refused
        before it is opened, so a mistyped device never has bytes written into it."""
        try:
            mode = os.stat(self.port).st_mode
        except FileNotFoundError:
            return f"{self.port} does not exist (is the modem plugged in?)"
        except OSError as exc:
            return f"cannot look at {self.port}: {exc.strerror or exc}"
        if not stat.S_ISCHR(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a file" if stat.S_ISREG(mode) else "not a device"
            return f"{self.port} is not a serial port ({kind}): check the line's device"
        return None

    def _port_present(self) -> bool:
        return self._port_problem() is None

    async def _connect(self) -> bool:
        """Open the port and initialise the modem; on failure report and return False."""
        assert self._loop
        problem = self._port_problem()
        if problem is not None:
            self._set_missing(problem)
            return False
        try:
            port = await self._loop.run_in_executor(None, self._opener)
        except Exception as exc:  # noqa: BLE001 - SerialException, OSError, ValueError
            self._set_missing(f"cannot open {self.port}: {exc}")
            return False
        self._decoder.reset()
        self._link = PortLink(port, self._loop, self._on_data, self._on_lost)
        self._link.start()
        self.stats["opens"] += 1
        try:
            await self._initialise()
        except LineGone:
            return False
        except ModemError as exc:
            await self._reset(f"initialisation failed: {exc}")
        return self._mode == "idle"

    async def _initialise(self) -> None:
        self._mode = "resetting"
        await self._break_data_state()
        await self._cmd("Z", timeout=self._timeout * RESET_TIMEOUT_FACTOR)
        await self._checked("E0")
        await self._cmd("V1")
        answers: list[str] = []
        for body in IDENTITY_COMMANDS:
            result, lines = await self._cmd(body, finals=("OK", "ERROR"))
            answers.append(" ".join(lines) if result == "OK" else "")
        self.identity = dict(zip(("ati0", "ati3", "fmi", "fmm"), answers))
        self.quirks = identify(*answers)
        await self._checked("+FCLASS=8")
        self.codec = v253.choose_codec(v253.parse_vsm("\n".join(await self._checked(
            "+VSM=?"))))
        await self._checked(v253.vsm_select(self.codec))
        await self._idle_commands()
        await self._cmd(self.quirks.silence_detect_off, finals=("OK", "ERROR"))
        if self.quirks.supports_vdr:
            await self._cmd("+VDR=1,0", finals=("OK", "ERROR"))
        await self._checked(v253.flash_register(self.flash_ms))
        self._mode = "idle"
        self._reset_idle()
        self._emit(LineStatus(at=self._clock, state="ready",
                              detail=f"{self.quirks.model}, {self.codec.name}"))

    async def _break_data_state(self) -> None:
        """End a recording or playback the modem may still be in (after our own crash,
        or a lost CONNECT): it answers OK; in command mode it ignores these bytes."""
        with contextlib.suppress(ModemTimeout):
            await self._exchange(self.quirks.end_rx + self.quirks.abort_tx + b"\r",
                                 timeout=max(BREAK_WAIT_MIN_S, self._timeout / 4))

    async def _idle_commands(self) -> None:
        """Voice mode with caller ID on: what idle means (again after every reset)."""
        await self._checked("+FCLASS=8")
        for body in self.quirks.cid_commands:
            await self._checked(body)

    async def _back_to_idle(self) -> None:
        self._reset_call()
        self._decoder.reset()
        if self._link:
            self._link.read_gate.set()
        await self._idle_commands()
        self._mode = "idle"
        self._reset_idle()

    async def _reset(self, reason: str) -> None:
        if self._closing or self._mode == "missing":
            return
        was_call = self._call
        self._reset_call()
        if was_call:
            self._emit(Hangup(at=self._clock, cause=HangupCause.MODEM))
        self.stats["resets"] += 1
        self._mode = "resetting"
        self._emit(LineStatus(at=self._clock, state="resetting", detail=reason))
        self._decoder.reset()
        if self._link:
            self._link.read_gate.set()
        try:
            await self._initialise()
        except LineGone:
            return
        except ModemError as exc:
            self._mode = "error"
            self._emit(LineStatus(at=self._clock, state="error", detail=str(exc)))

    def _set_missing(self, reason: str) -> None:
        if self._mode != "missing":
            self._mode = "missing"
            self._emit(LineStatus(at=self._clock, state="missing", detail=reason))

    def _on_lost(self, reason: str) -> None:
        if self._closing:
            return
        if self._call:
            self._on_lost_in_call()
            self._emit(Hangup(at=self._clock, cause=HangupCause.LINE_GONE))
        if self._pending and not self._pending[0].done():
            self._pending[0].set_exception(LineGone(f"the modem at {self.port} vanished"))
        self._set_missing(reason)
        assert self._loop
        self._loop.create_task(self._drop_link())

    async def _drop_link(self) -> None:
        link, self._link = self._link, None
        if link and self._loop:
            await self._loop.run_in_executor(None, link.close)

    async def _supervise(self) -> None:
        """Reopen a vanished modem when its path returns; check an idle one is alive."""
        while not self._closing:
            await asyncio.sleep(self._path_poll)
            if self._mode == "missing" and self._link is None and self._port_present():
                await self._connect()
            elif self._mode == "error":
                await self._reset("retrying after an error")
            elif self._mode == "idle" and not self._cmd_lock.locked() and \
                    time.monotonic() - self._last_io > self._health_interval:
                try:
                    await self._cmd("")
                except ModemTimeout:
                    await self._reset("the modem stopped answering")
                except LineError:
                    pass
