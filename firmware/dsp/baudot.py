"""TTY/TDD text telephones: Baudot (ITA2, US TTY figures) over 45.45/50 baud FSK.

API:
    TTY_BAUD_US = 45.45, TTY_BAUD_EU = 50.0, MARK_HZ = 1400, SPACE_HZ = 1800
    encode(text) -> list[int]                  5-bit codes with LTRS/FIGS shifts
    modulate(text, baud=45.45, dbm0=-10, lead_ms=150, tail_ms=300, rate=8000) -> int16
    TtyChar(char, start, end)                  a decoded character, sample positions
    BaudotDecoder(baud=45.45, rate=8000)
        .feed(int16, any length) -> list[TtyChar]    same result for any feed sizes
        .reset()
    decode_text(samples, baud=45.45) -> str    whole buffer

TIA-825-A (V.18 "5-bit mode"): mark 1400 Hz, space 1800 Hz, 1 start bit, 5 data bits
LSB first, 1.5-2 stop bits; a TTY leads each burst with ~150 ms of mark and holds the
carrier ~300 ms after it. Letters and figures share the 32 codes; LTRS (31) and FIGS
(27) switch between them, and a space unshifts to letters on receive (US TTY habit).
The FSK discriminator and start-stop framer are shared with caller ID (`fsk.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp.fsk import AsyncFramer, FskDemodulator, modulate as fsk_modulate
from firmware.errors import UsageError

TTY_BAUD_US = 45.45
TTY_BAUD_EU = 50.0
MARK_HZ = 1400.0
SPACE_HZ = 1800.0
SAMPLE_RATE = 8000
DATA_BITS = 5
STOP_BITS_TX = 2.0  # minimodem and many TTYs frame on 2; receivers take 1.5 too
MIN_IDLE_BITS = 2.0  # a TTY's mark lead is ~6 bits; ask for 2 so a clipped lead still works
MAX_GAP_BITS = 30.0  # a typist's pause longer than this is a new burst
CARRIER_DBM0 = -45.0
MIN_PURITY = 0.7  # share of the line's power between the TTY tones (12 dB SNR gives ~0.9)
LEAD_MS = 150.0
TAIL_MS = 300.0

LTRS, FIGS = 0x1F, 0x1B
SPACE_CODE, CR_CODE, LF_CODE = 0x04, 0x08, 0x02
# index = 5-bit code (LSB = first bit sent); "" = not printable / shift.
LETTERS = ["", "E", "\n", "A", " ", "S", "I", "U", "\r", "D", "R", "J", "N", "F", "C", "K",
           "T", "Z", "L", "W", "H", "Y", "P", "Q", "O", "B", "G", "", "M", "X", "V", ""]
FIGURES = ["", "3", "\n", "-", " ", "\a", "8", "7", "\r", "$", "4", "'", ",", "!", ":", "(",
           "5", '"', ")", "2", "#", "6", "0", "1", "9", "?", "&", "", ".", "/", ";", ""]
_LETTER_CODE = {ch: i for i, ch in enumerate(LETTERS) if ch}
_FIGURE_CODE = {ch: i for i, ch in enumerate(FIGURES) if ch}
_BOTH = {" ", "\n", "\r"}


def encode(text: str) -> list[int]:
    """Codes for `text` (upper-cased; characters Baudot cannot send are dropped)."""
    codes = [LTRS]
    figures = False
    for ch in text.upper():
        if ch in _BOTH:
            codes.append(_LETTER_CODE[ch])
            if ch == " ":
                figures = False  # the receiver unshifts on space
            continue
        if ch in _LETTER_CODE:
            if figures:
                codes.append(LTRS)
                figures = False
            codes.append(_LETTER_CODE[ch])
        elif ch in _FIGURE_CODE:
            if not figures:
                codes.append(FIGS)
                figures = True
            codes.append(_FIGURE_CODE[ch])
    return codes


def modulate(text: str, baud: float = TTY_BAUD_US, dbm0: float = -10.0,
             lead_ms: float = LEAD_MS, tail_ms: float = TAIL_MS,
             rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    if baud <= 0:
        raise UsageError("baud must be positive")
    half_bits = []  # in half-bit units so 1.5 stop bits are exact
    lead = int(round(lead_ms / 1000.0 * baud * 2))
    half_bits += [1] * lead
    for code in encode(text):
        half_bits += [0, 0]
        for i in range(DATA_BITS):
            half_bits += [(code >> i) & 1] * 2
        half_bits += [1] * int(STOP_BITS_TX * 2)
    half_bits += [1] * int(round(tail_ms / 1000.0 * baud * 2))
    signal = fsk_modulate(half_bits, MARK_HZ, SPACE_HZ, baud * 2, dbm0, rate)
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class TtyChar:
    char: str
    start: int
    end: int


class BaudotDecoder:
    def __init__(self, baud: float = TTY_BAUD_US, rate: int = SAMPLE_RATE):
        self._demod = FskDemodulator(MARK_HZ, SPACE_HZ, baud, rate, carrier_dbm0=CARRIER_DBM0,
                                     min_purity=MIN_PURITY)
        self._framer = AsyncFramer(rate / baud, data_bits=DATA_BITS, stop_bits=1,
                                   min_idle_bits=MIN_IDLE_BITS, max_gap_bits=MAX_GAP_BITS)
        self.reset()

    def reset(self) -> None:
        self._demod.reset()
        self._framer.reset()
        self._figures = False

    def feed(self, samples: npt.ArrayLike) -> list[TtyChar]:
        soft, carrier = self._demod.process(samples)
        out: list[TtyChar] = []
        delay = self._demod.delay
        for c in self._framer.feed(soft, carrier):
            if c.burst_start:
                self._figures = False  # a new burst starts in letters (TTYs send LTRS first)
            if c.value == LTRS:
                self._figures = False
                continue
            if c.value == FIGS:
                self._figures = True
                continue
            ch = (FIGURES if self._figures else LETTERS)[c.value]
            if c.value == SPACE_CODE:
                self._figures = False
            if ch:
                out.append(TtyChar(ch, max(0, c.start - delay), max(0, c.end - delay)))
        return out


def decode_text(samples: npt.ArrayLike, baud: float = TTY_BAUD_US) -> str:
    decoder = BaudotDecoder(baud)
    chars = decoder.feed(samples)
    tail = np.zeros(int(SAMPLE_RATE * 0.5), dtype=np.int16)  # let the last character out
    chars += decoder.feed(tail)
    return "".join(c.char for c in chars)
