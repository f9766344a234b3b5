"""TTY/TDD callers: hear a text telephone on every call, then talk to it in Baudot text.

API:
    TtyWatch(baud=None, country="us") one call's Baudot listener (the call owns one);
                                      baud None = 45.45 and 50 until a TTY is heard
        .feed(frame, frame_start) -> bool    True the moment a TTY is first heard
        .heard / .heard_at / .first_char_at  whether and when (line clock)
        .baud                         the caller's rate once heard, else the country's
                                      usual one (what `announce` goes out at)
        .take() -> str                typed characters since the last take
        .mute(until)                  ignore what is decoded before `until` (our own echo)
    TtyHeard                          raised by `Call.step` once, when a TTY is first
                                      heard; the flow restarts the node in text
    lines(text, width=LINE_CHARS) -> str     short TTY lines, Baudot-safe characters
    await announce(call)              "TTY users: press any key" in Baudot, once
    await send(call, text, end="GA")  say `text` in Baudot; "GA" (go ahead) ends a
                                      turn, "SK" (stop keying) the conversation
    await read(call, timeout_ms, quiet_ms, until=...) -> str   what the caller types

Why every call pays for this: the decoder's carrier and purity gate (`dsp/baudot.py`)
rejects anything that is not 1400/1800 Hz FSK before any bit is framed, so on speech,
music and silence a frame costs one FFT-sized filter pass (see `bench/tty_bench.py`).
A TTY is recognised by its first printed character (a start bit, five data bits and the
stop bit framed between the two tones) whose tone changes fit a bit clock, at 45.45
(US) or 50 baud (Europe, Australia): both are framed from one demodulator until then,
and the call locks to the rate that fitted; replies go out at that rate.

Text mode is half-duplex, as on a TTY: while the box sends, what comes back is its own
echo from the line's hybrid, so characters decoded during our sending are dropped.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from firmware.dsp.baudot import MAX_MISFIT, TTY_BAUD_EU, TTY_BAUD_US, BaudotDecoder, modulate
from firmware.line.base import Frame, ms_to_samples

LINE_CHARS = 32  # a TTY display line (many show 20-40); break text at words before this
TTY_DBM0 = -10.0  # what a TTY sends; loud next to speech prompts but not clipping
ECHO_TAIL_MS = 400.0  # after our last bit, the decoder's delay plus the line's echo
SAFE = re.compile(r"[^A-Z0-9 \-$',!:()\"/#;?&.\n]")
MAX_TYPED = 4000  # characters kept between takes: a long message, not a flood
WORDS = {"#": " POUND ", "*": " STAR "}
# Before a caller's TTY is heard (the announcement), send at the rate its country's
# Baudot TTYs mostly use: 50 baud in the UK (textphones' Baudot mode), else 45.45.
COUNTRY_BAUD = {"uk": TTY_BAUD_EU}


class TtyHeard(Exception):
    """A text telephone is on the line: stop speaking and continue in text."""

    def __init__(self, at: int):
        super().__init__("TTY heard")
        self.at = at


class TtyWatch:
    """Decodes Baudot from every received frame; cheap when nothing TTY-like is there."""

    def __init__(self, baud: float | None = None, country: str = "us") -> None:
        self._decoder = BaudotDecoder(baud)
        self._usual = baud or COUNTRY_BAUD.get(country, TTY_BAUD_US)
        self._typed: deque[str] = deque(maxlen=MAX_TYPED)
        self._muted_until = -1
        self._origin = 0  # line clock of the decoder's sample 0
        self._next = -1  # where the next contiguous frame starts
        self.heard = False
        self.heard_at: int | None = None
        self.first_char_at: int | None = None
        self.announce = False  # send ANNOUNCEMENT after the next spoken prompt

    def feed(self, frame: Frame, frame_start: int) -> bool:
        """Listen to one frame that starts at line clock `frame_start`."""
        if frame_start != self._next:  # first frame, or frames skipped while consulting
            self._decoder.reset()
            self._origin = frame_start
        self._next = frame_start + len(frame)
        new = False
        for char in self._decoder.feed(frame, lock_from=self._muted_until - self._origin):
            start = char.start + self._origin
            if start < self._muted_until:
                continue
            if not self.heard and char.misfit > MAX_MISFIT:
                continue  # not on a bit clock (a fixed-rate watch): not a TTY yet
            if not self.heard:
                self.heard, new = True, True
                self.first_char_at = start
                self.heard_at = frame_start + len(frame)
                continue  # the key that woke text mode is not a menu choice
            self._typed.append(char.char)
        return new

    @property
    def baud(self) -> float:
        """The rate to send at: the caller's once heard, else the country's usual one."""
        return self._decoder.baud or self._usual

    def mute(self, until: int) -> None:
        self._muted_until = until
        self._typed.clear()

    def take(self) -> str:
        text = "".join(self._typed)
        self._typed.clear()
        return text

    def pending(self) -> bool:
        return bool(self._typed)


def lines(text: str, width: int = LINE_CHARS) -> str:
    """Upper-case, Baudot-safe text broken into short lines at word boundaries."""
    for key, word in WORDS.items():
        text = text.replace(key, word)
    words = SAFE.sub(" ", text.upper()).split()
    out: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        out.append(line)
    return "\r\n".join(out)


async def send(call: Any, text: str, end: str = "GA") -> None:
    """Send `text` as a TTY turn (CR LF first, as TTYs start a new line)."""
    body = lines(text)
    message = "\r\n" + body + (f" {end}" if end else "") + "\r\n"
    audio = modulate(message, baud=call.tty.baud, dbm0=TTY_DBM0)
    # Muted from the first bit: before a TTY is heard (the announcement) our echo must
    # neither wake text mode nor lock the listener to the rate we send at.
    call.tty.mute(call.now + len(audio) + ms_to_samples(ECHO_TAIL_MS))
    await call.play(audio, barge_in=False, quiet=True)  # logged as tty_sent / tty_announced
    call.tty.mute(call.now + ms_to_samples(ECHO_TAIL_MS))
    await call.pause(ECHO_TAIL_MS)


ANNOUNCEMENT = "TTY users: press any key"


async def announce(call: Any) -> None:
    """Once, after the first spoken prompt (`business.announce_tty`): a TTY user's
    machine prints this even though its owner cannot hear the greeting."""
    call.tty.announce = False
    await send(call, ANNOUNCEMENT)


def ends_turn(text: str, marks: tuple[str, ...]) -> bool:
    words = text.upper().split()
    return bool(words) and words[-1] in marks


async def read(call: Any, timeout_ms: float, quiet_ms: float, *,
               until: tuple[str, ...] = ("GA", "SK"), stop: Any = None,
               max_ms: float | None = None) -> str:
    """Typed text until a turn mark (`GA`/`SK` as the last word), `stop(text)` is true,
    a pause of `quiet_ms` after some typing, `timeout_ms` with nothing typed, or
    `max_ms` in all."""
    text = ""
    start = call.now
    last = call.now
    limit = start + ms_to_samples(max_ms) if max_ms else None
    while True:
        if call.tty.pending():
            text += call.tty.take()
            last = call.now
            if ends_turn(text, until) or (stop is not None and stop(text)):
                return text
        waited = call.now - last
        if not text.strip() and call.now - start >= ms_to_samples(timeout_ms):
            return text
        if text.strip() and waited >= ms_to_samples(quiet_ms):
            return text
        if limit is not None and call.now >= limit:
            return text
        await call.step()


def strip_marks(text: str) -> str:
    """The message without the trailing GA/SK and surrounding blanks."""
    words = text.replace("\r", " ").replace("\n", " ").split()
    while words and words[-1].upper() in ("GA", "SK", "GASK", "SKSK"):
        words.pop()
    return " ".join(words)


def digits_in(text: str) -> str:
    return "".join(ch for ch in text if ch in "0123456789*#")

