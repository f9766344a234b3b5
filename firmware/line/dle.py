"""DLE shielding, and the incremental decoder that splits a voice modem's byte stream.

API:
    DLE, ETX, CAN, SUB                  the control bytes V.253 uses
    shield(data) -> bytes               double every 0x10, for the transmit stream
    unshield(data) -> bytes             the inverse, for whole buffers (tests, tools)
    Line(text), Audio(data), Dle(code)  the items a decoder yields, in stream order
    StreamDecoder                       .feed(chunk) -> list[item]; .expect_audio()

A voice modem's receive side carries three things on one wire: result lines ("OK",
"RING", "NMBR=..."), DLE-shielded audio between `CONNECT` and `DLE ETX` while
recording, and `DLE x` event reports at any time. Reads split this stream anywhere
(between a DLE and its code, inside a line), so the decoder keeps its state across
`feed` calls. Audio is never handled byte by byte in Python: a regular expression
finds the DLEs that escape a code (odd runs), and the audio between them loses its
doubled DLEs by `bytes.replace`. It must keep up with 16 kB/s on a Pi Zero 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DLE = 0x10
ETX = 0x03
CAN = 0x18
SUB = 0x1A  # some modems send DLE SUB for two data DLEs in a row
_DLE_B = bytes([DLE])
_DOUBLE = bytes([DLE, DLE])
MAX_LINE_CHARS = 512  # a result line longer than this is garbage; drop it
# A run of DLEs of odd length: pairs (left to right) are data, the last one escapes
# the byte after it. Found by the regex engine, so audio never loops in Python.
_ODD_RUN = re.compile(rb"\x10(?<!\x10\x10)(?:\x10\x10)*(?!\x10)")


def shield(data: bytes) -> bytes:
    return data.replace(_DLE_B, _DOUBLE)


def unshield(data: bytes) -> bytes:
    decoder = StreamDecoder(audio=True)
    return b"".join(i.data for i in decoder.feed(data) if isinstance(i, Audio))


@dataclass(frozen=True)
class Line:
    text: str


@dataclass(frozen=True)
class Audio:
    data: bytes


@dataclass(frozen=True)
class Dle:
    code: int


Item = Line | Audio | Dle


class StreamDecoder:
    """Result lines, audio and DLE codes from a modem's receive stream, across reads.

    Text mode (commands, playback) until a `CONNECT` line that follows
    `expect_audio()`; then audio mode until `DLE ETX`, which is reported as Dle(ETX).
    """

    def __init__(self, *, audio: bool = False):
        self.audio_mode = audio
        self._expect_audio = False
        self._dle_pending = False
        self._skip_lf = False  # CONNECT ended by CR: its LF is not audio
        self._line = bytearray()

    def expect_audio(self, expect: bool = True) -> None:
        """The next CONNECT starts a receive data stream (we sent AT+VRX)."""
        self._expect_audio = expect

    def reset(self) -> None:
        self.audio_mode = False
        self._expect_audio = False
        self._dle_pending = False
        self._skip_lf = False
        self._line.clear()

    def feed(self, chunk: bytes) -> list[Item]:
        items: list[Item] = []
        data = bytes(chunk)
        pos = 0
        while pos < len(data):
            if self.audio_mode:
                pos = self._feed_audio(data, pos, items)
            else:
                pos = self._feed_text(data, pos, items)
        return items

    # Audio mode: slices between DLEs go out as they are; DLE pairs are decoded.
    def _feed_audio(self, data: bytes, pos: int, items: list[Item]) -> int:
        parts: list[bytes] = []
        n = len(data)
        if self._skip_lf:
            self._skip_lf = False
            if data[pos] == 0x0A:
                pos += 1
                if pos >= n:
                    return pos
        if self._dle_pending:
            self._dle_pending = False
            pos = self._audio_code(data[pos], parts, items, pos)
            if not self.audio_mode:
                return pos
        rest = data[pos:]
        if _DLE_B not in rest.replace(_DOUBLE, b""):  # the usual read: no codes at all
            parts.append(rest.replace(_DOUBLE, _DLE_B))
            items.append(Audio(b"".join(parts)))
            return n
        cursor = 0
        for run in _ODD_RUN.finditer(rest):
            # Everything before the run's last DLE is audio with doubled DLEs only.
            parts.append(rest[cursor:run.end() - 1].replace(_DOUBLE, _DLE_B))
            code_at = run.end()
            if code_at >= len(rest):
                self._dle_pending = True
                cursor = len(rest)
                break
            cursor = self._audio_code(rest[code_at], parts, items, code_at)
            if not self.audio_mode:
                return pos + cursor
        else:
            parts.append(rest[cursor:].replace(_DOUBLE, _DLE_B))
        if any(parts):
            items.append(Audio(b"".join(parts)))
        return n

    def _audio_code(self, code: int, parts: list[bytes], items: list[Item], at: int) -> int:
        """Handle the code byte at index `at`; returns the index after it."""
        if code == DLE:
            parts.append(_DLE_B)
        elif code == SUB:
            parts.append(_DOUBLE)
        else:
            if parts:
                items.append(Audio(b"".join(parts)))
                parts.clear()
            items.append(Dle(code))
            if code == ETX:
                self.audio_mode = False
        return at + 1

    # Text mode: lines end at CR or LF; DLE pairs may arrive between or inside them.
    def _feed_text(self, data: bytes, pos: int, items: list[Item]) -> int:
        n = len(data)
        while pos < n:
            byte = data[pos]
            pos += 1
            if self._dle_pending:
                self._dle_pending = False
                if byte != DLE:
                    items.append(Dle(byte))
                continue
            if byte == DLE:
                self._dle_pending = True
            elif byte in (0x0D, 0x0A):
                if self._line:
                    text = self._line.decode("ascii", "replace").strip()
                    self._line.clear()
                    if text:
                        items.append(Line(text))
                        if self._expect_audio and text.upper().startswith("CONNECT"):
                            self._expect_audio = False
                            self.audio_mode = True
                            self._skip_lf = byte == 0x0D
                            return pos
            elif len(self._line) < MAX_LINE_CHARS:
                self._line.append(byte)
            else:
                self._line.clear()
        return pos
