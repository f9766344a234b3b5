"""A V.253 voice modem on a pseudo-terminal: it stands where the USB modem would.

API:
    ModemEmulator(personality="usr5637", *, vsm=None, split_dle=False, dir=None)
        .start() / .stop()           the emulator thread; `.path` is what the box opens
                                     (a symlink to the pty's slave, so it can vanish)
        .unplug() / .replug()        close the pty and remove the path / a new pty there
    far end (the caller and the exchange), timed in samples of the far end's timeline:
        .send_ring(cid_lines=(), cadence=None)      one RING (+ caller-ID report lines)
        .queue_audio(samples, keys=()) -> end       caller audio; keys (start, end, digit)
        .press(digits, on_ms, off_ms, dbm0) -> end  DTMF audio + the modem's DLE reports
        .far_hangup(style)           "loop_drop" (DLE h/l), "reorder", "dial_tone"
        .far_pos                     samples of the far end's timeline so far
    faults:
        .inject(data)                raw bytes to the box now
        .drop_call(result)           the modem ends the call itself ("NO CARRIER")
        .drop_results(n) / .garble_results(n)      the next n result codes lost / mangled
        .freeze()                    answer nothing until ATZ (a wedged modem)
    history (what the box did, for assertions):
        .commands, .tx_audio (unshielded bytes played), .tx_sessions, .flashes,
        .dialled, .tones, .off_hook, .heard() -> int16 (what the caller heard since answer)

The far end's timeline advances as audio crosses the line: while recording (VRX) the
emulator sends a frame only when the box has read the previous one (it watches the
slave's input queue), so it runs as fast as the box reads and never far ahead; while
playing (VTX) it advances by what the box sends. Key presses are DTMF audio from
firmware.dsp.tones in the record stream and, as a modem does, DLE digit reports in both
states. The DLE decoder for what the box sends is written independently of
firmware.line.dle, so the two cannot share a bug.
"""

from __future__ import annotations

import fcntl
import os
import queue
import re
import select
import struct
import tempfile
import termios
import threading
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from firmware.dsp import g711, tones
from tests.fakes.modem_personality import KIND_OF_NAME, PERSONALITIES

DLE, ETX, CAN = 0x10, 0x03, 0x18
FRAME = 160
RATE = 8000
DTMF_REPEAT_MS = 70
TONE_REPORT_MS = 1000  # busy/dial tone reported after this much of it
BACKGROUND_MS = 6000  # one loop of the exchange's tone after a hang-up
GARBAGE = b"\r\n#\xa7!\x7f~\r\n"
_TX_TOKENS = re.compile(rb"([^\x10]+)|\x10(.)?", re.DOTALL)
_BYTES = {"linear16": 2, "u8": 1, "s8": 1, "ulaw": 1, "alaw": 1}


def _encode(x: npt.NDArray[np.int16], kind: str) -> bytes:
    if kind == "linear16":
        return x.astype("<i2").tobytes()
    if kind == "ulaw":
        return g711.ulaw_encode(x).tobytes()
    if kind == "alaw":
        return g711.alaw_encode(x).tobytes()
    u = g711.u8_encode(x)
    return (u ^ 0x80).tobytes() if kind == "s8" else u.tobytes()


def _decode(b: bytes, kind: str) -> npt.NDArray[np.int16]:
    if kind == "linear16":
        return np.frombuffer(b, dtype="<i2").astype(np.int16)
    if kind == "ulaw":
        return g711.ulaw_decode(b)
    if kind == "alaw":
        return g711.alaw_decode(b)
    u = np.frombuffer(b, dtype=np.uint8)
    return g711.u8_decode(u ^ 0x80 if kind == "s8" else u)


@dataclass
class TxSession:
    """One playback (AT+VTX ... DLE ETX) as the emulator received it."""

    audio: bytearray = field(default_factory=bytearray)
    ended: str = ""  # "etx", "abort" (DLE CAN seen), "" while running
    keys_reported_at: list[int] = field(default_factory=list)  # bytes into the session
    aborted_at: int = -1  # bytes into the session when DLE CAN arrived


