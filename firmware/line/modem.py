"""ModemLine: a phone line through a V.253 voice modem on a serial port (USB or not).

API:
    ModemLine(port, *, country="US", flash_ms=None, name="modem", baudrate=115200,
              response_timeout_s=3.0, audio_timeout_s=3.0, health_interval_s=30.0,
              path_poll_s=1.0, cid_settle_s=1.5, rx_buffer_frames=4)
        implements firmware.line.base.Line (half-duplex: `full_duplex` is False)
        .identity / .quirks / .codec     what `open()` found out about the modem
        .stats                            counters for the dashboard and the test rig
        .waiting_for_event                True while `next_event()` is parked, queue empty
        .play_tone(f1_hz, f2_hz=0, ms=400)    the modem's tone generator (AT+VTS triple)
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
from collections.abc import Awaitable
from typing import Any, NoReturn, TypeVar

import numpy as np

from firmware.errors import LineError, LineGone, ModemError, UsageError
from firmware.line import dle, v253
from firmware.line.base import (FRAME_SAMPLES, Frame, Hangup, HangupCause, HardwareDtmf,
                                Tone, ms_to_samples, silence_frame)
from firmware.line.modem_session import ModemSession, ModemTimeout

# Hook-flash ("recall") length per country, ms. DESIGN.md: 90-750 ms; US leaflets say
# about 500 ms; UK/EU timed-break recall is about 100 ms.
FLASH_MS = {"US": 500, "CA": 500, "TW": 500, "CN": 100, "UK": 100, "GB": 100,
            "DE": 90, "JP": 500}
TX_HANGOVER_STEPS = 2  # silent steps (40 ms) before playback gives way to recording
BARGE_IN_STEPS = 2  # playback stopping within 40 ms of a key is a barge-in
DIAL_MS_PER_ITEM = 250  # allowance per +VTS item on top of the response timeout
T = TypeVar("T")


class ModemLine(ModemSession):
    def __init__(self, port: str, *, country: str = "US", flash_ms: int | None = None,
                 name: str = "modem", baudrate: int = 115200,
                 response_timeout_s: float = 3.0, audio_timeout_s: float = 3.0,
                 health_interval_s: float = 30.0, path_poll_s: float = 1.0,
                 cid_settle_s: float = 1.5, rx_buffer_frames: int = 4):
        country = country.upper()
        if flash_ms is None and country not in FLASH_MS:
            raise UsageError(f"unknown country {country!r} for the modem line "
                             f"(known: {', '.join(sorted(FLASH_MS))}); or give flash_ms")
        self.country = country
        self._baudrate = baudrate
        self._audio_timeout = audio_timeout_s
        self._rx_buffer_frames = rx_buffer_frames
        super().__init__(port, self._open_port,
                         flash_ms=int(flash_ms if flash_ms is not None else FLASH_MS[country]),
                         name=name, response_timeout_s=response_timeout_s,
                         health_interval_s=health_interval_s, path_poll_s=path_poll_s,
                         cid_settle_s=cid_settle_s)

    # ------------------------------------------------------------------ Line API
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

    async def play_tone(self, f1_hz: float, f2_hz: float = 0.0, ms: float = 400.0) -> None:
        """The modem's own tone generator (`AT+VTS=[f1,f2,d]`), e.g. a record beep."""
        return await self._guard(self._play_tone(f1_hz, f2_hz, ms))

    async def _play_tone(self, f1_hz: float, f2_hz: float, ms: float) -> None:
        self._require_call()
        await self._command_mode()
        await self._checked(v253.vts_tone(f1_hz, f2_hz, ms),
                            timeout=self._timeout + ms / 1000.0)

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
                try:
                    await self._enter_rx()
                except ModemError:
                    if not self._far_gone:
                        raise  # else: the modem hung up as we asked it to record
            if self._mode == "rx":
                frame = await self._read_frame()
        self._tx_step = False
        self._clock += FRAME_SAMPLES
        self._event_flag.set()
        return frame

    async def _guard(self, work: Awaitable[T]) -> T:
        """Run a call-control step; a modem that stops answering is reset."""
        try:
            return await work
        except ModemTimeout as exc:
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
        super()._reset_call()
        self._tx_step = False
        self._tx_key_at: int | None = None  # clock when a key arrived during playback
        self._tx_idle = 0
        self._step_write: asyncio.Future[bool] | None = None
        self._rx_open = False
        self._rx_base = 0
        self._rx_bytes = 0
        self._audio = bytearray()
        self._audio_wake: asyncio.Future[None] | None = None
        self._answered_at = 0
        self._dtmf = v253.DtmfCollapse(ms_to_samples(self.quirks.dtmf_repeat_ms))

    def _on_audio(self, data: bytes) -> None:
        if self._mode != "rx" or not self._link or not self.codec:
            return
        self._audio += data
        self._rx_bytes += len(data)
        need = FRAME_SAMPLES * v253.KIND_BYTES[self.codec.kind or "u8"]
        if len(self._audio) >= need * self._rx_buffer_frames:
            self._link.read_gate.clear()
        self._wake_audio()

    def _on_lost_in_call(self) -> None:
        super()._on_lost_in_call()
        self._rx_open = False
        self._wake_audio()

    def _wake_audio(self) -> None:
        if self._audio_wake and not self._audio_wake.done():
            self._audio_wake.set_result(None)

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

    # ------------------------------------------------------------------ the port
    def _open_port(self) -> Any:
        import serial  # pyserial: imported here only, so the package imports without it

        # serial.Serial, never serial_for_url: a URL (spy://...?file=, socket://) would
        # write to any file or send the call's audio to any host
        return serial.Serial(self.port, baudrate=self._baudrate, rtscts=True,
                             timeout=0.05, write_timeout=None)
