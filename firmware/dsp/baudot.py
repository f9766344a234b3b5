"""TTY/TDD text telephones: Baudot (ITA2, US TTY figures) over 45.45/50 baud FSK.

API:
    TTY_BAUD_US = 45.45, TTY_BAUD_EU = 50.0, MARK_HZ = 1400, SPACE_HZ = 1800
    encode(text) -> list[int]                  5-bit codes with LTRS/FIGS shifts
    modulate(text, baud=45.45, dbm0=-10, lead_ms=150, tail_ms=300, rate=8000) -> int16
    TtyChar(char, start, end, misfit)          a decoded character, sample positions
    BaudotDecoder(baud=45.45, rate=8000)       baud=None: auto, 45.45 or 50 (see class)
        .feed(int16, any length, lock_from=0) -> list[TtyChar]   same for any feed sizes
        .baud                                  the rate in use (None until auto locks)
        .reset()
    decode_text(samples, baud=45.45) -> str    whole buffer

TIA-825-A (V.18 "5-bit mode"): mark 1400 Hz, space 1800 Hz, 1 start bit, 5 data bits
LSB first, 1.5-2 stop bits; a TTY leads each burst with ~150 ms of mark and holds the
carrier ~300 ms after it. Letters and figures share the 32 codes; LTRS (31) and FIGS
(27) switch between them, and a space unshifts to letters on receive (US TTY habit).
The FSK discriminator and start-stop framer are shared with caller ID (`fsk.py`).

The ~150 ms lead is what a sender does, not a floor a receiver may count on:
minimodem leads with 2 bits (44 ms at 45.45 baud) and sends no LTRS first, so its
first code is often FIGS. A burst therefore starts after MIN_IDLE_BITS of mark, or
after SHORT_LEAD_BITS when the carrier has only just come up and the character fits
the bit clock with every bit a clear tone (`fsk.AsyncFramer`); tests/dsp/test_baudot.py
gives the shortest lead that decodes and the talk-off figures.
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
# ...or this much mark when the carrier itself just came up, if the character then fits
# the bit clock (misfit <= MAX_MISFIT) with clear bits: a lead of 1 bit decodes, 1.5 at
# 12 dB SNR, so minimodem's 2 bits have margin; 0.5 would also pass the talk-off tests,
# but at 1.0 not one short-lead start even frames in the talk-off speech and music.
SHORT_LEAD_BITS = 1.0
MAX_GAP_BITS = 30.0  # a typist's pause longer than this is a new burst
CARRIER_DBM0 = -45.0
MIN_PURITY = 0.7  # share of the line's power between the TTY tones (12 dB SNR gives ~0.9)
LEAD_MS = 150.0
AUTO_BAUDS = (TTY_BAUD_US, TTY_BAUD_EU)
# Bits a character's tone changes may sit off the bit clock and still count as this
# rate: measured <= 0.017 at the right rate (12 dB SNR, G.711) and >= 0.17 at the other;
# a TTY whose clock is up to 1.5 % off still locks on its first character.
MAX_MISFIT = 0.1
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
    misfit: float = 0.0  # bits off the bit clock (fsk.Char.misfit): ~0 at the right baud


class _Lane:
    """One baud rate's framer and letters/figures state, fed from a shared demodulator."""

    def __init__(self, baud: float, rate: int) -> None:
        self.baud = baud
        self.framer = AsyncFramer(rate / baud, data_bits=DATA_BITS, stop_bits=1,
                                  min_idle_bits=MIN_IDLE_BITS, max_gap_bits=MAX_GAP_BITS,
                                  short_lead_bits=SHORT_LEAD_BITS, short_lead_misfit=MAX_MISFIT)
        self.figures = False

    def reset(self) -> None:
        self.framer.reset()
        self.figures = False

    def feed(self, soft: npt.NDArray[np.float64], carrier: npt.NDArray[np.bool_],
             delay: int) -> list[TtyChar]:
        out: list[TtyChar] = []
        for c in self.framer.feed(soft, carrier):
            if c.burst_start:
                self.figures = False  # a new burst starts in letters (TTYs send LTRS first)
            if c.value == LTRS:
                self.figures = False
                continue
            if c.value == FIGS:
                self.figures = True
                continue
            ch = (FIGURES if self.figures else LETTERS)[c.value]
            if c.value == SPACE_CODE:
                self.figures = False
            if ch:
                out.append(TtyChar(ch, max(0, c.start - delay), max(0, c.end - delay), c.misfit))
        return out


class BaudotDecoder:
    """Baudot text from line audio, at one baud rate or, with baud=None ("auto"), at
    45.45 and 50 at once until a printed character fits one rate's bit clock
    (misfit <= MAX_MISFIT); from then on only at that rate (`.baud`).

    Why this tells the rates apart: every code but LTRS has a tone change at the third
    bit edge or later, which at the other rate (10 % off) lands >= 0.17 bit off the
    clock, while at the right rate it is within 0.02 bit at 12 dB SNR and through G.711
    (tests/dsp/test_baudot.py). Both rates share one demodulator (filters set for 50
    baud, wide enough for 45.45), so listening at both costs one framer more, and the
    framers only run while the carrier/purity gate is open.
    """

    def __init__(self, baud: float | None = TTY_BAUD_US, rate: int = SAMPLE_RATE):
        bauds = AUTO_BAUDS if baud is None else (baud,)
        self._demod = FskDemodulator(MARK_HZ, SPACE_HZ, max(bauds), rate,
                                     carrier_dbm0=CARRIER_DBM0, min_purity=MIN_PURITY)
        self._lanes = [_Lane(b, rate) for b in bauds]
        self.baud: float | None = baud  # None while listening at every rate
        self.reset()

    def reset(self) -> None:
        """Forget the signal (a locked rate stays: it is the caller's TTY)."""
        self._demod.reset()
        for lane in self._lanes:
            lane.reset()

    def feed(self, samples: npt.ArrayLike, lock_from: int = 0) -> list[TtyChar]:
        """Characters in `samples`; while auto, only from the one that locks the rate,
        which must start at or after sample `lock_from` (not our own echo)."""
        soft, carrier = self._demod.process(samples)
        delay = self._demod.delay
        if len(self._lanes) == 1:
            return self._lanes[0].feed(soft, carrier, delay)
        found: tuple[int, _Lane, list[TtyChar]] | None = None
        for lane in self._lanes:
            chars = lane.feed(soft, carrier, delay)
            fit = next((i for i, c in enumerate(chars)
                        if c.misfit <= MAX_MISFIT and c.start >= lock_from), None)
            if fit is not None and (found is None or chars[fit].start < found[2][0].start):
                found = (fit, lane, chars[fit:])
        if found is None:
            return []
        _, lane, chars = found
        self._lanes = [lane]
        self.baud = lane.baud
        return chars


def decode_text(samples: npt.ArrayLike, baud: float | None = TTY_BAUD_US) -> str:
    """The text in a whole buffer (baud=None: whichever of 45.45/50 fits)."""
    decoder = BaudotDecoder(baud)
    chars = decoder.feed(samples)
    tail = np.zeros(int(SAMPLE_RATE * 0.5), dtype=np.int16)  # let the last character out
    chars += decoder.feed(tail)
    return "".join(c.char for c in chars)