class ModemEmulator:
    def __init__(self, personality: str = "usr5637", *,
                 vsm: tuple[tuple[int, str, int], ...] | None = None,
                 split_dle: bool = False, dir: str | None = None):
        p = PERSONALITIES[personality]
        self.p = replace(p, vsm=vsm) if vsm is not None else p
        self.split_dle = split_dle
        self._dir = dir or tempfile.mkdtemp(prefix="modem-emu-")
        self.path = os.path.join(self._dir, "ttyACM0")
        self._lock = threading.RLock()
        self._actions: queue.Queue[Callable[[], None]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modem-emulator", daemon=True)
        self._master: int | None = None
        self._slave: int | None = None
        # history
        self.commands: list[str] = []
        self.tx_audio = bytearray()
        self.tx_sessions: list[TxSession] = []
        self.flashes: list[int] = []
        self.dialled = ""
        self.tones: list[tuple[int, int, int]] = []  # every +VTS triple (f1, f2, ms)
        self.rx_sessions = 0
        self.off_hook = False
        # faults
        self._drop = 0
        self._garble = 0
        self._frozen = False
        # far end
        self._far: deque[npt.NDArray[np.int16]] = deque()
        self._far_end = 0
        self.far_pos = 0
        self._scheduled: list[tuple[int, bytes]] = []
        self._background: npt.NDArray[np.int16] | None = None
        self.on_progress: Callable[[], None] | None = None  # called from the thread
        self._heard: list[npt.NDArray[np.int16]] = []
        self._power_on()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._open_pty()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=2)
        self._close_pty()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def unplug(self) -> None:
        self._in_thread(self._close_pty)

    def replug(self) -> None:
        def again() -> None:
            self._power_on()
            self._open_pty()
        self._in_thread(again)

    def _in_thread(self, fn: Callable[[], None]) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()
        self._actions.put(run)
        os.write(self._wake_w, b"x")
        done.wait(timeout=2)

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        if os.path.lexists(self.path):
            os.unlink(self.path)
        os.symlink(os.ttyname(slave), self.path)

    def _close_pty(self) -> None:
        if os.path.lexists(self.path):
            os.unlink(self.path)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        self._out: deque[tuple[bytes, bool]] = deque()

    def _power_on(self) -> None:
        with self._lock:
            self.echo, self.fclass, self.vcid, self.scid, self.vdr = True, 0, False, False, False
            self.vsm_code: int | None = None
            self.vgt_set = self.vsm_set = False
            self.s29 = 50
            self.mode = "cmd"
            self.off_hook = False
            self._line = bytearray()
            self._out = deque()
            self._tx_pending_dle = False
            self._tx_partial = b""
            self._rx_last = b""
            self._frozen = False

    # ------------------------------------------------------------------ far-end drivers
    @property
    def kind(self) -> str:
        for code, name, _ in self.p.vsm:
            if code == self.vsm_code:
                return KIND_OF_NAME.get(name.upper(), "u8")
        return "u8"

    def send_ring(self, cid_lines: tuple[str, ...] = (),
                  cadence: tuple[int, int] | None = None) -> None:
        with self._lock:
            if cadence and self.p.vdr and self.vdr:
                self._send(f"\r\nDROF={cadence[1] // 100}\r\nDRON={cadence[0] // 100}\r\n"
                           .encode())
            self._send(b"\r\nRING\r\n")
            cid_on = self.vcid and (self.scid or not self.p.cid_needs_scid)
            if cid_lines and cid_on and self.fclass == 8:
                self._send(b"".join(b"\r\n" + line.encode() + b"\r\n" for line in cid_lines))
        self._wake()

    def queue_audio(self, samples: npt.ArrayLike,
                    keys: tuple[tuple[int, int, str], ...] = ()) -> int:
        """Caller audio after what is queued; keys are (start, end, digit) offsets in it.
        Returns the far-end position where it ends."""
        x = np.asarray(samples, dtype=np.int16)
        with self._lock:
            start = max(self._far_end, self.far_pos)
            self._background = None
            self._far.append(x)
            self._far_end = start + len(x)
            for k_start, k_end, digit in keys:
                self._schedule_key(start + k_start, start + k_end, digit)
        self._wake()
        return start + len(x)

    def press(self, digits: str, on_ms: float = 100.0, off_ms: float = 100.0,
              dbm0: float = -10.0) -> int:
        on, off = int(on_ms * RATE / 1000), int(off_ms * RATE / 1000)
        keys = tuple((i * (on + off), i * (on + off) + on, d) for i, d in enumerate(digits))
        return self.queue_audio(tones.dtmf(digits, on_ms, off_ms, dbm0), keys)

    def _schedule_key(self, start: int, end: int, digit: str) -> None:
        """A modem's report of one key: once, repeated while held, or repeated between
        start/end markers (`DLE /` ... `DLE ~`), per personality."""
        d = bytes([DLE]) + digit.encode()
        step = DTMF_REPEAT_MS * RATE // 1000
        if self.p.dtmf_style == "once":
            self._schedule(start, d)
            return
        if self.p.dtmf_style == "markers":
            self._schedule(start, bytes([DLE]) + b"/")
            self._schedule(end, bytes([DLE]) + b"~")
        for at in range(start, end, step):
            self._schedule(at, d)

    def _schedule(self, at: int, data: bytes) -> None:
        self._scheduled.append((at, data))
        self._scheduled.sort(key=lambda item: item[0])

    def far_hangup(self, style: str = "loop_drop", country: str = "us") -> int:
        """The caller leaves; "reorder"/"dial_tone": the exchange's tone follows (from
        firmware.dsp.tones), and the modem reports busy/dial tone after a second."""
        with self._lock:
            at = max(self._far_end, self.far_pos)
            self._far.clear()
            self._far_end = at
            if style == "loop_drop":
                self._schedule(at, bytes([DLE]) + self.p.loop_drop_code)
            else:
                kind = "reorder" if style == "reorder" else "dial"
                self._background = tones.call_progress(kind, country, BACKGROUND_MS)
                code = b"b" if style == "reorder" else b"d"
                self._schedule(at + TONE_REPORT_MS * RATE // 1000, bytes([DLE]) + code)
        self._wake()
        return at

    def heard(self) -> npt.NDArray[np.int16]:
        with self._lock:
            return np.concatenate(self._heard) if self._heard else np.zeros(0, np.int16)

    # ------------------------------------------------------------------ faults
    def inject(self, data: bytes) -> None:
        """Raw bytes to the box, as if the modem sent them now (e.g. "NO CARRIER")."""
        with self._lock:
            self._send(data)
        self._wake()

    def drop_call(self, result: str = "NO CARRIER") -> None:
        """The modem itself ends the call (line lost): data state over, on-hook, result."""
        def run() -> None:
            with self._lock:
                if self.mode in ("vrx", "vtx"):
                    self._send(bytes([DLE, ETX]))
                self.mode, self.off_hook = "cmd", False
                self._send(f"\r\n{result}\r\n".encode())
        self._in_thread(run)

    def drop_results(self, n: int = 1) -> None:
        with self._lock:
            self._drop += n

    def garble_results(self, n: int = 1) -> None:
        with self._lock:
            self._garble += n

    def freeze(self) -> None:
        with self._lock:
            self._frozen = True

    # ------------------------------------------------------------------ thread
    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _run(self) -> None:
        while not self._stop.is_set():
            fds = [self._wake_r] + ([self._master] if self._master is not None else [])
            busy = self.mode == "vrx" or bool(self._out)
            try:
                readable, _, _ = select.select(fds, [], [], 0.001 if busy else 0.05)
            except (OSError, ValueError):
                continue
            if self._wake_r in readable:
                os.read(self._wake_r, 4096)
            while not self._actions.empty():
                self._actions.get_nowait()()
            with self._lock:
                if self._master is not None and self._master in readable:
                    try:
                        data = os.read(self._master, 4096)
                    except OSError:
                        data = b""
                    if data:
                        self._on_input(data)
                if self._master is not None:
                    self._pump()

    def _pending_in_slave(self) -> int:
        if self._slave is None:
            return 0
        raw = fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0")
        return struct.unpack("i", raw)[0]

    def _send(self, data: bytes, barrier: bool = False) -> None:
        self._out.append((data, barrier))

    def _flush(self) -> None:
        while self._out and self._master is not None:
            data, barrier = self._out[0]
            if barrier and self._pending_in_slave() > 0:
                return  # let the box read what came before: a split across reads
            try:
                n = os.write(self._master, data)
            except BlockingIOError:
                return
            except OSError:
                self._out.clear()
                return
            if n < len(data):
                self._out[0] = (data[n:], False)
                return
            self._out.popleft()

    def _result(self, text: str) -> None:
        if self._drop:
            self._drop -= 1
            return
        if self._garble:
            self._garble -= 1
            self._send(GARBAGE)
            return
        self._send(f"\r\n{text}\r\n".encode())

    # ------------------------------------------------------------------ box -> modem
    def _on_input(self, data: bytes) -> None:
        if self._frozen:  # a wedged modem: only a reset gets through
            self._line += data
            if b"ATZ" in self._line.upper():
                self._power_on()
                self.commands.append("ATZ")
                self._result("OK")
            self._line = self._line[-3:]
            return
        if self.mode == "vtx":
            self._on_tx_bytes(data)
            return
        if self.mode == "vrx":
            self._on_rx_abort(data)
            return
        for i, byte in enumerate(data):
            if byte in (0x0D, 0x0A):
                text = self._line.decode("ascii", "replace").strip()
                self._line.clear()
                if text:
                    if self.echo:
                        self._send(text.encode() + b"\r")
                    self._on_command_line(text)
                if self.mode == "vtx" and data[i + 1:]:
                    self._on_tx_bytes(data[i + 1:])
                    return
            else:
                self._line.append(byte)

    def _on_rx_abort(self, data: bytes) -> None:
        """While recording: DLE <end code> ends it; so does (V.253) any other character
        than XON/XOFF, except other DLE pairs, which are ignored."""
        seen = self._rx_last + data
        self._rx_last = data[-1:] if data[-1:] == b"\x10" else b""
        ended, i = False, 0
        while i < len(seen):
            byte = seen[i]
            if byte == DLE:
                if i + 1 < len(seen) and seen[i + 1:i + 2] == self.p.end_rx:
                    ended = True
                i += 2
                continue
            if byte not in (0x11, 0x13):
                ended = True
            i += 1
        if ended:
            self.mode = "cmd"
            self._rx_last = b""
            self._send(bytes([DLE, ETX]))
            self._result("OK")

    def _on_command_line(self, text: str) -> None:
        if text[:2].upper() != "AT":
            return  # a modem ignores anything that does not start with AT
        self.commands.append(text)
        body = text[2:]
        self._result(self._command(body.upper()))
        if self.mode == "vtx":
            self.tx_sessions.append(TxSession())
        elif self.mode == "vrx":
            self.rx_sessions += 1

    def _command(self, body: str) -> str:
        p = self.p
        if body in ("", "E0", "E1", "V1", "Q0") or body.startswith("+VSD") \
                or body.startswith("+VIT"):
            self.echo = body != "E0" if body in ("E0", "E1") else self.echo
            return "OK"
        if body.startswith("Z"):
            self._power_on()
            self.echo = True
            return "OK"
        info = {"I0": p.ati0, "I3": p.ati3, "+FMI?": p.fmi, "+FMM?": p.fmm}.get(body)
        if info is not None:
            self._send(f"\r\n{info}\r\n".encode())
            return "OK"
        if body == "+FCLASS=8":
            self.fclass, self.vgt_set = 8, False
            return "OK"
        if body == "+VSM=?":
            if self.fclass != 8:
                return "ERROR"
            prefix = "+VSM: " if p.vsm_prefix else ""
            for code, name, bits in p.vsm:
                self._send(f'\r\n{prefix}{code},"{name}",{bits},0,(7200,8000,11025),(0),(0)'
                           .encode())
            self._send(b"\r\n")
            return "OK"
        if body.startswith("+VSM="):
            code = int(body[5:].split(",")[0])
            if self.fclass != 8 or code not in [c for c, _, _ in p.vsm]:
                return "ERROR"
            self.vsm_code, self.vsm_set = code, True
            return "OK"
        if body == "+VCID=1":
            self.vcid = True
            return "OK"
        if body == "-SCID=1":
            self.scid = True
            return "OK" if p.cid_needs_scid else "ERROR"
        if body == "+VDR=1,0":
            self.vdr = p.vdr
            return "OK" if p.vdr else "ERROR"
        if body.startswith("+VGT="):
            self.vgt_set = True
            return "OK"
        if body.startswith("S29="):
            self.s29 = int(body[4:])
            return "OK"
        if body == "+VLS=1":
            if self.fclass != 8 or (p.vgt_before_vls and not (self.vgt_set and self.vsm_set)):
                return "ERROR"
            self.off_hook = True
            self._heard = []
            if self.on_progress:
                self.on_progress()
            if p.offhook_report:
                self._send(bytes([DLE]) + b"H")
            return p.answer_result
        if body in ("H0", "H", "+VLS=0"):
            self.off_hook, self.mode, self.vgt_set = False, "cmd", False
            self._far.clear()
            self._scheduled.clear()
            self._background = None
            return "OK"
        if body in ("+VTX", "+VRX"):
            if not self.off_hook or self.vsm_code is None:
                return "ERROR"
            self.mode = "vtx" if body == "+VTX" else "vrx"
            return "CONNECT"
        if body.startswith("+VTS="):
            return self._vts(body[5:])
        if body.startswith("D") and self.off_hook:
            dial = body[1:].rstrip(";").lstrip("T")
            if dial.startswith("!"):
                self.flashes.append(self.s29 * 10)
                dial = dial[1:]
            self.dialled += dial
            return "OK"
        return "ERROR"

    def _vts(self, args: str) -> str:
        if not self.off_hook:
            return "ERROR"
        by_freq = {(int(lo), int(hi)): k for k, (lo, hi) in tones.DTMF_FREQS.items()}
        for item in args.replace("],", "]|").replace("},", "}|").split("|"):
            for part in [item] if item[:1] in "[{" else item.split(","):
                part = part.strip()
                if part == "!":
                    self.flashes.append(self.s29 * 10)
                elif part.startswith("["):
                    f1, f2, d = (int(v or 0) for v in part.strip("[]").split(","))
                    self.tones.append((f1, f2, d * 10))
                    if (f1, f2) in by_freq:
                        self.dialled += by_freq[(f1, f2)]
                    elif (f1, f2) == (0, 0) and int(part.strip("[]").split(",")[2]) >= 100:
                        self.dialled += ","
                elif part.startswith("{") or len(part) == 1:
                    if not self.p.vts_digits_ok:
                        return "ERROR"
                    self.dialled += part.strip("{}").split(",")[0]
                else:
                    return "ERROR"
        return "OK"

    def _on_tx_bytes(self, data: bytes) -> None:
        """Unshield what the box plays: tokens by regular expression (an implementation
        independent of firmware.line.dle), fast enough to keep up with the box."""
        session = self.tx_sessions[-1]
        if self._tx_pending_dle:
            self._tx_pending_dle = False
            data = b"\x10" + data
        audio: list[bytes] = []
        rest = b""
        for token in _TX_TOKENS.finditer(data):
            run, code = token.group(1), token.group(2)
            if run is not None:
                if session.ended != "abort":
                    audio.append(run)
            elif code is None:  # a DLE at the very end: its code comes in the next read
                self._tx_pending_dle = True
            elif code == b"\x10":
                if session.ended != "abort":
                    audio.append(code)
            elif code == bytes([CAN]):
                session.aborted_at = len(session.audio) + sum(map(len, audio))
                session.ended = "abort"
            elif code == bytes([ETX]):
                session.ended = session.ended or "etx"
                rest = data[token.end():]
                self.mode = "cmd"
                break
        if audio:
            self._take_played(b"".join(audio), session)
        if self.mode == "cmd":
            self._result("OK")
            if rest:
                self._on_input(rest)

    def _take_played(self, audio: bytes, session: TxSession) -> None:
        session.audio += audio
        self.tx_audio += audio
        data = self._tx_partial + audio
        usable = len(data) - len(data) % _BYTES[self.kind]
        self._tx_partial = data[usable:]
        samples = _decode(data[:usable], self.kind)
        self._heard.append(samples)
        _, events = self._take_far(len(samples))
        for _, event in events:
            session.keys_reported_at.append(len(session.audio))
            self._send(event)

    # ------------------------------------------------------------------ modem -> box
    def _take_far(self, n: int) -> tuple[npt.NDArray[np.int16], list[tuple[int, bytes]]]:
        """The next n samples of the caller's side, and the DLE reports due in them."""
        out = np.zeros(n, dtype=np.int16)
        filled = 0
        while filled < n and self._far:
            head = self._far[0]
            take = min(n - filled, len(head))
            out[filled:filled + take] = head[:take]
            filled += take
            if take == len(head):
                self._far.popleft()
            else:
                self._far[0] = head[take:]
        if filled < n and self._background is not None:
            idx = np.arange(self.far_pos + filled, self.far_pos + n) % len(self._background)
            out[filled:] = self._background[idx]
        start = self.far_pos
        self.far_pos += n
        if self.on_progress:
            self.on_progress()
        due = [(at - start, data) for at, data in self._scheduled if at < self.far_pos]
        self._scheduled = [(at, d) for at, d in self._scheduled if at >= self.far_pos]
        return out, [(max(0, off), data) for off, data in due]

    def _pump(self) -> None:
        if self.mode == "vrx" and not self._frozen and not self._out \
                and self._pending_in_slave() < FRAME * _BYTES[self.kind]:
            samples, events = self._take_far(FRAME)
            self._heard.append(np.zeros(FRAME, np.int16))
            raw = _encode(samples, self.kind)
            width = _BYTES[self.kind]
            pos = 0
            for offset, event in events:
                cut = offset * width
                self._send(raw[pos:cut].replace(b"\x10", b"\x10\x10"))
                if self.split_dle:
                    self._send(event[:1])
                    self._send(event[1:], barrier=True)
                else:
                    self._send(event)
                pos = cut
            self._send(raw[pos:].replace(b"\x10", b"\x10\x10"))
        self._flush()
