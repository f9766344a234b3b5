"""The serial port's two threads: a reader that hands bytes to the event loop, and a
writer that lets the port's flow control pace playback without blocking the loop.

API:
    PortLink(port, loop, on_data, on_lost)    port: an open pyserial-like object
        .start()                              start both threads
        .write(data) -> asyncio.Future        resolves True once the port took the bytes
        .abort_write(data) -> asyncio.Future  drop queued writes and the OS output
                                              buffer, then write `data` (barge-in)
        .read_gate                            threading.Event: cleared = stop reading
                                              (back-pressure while audio piles up)
        .close()                              stop the threads and close the port (blocks
                                              briefly: call it from an executor)

The threads follow the sounddevice discipline (DESIGN.md, "Hardware callbacks"): they
only copy bytes and hand them over with `call_soon_threadsafe`; they never touch the
line's state and never raise into their own thread. A port error ends both threads and
reports `on_lost(reason)` once: a USB modem that vanishes looks exactly like that.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

READ_POLL_S = 0.05  # how long a blocked read waits before re-checking the stop flag
MAX_READ_BYTES = 4096


class PortLink:
    def __init__(self, port: Any, loop: asyncio.AbstractEventLoop,
                 on_data: Callable[[bytes], None], on_lost: Callable[[str], None]):
        self.port = port
        self._loop = loop
        self._on_data = on_data
        self._on_lost = on_lost
        self.read_gate = threading.Event()
        self.read_gate.set()
        self._stop = threading.Event()
        self._lost = threading.Lock()
        self._lost_reported = False
        self._writes: queue.Queue[tuple[bytes, asyncio.Future[bool], bool] | None] = \
            queue.Queue()
        self._reader = threading.Thread(target=self._read_loop, name="modem-reader",
                                        daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="modem-writer",
                                        daemon=True)

    def start(self) -> None:
        self._reader.start()
        self._writer.start()

    # ------------------------------------------------------------------ loop side
    def write(self, data: bytes) -> asyncio.Future[bool]:
        fut: asyncio.Future[bool] = self._loop.create_future()
        if self._stop.is_set():
            fut.set_result(False)
        else:
            self._writes.put((data, fut, False))
        return fut

    def abort_write(self, data: bytes) -> asyncio.Future[bool]:
        while True:
            try:
                item = self._writes.get_nowait()
            except queue.Empty:
                break
            if item is not None and not item[1].done():
                item[1].set_result(False)
        fut: asyncio.Future[bool] = self._loop.create_future()
        self._writes.put((data, fut, True))
        return fut

    def close(self) -> None:
        self._stop.set()
        self.read_gate.set()
        self._writes.put(None)
        try:
            self.port.cancel_read()
        except Exception:  # noqa: BLE001 - not every port can cancel; the poll ends it
            pass
        for thread in (self._reader, self._writer):
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=2.0)
        try:
            self.port.close()
        except Exception:  # noqa: BLE001 - a vanished device may fail to close
            pass

    # ------------------------------------------------------------------ threads
    def _hand_over(self, callback: Callable[..., None], *args: Any) -> bool:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._stop.set()
            return False
        return True

    def _report_lost(self, reason: str) -> None:
        with self._lost:
            if self._lost_reported or self._stop.is_set():
                self._stop.set()
                return
            self._lost_reported = True
        self._stop.set()
        self._writes.put(None)
        self._hand_over(self._on_lost, reason)

    def _read_loop(self) -> None:
        port = self.port
        while not self._stop.is_set():
            if not self.read_gate.wait(READ_POLL_S):
                continue
            try:
                data = port.read(1)
                waiting = port.in_waiting if data else 0
                if waiting:
                    data += port.read(min(waiting, MAX_READ_BYTES))
            except Exception as exc:  # noqa: BLE001 - SerialException, OSError, ...
                self._report_lost(f"read failed: {exc}")
                return
            if data and not self._stop.is_set():
                if not self._hand_over(self._on_data, bytes(data)):
                    return

    def _settle(self, fut: asyncio.Future[bool], ok: bool) -> None:
        if not fut.done():
            fut.set_result(ok)

    def _write_loop(self) -> None:
        while True:
            item = self._writes.get()
            if item is None or self._stop.is_set():
                if item is not None:
                    self._hand_over(self._settle, item[1], False)
                self._drain_queue()
                return
            data, fut, flush_first = item
            try:
                if flush_first:
                    self.port.reset_output_buffer()
                self.port.write(data)
            except Exception as exc:  # noqa: BLE001
                self._hand_over(self._settle, fut, False)
                self._report_lost(f"write failed: {exc}")
                self._drain_queue()
                return
            self._hand_over(self._settle, fut, True)

    def _drain_queue(self) -> None:
        while True:
            try:
                item = self._writes.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._hand_over(self._settle, item[1], False)
