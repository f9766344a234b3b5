"""ModemLine: a phone line through a V.253 voice modem on a serial port (USB or not).

API:
    ModemLine(port, *, country="US", flash_ms=None, name="modem", baudrate=115200,
              response_timeout_s=3.0, audio_timeout_s=3.0, health_interval_s=30.0,
              path_poll_s=1.0, cid_settle_s=1.5, rx_buffer_frames=4)
        implements firmware.line.base.Line (half-duplex: `full_duplex` is False)
        .identity / .quirks / .codec     what `open()` found out about the modem
        .stats                            counters for the dashboard and the test rig
        .waiting_for_event                True while `next_event()` is parked, queue empty
    FLASH_MS                              default hook-flash length per country (ms)

How a call runs on a half-duplex modem (base.py explains the 20 ms step): after
`answer()` (`+VLS=1`) the line is in voice command mode. The first step that transmits
enters playback (`AT+VTX`); steps keep feeding it and `rx()` returns silence paced by
the port taking each frame (flow control on hardware). A step without `tx` sends
silence; after TX_HANGOVER_STEPS of them the line ends playback (`DLE ETX`, or the
barge-in abort when it stops right after a key arrived) and records (`AT+VRX`): `rx()`
then returns the caller's audio as the modem delivers it. Keys arrive as `DLE` digits
-> `HardwareDtmf` in both states, stamped with the sample they belong to.

Health: a command without an answer within `response_timeout_s` (wall clock: it is
about the hardware, not the call) is retried once, then the modem is reset (`ATZ`,
init again). A port that fails (USB modem unplugged) gives `LineStatus("missing")`,
`Hangup(LINE_GONE)` and `LineGone` from `rx`/`tx` in a call; the path is polled and
reopened when it comes back, then `LineStatus("ready")`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable
from typing import Any, NoReturn, TypeVar

import numpy as np

from firmware.errors import LineError, LineGone, ModemError, UsageError
from firmware.line import dle, v253
from firmware.line.base import (FRAME_SAMPLES, CallerId, Frame, Hangup, HangupCause,
                                HardwareDtmf, LineEvent, LineStatus, Ring, Tone,
                                ms_to_samples, silence_frame)
from firmware.line.modem_io import PortLink
from firmware.line.modem_quirks import GENERIC, IDENTITY_COMMANDS, Quirks, identify

# Hook-flash ("recall") length per country, ms. DESIGN.md: 90-750 ms; US leaflets say
# about 500 ms; UK/EU timed-break recall is about 100 ms.
FLASH_MS = {"US": 500, "CA": 500, "TW": 500, "CN": 100, "UK": 100, "GB": 100,
            "DE": 90, "JP": 500}
TX_HANGOVER_STEPS = 2  # silent steps (40 ms) before playback gives way to recording
BARGE_IN_STEPS = 2  # playback stopping within 40 ms of a key is a barge-in
RESET_TIMEOUT_FACTOR = 3  # ATZ takes longer than other commands
DIAL_MS_PER_ITEM = 250  # allowance per +VTS item on top of the response timeout
BREAK_WAIT_MIN_S = 0.05  # how long to wait for a data state to end before ATZ
RING_GAP_S = 9.0  # a ring this long after the last one starts a new call (wall clock)
T = TypeVar("T")
_FINALS = frozenset(("OK", "ERROR", "VCON", "CONNECT", "NO CARRIER", "BUSY",
                     "NO DIALTONE", "NO ANSWER"))


class _ModemTimeout(ModemError):
    """The modem did not answer in time (as opposed to answering ERROR)."""


class ModemLine:
    def __init__(self, port: str, *, country: str = "US", flash_ms: int | None = None,
                 name: str = "modem", baudrate: int = 115200,
                 response_timeout_s: float = 3.0, audio_timeout_s: float = 3.0,
                 health_interval_s: float = 30.0, path_poll_s: float = 1.0,
                 cid_settle_s: float = 1.5, rx_buffer_frames: int = 4):
        country = country.upper()
        if flash_ms is None and country not in FLASH_MS:
            raise UsageError(f"unknown country {country!r} for the modem line "
                             f"(known: {', '.join(sorted(FLASH_MS))}); or give flash_ms")
        self.name = name
        self.port = port
        self.country = country
        self.flash_ms = int(flash_ms if flash_ms is not None else FLASH_MS[country])
        self._baudrate = baudrate
        self._timeout = response_timeout_s
        self._audio_timeout = audio_timeout_s
        self._health_interval = health_interval_s
        self._path_poll = path_poll_s
        self._cid_settle = cid_settle_s
        self._rx_buffer_frames = rx_buffer_frames
        self.identity: dict[str, str] = {}
        self.quirks: Quirks = GENERIC
        self.codec: v253.Codec | None = None
        self.stats: dict[str, int] = {"rings": 0, "events": 0, "resets": 0, "opens": 0,
                                      "rx_bytes": 0, "tx_bytes": 0}
        self.waiting_for_event = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._link: PortLink | None = None
        self._decoder = dle.StreamDecoder()
        self._mode = "closed"  # closed|missing|error|idle|offhook|rx|tx
        self._closing = False
        self._clock = 0
        self._events: list[LineEvent] = []
        self._event_flag = asyncio.Event()
        self._cmd_lock = asyncio.Lock()
        self._pending: tuple[asyncio.Future[tuple[str, list[str]]], list[str]] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._last_io = time.monotonic()
        self._reset_task: asyncio.Task[None] | None = None
        self._reset_call()
        self._reset_idle()

    # ------------------------------------------------------------------ Line API
    @property
    def clock(self) -> int:
        return self._clock

    @property
    def full_duplex(self) -> bool:
        return False

    @property
    def in_call(self) -> bool:
        return self._call

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = False
        await self._connect()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"{self.name}-watch")

    async def close(self) -> None:
        self._closing = True
        if self._supervisor:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
        if self._link and self._mode not in ("missing", "closed"):
            with contextlib.suppress(LineError):
                await self._command_mode()
            with contextlib.suppress(LineError):
                await self._cmd("H0", timeout=min(self._timeout, 1.0), retries=0)
        await self._drop_link()
        self._reset_call()
        self._mode = "closed"

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

    async def answer(self) -> None:
        return await self._guard(self._answer())

    async def _answer(self) -> None:
        if self._mode != "idle":
            raise LineError(f"cannot answer: the modem line is {self._mode}")
        self._flush_caller_id()
        for body in self.quirks.setup_before_answer:
            await self._checked(body)
        if self.quirks.vsm_before_answer and self.codec:
            await self._checked(v253.vsm_select(self.codec))
        await self._checked("+VLS=1", finals=("OK", "VCON"))
        self._reset_call()
        self._call = True
        self._answered_at = self._clock
        self._mode = "offhook"

    async def hangup(self) -> None:
        if self._mode in ("closed", "missing", "error", "resetting") or self._link is None:
            self._reset_call()  # nothing to hang up, or the reset puts it on-hook
            return
        try:
            await self._command_mode()
            await self._checked("H0")
            await self._back_to_idle()
        except ModemError as exc:
            await self._reset(f"hang-up failed: {exc}")

    async def flash(self, ms: int | None = None) -> None:
        return await self._guard(self._flash(ms))

    async def _flash(self, ms: int | None = None) -> None:
        self._require_call()
        await self._command_mode()
        await self._checked(v253.flash_register(ms if ms is not None else self.flash_ms))
        await self._checked(self.quirks.flash_command, finals=("OK", "VCON"))

    async def dial(self, digits: str) -> None:
        return await self._guard(self._dial(digits))

    async def _dial(self, digits: str) -> None:
        self._require_call()
        commands = v253.vts_digits(digits, triples=self.quirks.vts_triples)
        await self._command_mode()
        for body in commands:
            allowance = body.count("[") + body.count("{") + 1
            await self._checked(body, timeout=self._timeout + allowance * DIAL_MS_PER_ITEM
                                / 1000.0)

    async def tx(self, frame: Frame) -> None:
        return await self._guard(self._tx(frame))

    async def _tx(self, frame: Frame) -> None:
        self._require_call()
        if self._far_gone and self._mode != "tx":
            return
        if self._mode == "rx":
            await self._leave_rx()
        if self._mode == "offhook":
            await self._checked("+VTX", finals=("CONNECT",), retries=0)
            self._mode, self._tx_key_at, self._tx_idle = "tx", None, 0
        self._queue_tx(np.asarray(frame, dtype=np.int16))
        self._tx_step = True

    async def rx(self) -> Frame:
        return await self._guard(self._rx())

    async def _rx(self) -> Frame:
        self._require_call()
        frame = silence_frame()
        if self._mode == "tx" and not self._tx_step:
            self._tx_idle += 1
            if self._far_gone or self._barge_in():  # stop at once, drop the buffer
                await self._leave_tx(abort=True)
            elif self._tx_idle > TX_HANGOVER_STEPS:
                await self._leave_tx(abort=False)
            else:
                self._queue_tx(frame)
        if self._mode == "tx":
            await self._wait_step_write()
        elif self._far_gone and not (self._mode == "rx" and self._rx_open):
            pass  # the caller is gone and the modem stopped recording: nothing to pace
        else:
            if self._mode == "offhook":
                await self._enter_rx()
            frame = await self._read_frame()
        self._tx_step = False
        self._clock += FRAME_SAMPLES
        self._event_flag.set()
        return frame

    async def _guard(self, work: Awaitable[T]) -> T:
        """Run a call-control step; a modem that stops answering is reset."""
        try:
            return await work
        except _ModemTimeout as exc:
            await self._fail_call(f"the modem stopped answering ({exc})")

    # ------------------------------------------------------------------ call audio
    def _require_call(self) -> None:
        if self._gone_in_call:
            raise LineGone(f"the modem at {self.port} disappeared during the call")
        if not self._call or self._mode not in ("offhook", "rx", "tx"):
            raise LineError(f"the modem line is not in a call (it is {self._mode})")

    def _queue_tx(self, frame: Frame) -> None:
        assert self._link and self.codec
        data = dle.shield(v253.encode_audio(frame, self.codec.kind or "u8"))
        self.stats["tx_bytes"] += len(data)
        self._step_write = self._link.write(data)

    def _barge_in(self) -> bool:
        """Playback stopped right after a key arrived: the caller interrupted it, so
        the modem's buffer is dropped. Stopping later is the prompt's natural end, and
        the buffer plays out (DLE ETX)."""
        return self._tx_key_at is not None and \
            self._clock - self._tx_key_at <= BARGE_IN_STEPS * FRAME_SAMPLES

    async def _wait_step_write(self) -> None:
        fut, self._step_write = self._step_write, None
        if fut is None:
            return
        try:
            ok = await asyncio.wait_for(fut, self._audio_timeout)
        except asyncio.TimeoutError:
            await self._fail_call("the modem stopped taking audio")
            return
        if not ok and self._gone_in_call:
            raise LineGone(f"the modem at {self.port} disappeared during the call")

    async def _leave_tx(self, *, abort: bool) -> None:
        data = self.quirks.abort_tx if abort else self.quirks.end_tx
        self._mode = "offhook"
        self._step_write = None
        result, _ = await self._exchange(data, abort=abort)
        if result not in ("OK", "VCON"):
            raise ModemError(f"the modem ended playback with {result}")

    async def _enter_rx(self) -> None:
        self._decoder.expect_audio()
        self._rx_requested = True
        try:
            await self._checked("+VRX", finals=("CONNECT",), retries=0)
        finally:
            self._rx_requested = False
            self._decoder.expect_audio(False)

    def _start_rx_stream(self) -> None:
        """Called the moment CONNECT switches the decoder to audio (same read)."""
        self._mode, self._rx_open = "rx", True
        self._rx_base, self._rx_bytes = self._clock, 0
        self._audio.clear()

    async def _leave_rx(self) -> None:
        self._mode = "offhook"  # from here on, audio still arriving is dropped
        self._audio.clear()
        if self._link:
            self._link.read_gate.set()
        if self._rx_open:
            result, _ = await self._exchange(self.quirks.end_rx)
            if result not in ("OK", "VCON"):
                raise ModemError(f"the modem ended recording with {result}")
        self._rx_open = False

    async def _command_mode(self) -> None:
        if self._mode == "tx":
            await self._leave_tx(abort=True)
        elif self._mode == "rx":
            await self._leave_rx()

    async def _read_frame(self) -> Frame:
        assert self.codec and self._link
        need = FRAME_SAMPLES * v253.KIND_BYTES[self.codec.kind or "u8"]
        while len(self._audio) < need and self._rx_open:
            self._audio_wake = self._loop.create_future()  # type: ignore[union-attr]
            try:
                await asyncio.wait_for(self._audio_wake, self._audio_timeout)
            except asyncio.TimeoutError:
                await self._fail_call("the modem stopped sending audio")
            finally:
                self._audio_wake = None
            self._require_call()
        chunk = bytes(self._audio[:need])
        del self._audio[:need]
        if len(self._audio) < need * self._rx_buffer_frames:
            self._link.read_gate.set()
        if len(chunk) < need:
            chunk += v253.encode_audio(np.zeros(need, np.int16), self.codec.kind or "u8")
            chunk = chunk[:need]
        return v253.decode_audio(chunk, self.codec.kind or "u8")

    async def _fail_call(self, reason: str) -> NoReturn:
        if self._call:
            self._emit(Hangup(at=self._clock, cause=HangupCause.MODEM))
        self._reset_call()
        await self._reset(reason)
        raise ModemError(f"{reason}; the modem was reset and the call is lost")

    def _reset_call(self) -> None:
        self._call = False
        self._gone_in_call = False
        self._far_gone = False
        self._tx_step = False
        self._tx_key_at: int | None = None  # clock when a key arrived during playback
        self._tx_idle = 0
        self._step_write: asyncio.Future[bool] | None = None
        self._rx_open = False
        self._rx_requested = False
        self._rx_base = 0
        self._rx_bytes = 0
        self._audio = bytearray()
        self._audio_wake: asyncio.Future[None] | None = None
        self._answered_at = 0
        self._dtmf = v253.DtmfCollapse(ms_to_samples(self.quirks.dtmf_repeat_ms))

    def _reset_idle(self) -> None:
        self._ring_count = 0
        self._last_ring = 0.0
        self._cid: dict[str, str] = {}
        self._cadence: dict[str, str] = {}
        self._cid_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ commands
    async def _cmd(self, body: str, *, finals: tuple[str, ...] = ("OK",),
                   timeout: float | None = None, retries: int = 1) -> tuple[str, list[str]]:
        """Send AT<body>; (final result, information lines). Raises on timeout."""
        data = v253.command(body)
        for attempt in range(retries + 1):
            try:
                return await self._exchange(data, timeout=timeout)
            except _ModemTimeout:
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
                raise _ModemTimeout("the modem did not answer") from None
            finally:
                self._pending = None
                self._last_io = time.monotonic()

    # ------------------------------------------------------------------ receive side
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

    def _on_audio(self, data: bytes) -> None:
        if self._mode != "rx" or not self._link or not self.codec:
            return
        self._audio += data
        self._rx_bytes += len(data)
        need = FRAME_SAMPLES * v253.KIND_BYTES[self.codec.kind or "u8"]
        if len(self._audio) >= need * self._rx_buffer_frames:
            self._link.read_gate.clear()
        self._wake_audio()

    def _wake_audio(self) -> None:
        if self._audio_wake and not self._audio_wake.done():
            self._audio_wake.set_result(None)

    def _on_line(self, text: str) -> None:
        field = v253.cid_field(text)
        if field:
            self._on_cid_field(*field)
            return
        result = v253.classify_result(text)
        if result == "CONNECT" and self._rx_requested:
            self._rx_requested = False
            self._start_rx_stream()
        if result == "RING":
            self._on_ring()
        elif result in _FINALS and self._pending and not self._pending[0].done():
            self._pending[0].set_result((result, self._pending[1]))
        elif result == "NO CARRIER" and self._call and not self._far_gone:
            self._far_gone = True
            self._emit(Hangup(at=self._clock, cause=HangupCause.MODEM))
        elif result is None and self._pending:
            self._pending[1].append(text)

    def _event_at(self) -> int:
        if self._mode == "rx" and self._rx_open and self.codec:
            return self._rx_base + self._rx_bytes // v253.KIND_BYTES[self.codec.kind or "u8"]
        return self._clock

    def _on_dle(self, code: int) -> None:
        if code == dle.ETX:
            self._rx_open = False
            if self._mode == "rx":  # the modem ended the recording by itself
                self._mode = "offhook"
            self._wake_audio()
            return
        event = v253.dle_event(code)
        if event is None or not self._call:
            return
        at = self._event_at()
        if event.kind in ("dtmf", "dtmf_start", "dtmf_end"):
            digit = self._dtmf.feed(event, at)
            if digit:
                if self._mode == "tx":
                    self._tx_key_at = self._clock
                self._emit(HardwareDtmf(at=at, digit=digit))
        elif event.kind == "tone":
            self._emit(Tone(at=at, kind=event.value))
        elif event.kind in ("hangup", "offhook") and not self._far_gone:
            grace = ms_to_samples(self.quirks.ignore_offhook_ms)
            if event.kind == "offhook" and at - self._answered_at <= grace:
                return  # the USR reporting its own off-hook right after answering
            self._far_gone = True
            cause = HangupCause.POLARITY if event.value == "polarity" else \
                HangupCause.LOOP_DROP
            self._emit(Hangup(at=at, cause=cause))

    def _emit(self, event: LineEvent) -> None:
        self.stats["events"] += 1
        self._events.append(event)
        self._event_flag.set()

    # ------------------------------------------------------------------ idle: rings, CID
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

    # ------------------------------------------------------------------ connect, reset
    def _open_port(self) -> Any:
        import serial  # pyserial: imported here only, so the package imports without it

        return serial.serial_for_url(self.port, baudrate=self._baudrate, rtscts=True,
                                     timeout=0.05, write_timeout=None)

    def _port_present(self) -> bool:
        return "://" in self.port or os.path.exists(self.port)

    async def _connect(self) -> bool:
        """Open the port and initialise the modem; on failure report and return False."""
        assert self._loop
        if not self._port_present():
            self._set_missing(f"{self.port} does not exist")
            return False
        try:
            port = await self._loop.run_in_executor(None, self._open_port)
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
        with contextlib.suppress(_ModemTimeout):
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
            self._gone_in_call = True
            self._emit(Hangup(at=self._clock, cause=HangupCause.LINE_GONE))
        if self._pending and not self._pending[0].done():
            self._pending[0].set_exception(LineGone(f"the modem at {self.port} vanished"))
        self._wake_audio()
        self._set_missing(reason)
        self._rx_open = False
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
                except _ModemTimeout:
                    await self._reset("the modem stopped answering")
                except LineError:
                    pass
