"""Binary FSK over a phone line: a streaming demodulator, an async (start-stop) character
framer, and a phase-continuous modulator. Caller ID (Bell 202, V.23) uses it now; TTY/TDD
(Baudot, 45.45/50 baud) is meant to reuse it.

API:
    FskDemodulator(mark_hz, space_hz, baud, rate=8000, carrier_dbm0=-50)
        .process(int16 block) -> (soft, carrier) per sample: +1 = mark, -1 = space, and
                                                 whether in-band power is above carrier_dbm0
        .delay                                   samples from input to output
        .reset()
    AsyncFramer(bit_samples, data_bits=8, parity=None|"even"|"odd", stop_bits=1,
                min_idle_bits=30, max_gap_bits=20, short_lead_bits=None,
                short_lead_misfit=0.1)
        .feed(soft, carrier) -> list[Char]     characters, LSB first, with sample positions
        .reset()
    Char(value, start, end, burst_start, idle_level, parity_ok, misfit)
    uart_bits(data, data_bits=8, parity=None, stop_bits=1) -> list[int]
    modulate(bits, mark_hz, space_hz, baud, level_dbm0, rate=8000) -> float64 samples

Why this shape: the demodulator is a quadrature FM discriminator centred between mark
and space (mix down, low-pass, angle of successive samples), all numpy per block, with
state carried between blocks so that feeding 1 sample or a whole file gives the same
output. It needs no knowledge of the bit clock. The framer then works on that per-sample
"soft" value: it finds mark-to-space edges after a run of idle mark (vectorised), and
integrates the middle of each bit window; only the per-character bookkeeping is Python.
Signals whose tones sit on the same side of the centre (V.23 1300/2100 Hz through a
Bell 202 1200/2200 Hz demodulator) still give the right bits, only with a smaller
|soft| (0.8): `Char.idle_level` carries that so callers can tell the two apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp.level import dbm0_to_peak, dbm0_to_rms

SAMPLE_RATE = 8000
DC_BLOCK_HZ = 100.0  # moving-average high-pass: nulls at multiples of this, incl. DC
LOWPASS_TAPS = 17  # complex baseband low-pass (Hamming windowed sinc)
POWER_SMOOTH_BITS = 1.0  # in-band power is averaged over about one bit
EDGE_SMOOTH_SAMPLES = 3  # soft values are smoothed this much before edge search only
BIT_INTEGRATE_FRACTION = 0.5  # integrate the middle half of each bit window
IDLE_MIN_SOFT = 0.5  # mean soft over the idle window must exceed this (mark)
IDLE_MIN_CARRIER = 0.9  # fraction of idle-window samples with carrier present
SHORT_LEAD_MIN_BIT = 0.5  # after a short lead, every bit's mean |soft| must reach this
CARRIER_MIN_DBM0 = -50.0  # in-band power below this: the discriminator output is noise
OSC_TABLE_SAMPLES = 4096

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _lowpass(cutoff_hz: float, rate: int, taps: int) -> npt.NDArray[np.float64]:
    n = np.arange(taps) - (taps - 1) / 2.0
    h = np.sinc(2.0 * cutoff_hz / rate * n) * np.hamming(taps)
    return h / h.sum()


class FskDemodulator:
    """Streaming quadrature FM discriminator for one mark/space pair."""

    def __init__(self, mark_hz: float, space_hz: float, baud: float,
                 rate: int = SAMPLE_RATE, carrier_dbm0: float = CARRIER_MIN_DBM0,
                 min_purity: float | None = None) -> None:
        self.rate = rate
        # With `min_purity`, carrier also needs that share of the line's power in band:
        # an FSK tone is nearly all in band, speech spreads over the whole voice band.
        self._min_purity = min_purity
        self.centre_hz = (mark_hz + space_hz) / 2.0
        # Hz of offset that means soft = +1 (mark); negative when mark is the lower tone.
        self._mark_offset_hz = mark_hz - self.centre_hz
        cutoff = abs(self._mark_offset_hz) + baud / 2.0
        self._taps = _lowpass(cutoff, rate, LOWPASS_TAPS)
        self._dc_len = max(2, int(round(rate / DC_BLOCK_HZ)))
        self._power_len = max(1, int(round(POWER_SMOOTH_BITS * rate / baud)))
        # Carrier threshold on |baseband|^2 smoothed: a sine's power is 2 |baseband|^2.
        self._carrier_min = dbm0_to_rms(carrier_dbm0) ** 2 / 2.0
        # Local oscillator: one period of the centre frequency (exact when it is a whole
        # number of Hz), repeated so any block up to OSC_TABLE_SAMPLES is one slice.
        period = rate // math.gcd(rate, int(self.centre_hz)) \
            if float(self.centre_hz).is_integer() else rate
        self._period = period
        reps = -(-OSC_TABLE_SAMPLES // period) + 1
        k = np.arange(period * reps)
        self._osc = np.exp(-2j * math.pi * self.centre_hz * k / rate)
        # Samples from an input sample to its soft value (high-pass centre, FIR centre).
        self.delay = self._dc_len - self._dc_len // 2 + (LOWPASS_TAPS - 1) // 2
        self.reset()

    def reset(self) -> None:
        self._dc_hist = np.zeros(self._dc_len, dtype=np.float64)
        self._lp_hist = np.zeros(LOWPASS_TAPS - 1, dtype=np.complex128)
        self._prev = np.complex128(0.0)
        self._pw_hist = np.zeros(self._power_len - 1, dtype=np.float64)
        self._all_hist = np.zeros(self._power_len - 1, dtype=np.float64)
        self._n = 0

    def _oscillator(self, n: int) -> npt.NDArray[np.complex128]:
        k = self._n % self._period
        self._n = k + n
        if k + n <= len(self._osc):
            return self._osc[k: k + n]
        idx = (k + np.arange(n)) % self._period
        return self._osc[idx]

    def process(self, block: npt.ArrayLike) -> tuple[FloatArray, BoolArray]:
        """Soft values (+1 mark, -1 space) and carrier flags, one each per input sample."""
        x = np.asarray(block, dtype=np.float64).ravel()
        n = x.size
        if n == 0:
            return np.zeros(0), np.zeros(0, dtype=bool)
        # High-pass: the sample half a window back minus the window mean (removes DC and
        # hum below 100 Hz; every FSK tone we use is a multiple of 100 Hz, so untouched).
        ext = np.concatenate((self._dc_hist, x))
        csum = np.cumsum(ext)
        L = self._dc_len
        hp = ext[L - L // 2: L - L // 2 + n] - (csum[L:] - csum[:-L]) / L
        self._dc_hist = ext[-L:]
        # Mix the centre frequency down to 0 Hz and low-pass.
        ext_c = np.concatenate((self._lp_hist, hp * self._oscillator(n)))
        base = np.convolve(ext_c, self._taps, mode="valid")
        self._lp_hist = ext_c[-(LOWPASS_TAPS - 1):]
        # Discriminator: angle between successive baseband samples is the frequency.
        prev = np.concatenate(([self._prev], base[:-1]))
        self._prev = base[-1]
        soft = np.angle(base * prev.conj()) * (
            self.rate / (2.0 * math.pi * self._mark_offset_hz))
        # Carrier: in-band power averaged over about one bit.
        inst = base.real * base.real + base.imag * base.imag
        P = self._power_len
        if P == 1:
            return soft, inst > self._carrier_min
        total, self._pw_hist = _moving_sum(inst, self._pw_hist, P)
        carrier = total > self._carrier_min * P
        if self._min_purity is not None:
            line_power, self._all_hist = _moving_sum(hp * hp, self._all_hist, P)
            carrier &= 2.0 * total >= self._min_purity * line_power
        return soft, carrier


def _moving_sum(x: FloatArray, hist: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    """Sum over the last `n` samples at each sample, carrying `hist` (n - 1) between calls."""
    ext = np.concatenate((hist, x))
    c = np.cumsum(ext)
    total = c[n - 1:] - np.concatenate(([0.0], c[:-n]))
    return total, ext[len(ext) - (n - 1):]


@dataclass(frozen=True)
class Char:
    """One start-stop character: value (data bits, LSB first; parity not included)."""

    value: int
    start: int  # sample of the start bit's leading edge
    end: int  # sample at the end of the (first) stop bit
    burst_start: bool  # first character after a run of idle mark
    idle_level: float  # mean soft value over the idle run before a burst (else 0.0)
    parity_ok: bool
    # Worst distance, in bits, of a tone change inside the character (through the start
    # of the stop bit) from a multiple of the bit time after the start edge: a few
    # hundredths when the baud fits, 0.18 or more at 10 % off (a rate decision).
    misfit: float = 0.0


def uart_bits(data: bytes | Sequence[int], data_bits: int = 8, parity: str | None = None,
              stop_bits: int = 1) -> list[int]:
    """Start-stop bits for each character: 0, data LSB first, [parity], 1 x stop_bits."""
    bits: list[int] = []
    for byte in data:
        word = [(byte >> i) & 1 for i in range(data_bits)]
        bits.append(0)
        bits.extend(word)
        if parity is not None:
            ones = sum(word) & 1
            bits.append(ones if parity == "even" else ones ^ 1)
        bits.extend([1] * stop_bits)
    return bits


def modulate(bits: Sequence[int], mark_hz: float, space_hz: float, baud: float,
             level_dbm0: float, rate: int = SAMPLE_RATE,
             phase: float = 0.0) -> npt.NDArray[np.float64]:
    """Phase-continuous FSK; bit k occupies samples [k*rate/baud, (k+1)*rate/baud)."""
    nbits = len(bits)
    n = int(round(nbits * rate / baud))
    idx = np.minimum((np.arange(n) * baud / rate).astype(np.int64), max(nbits - 1, 0))
    tone = np.where(np.asarray(bits, dtype=np.int8)[idx] == 1, mark_hz, space_hz)
    ph = phase + np.cumsum(2.0 * math.pi * tone / rate)
    return dbm0_to_peak(level_dbm0) * np.sin(ph)


class AsyncFramer:
    """Start-stop character framing on a soft (+1 mark / -1 space) sample stream.

    A burst begins at a mark-to-space edge preceded by `min_idle_bits` of steady mark
    with carrier; inside a burst the next start bit must come within `max_gap_bits` of
    the previous stop bit. A framing error (start bit not space, stop bit not mark) ends
    the burst. Input is kept only as long as undecided, so memory stays bounded.

    With `short_lead_bits`, a burst may also begin after only that much mark when the
    carrier itself came up within the last `min_idle_bits` (a sender that keys its
    carrier with a short lead, as minimodem does with 2 bits), but then the character
    must sit on the bit clock (misfit <= `short_lead_misfit`) and every bit must be a
    clear mark or space. Inside a steady carrier the full idle run is still required,
    so a burst that lost sync does not restart on a data bit.
    """

    def __init__(self, bit_samples: float, data_bits: int = 8, parity: str | None = None,
                 stop_bits: int = 1, min_idle_bits: float = 30.0,
                 max_gap_bits: float = 20.0, short_lead_bits: float | None = None,
                 short_lead_misfit: float = 0.1) -> None:
        self.T = float(bit_samples)
        self.data_bits = data_bits
        self.parity = parity
        self.nbits = 1 + data_bits + (1 if parity else 0)  # start + data + parity
        self.idle = int(round(min_idle_bits * self.T))
        self.max_gap = int(round(max_gap_bits * self.T))
        self.short = None if short_lead_bits is None else \
            max(1, min(self.idle, int(round(short_lead_bits * self.T))))
        self.short_misfit = short_lead_misfit
        self.reset()

    def reset(self) -> None:
        self._soft = np.zeros(0, dtype=np.float64)
        self._carrier = np.zeros(0, dtype=bool)
        self._base = 0  # absolute sample index of self._soft[0]
        self._pos = 0  # absolute index where the next search starts
        self._in_burst = False
        self._burst_deadline = 0

    def feed(self, soft: npt.ArrayLike, carrier: npt.ArrayLike) -> list[Char]:
        self._soft = np.concatenate((self._soft, np.asarray(soft, dtype=np.float64)))
        self._carrier = np.concatenate((self._carrier, np.asarray(carrier, dtype=bool)))
        out: list[Char] = []
        char_len = int(math.ceil((self.nbits + 1) * self.T)) + 1  # through the stop bit
        end = self._base + len(self._soft)
        if end - char_len <= self._pos:
            return out
        if not self._in_burst and not self._carrier[max(0, self._pos - self._base):].any():
            # Quiet line: no edge can follow pos (edges need carrier), as _hunt would find.
            self._pos = end - char_len
            self._trim()
            return out
        self._analyse()
        while True:
            if self._in_burst:
                hi = min(self._burst_deadline, end - char_len)
                i = int(np.searchsorted(self._edge_abs, self._pos))
                if i >= len(self._edge_abs) or self._edge_abs[i] >= hi:
                    if end - char_len >= self._burst_deadline:
                        self._in_burst = False  # gap too long: the burst is over
                        continue
                    break
                start = int(self._edge_abs[i])
                ch = self._frame(start, burst_start=False, idle_level=0.0)
                if ch is None:
                    self._in_burst = False
                    self._pos = start + 1
                    continue
                out.append(ch)
                continue
            found = self._hunt(end - char_len)
            if found is None:
                break
            start, level, short = found
            ch = self._frame(start, burst_start=True, idle_level=level, short_lead=short)
            if ch is None:
                self._pos = start + 1
                continue
            out.append(ch)
        self._trim()
        return out

    def _analyse(self) -> None:
        """Per-feed vectorised pass: running sums, start-bit edges, idle-run quality."""
        soft = self._soft
        self._cs = np.concatenate(([0.0], np.cumsum(soft, dtype=np.float64)))
        self._cc = cc = np.concatenate(([0], np.cumsum(self._carrier, dtype=np.int64)))
        k = EDGE_SMOOTH_SAMPLES
        sm = np.convolve(soft, np.ones(k) / k, mode="full")[: len(soft)]
        self._neg = neg = sm < 0
        rel = np.flatnonzero(neg[1:] & ~neg[:-1]) + 1
        rel = rel[self._carrier[rel]]
        self._edge_abs = rel + self._base
        # Idle window ends half a bit before the edge so the transition does not count.
        b = rel - int(round(self.T / 2))
        a = b - self.idle
        ok = a >= 0
        a = np.maximum(a, 0)
        b = np.maximum(b, 0)
        self._edge_idle = (self._cs[b] - self._cs[a]) / self.idle
        car = (cc[b] - cc[a]) / self.idle
        self._edge_good = ok & (self._edge_idle > IDLE_MIN_SOFT) & (car >= IDLE_MIN_CARRIER)
        self._edge_short = np.zeros(len(rel), dtype=bool)
        if self.short is not None:
            # A short lead: steady mark over the last `short` samples, and the carrier
            # came up inside the full idle window (before the stream began counts as
            # off). The carrier gate is not asked of the lead: averaged over a bit, it
            # opens up to a bit late at 12 dB SNR; _frame asks it of the character.
            s = np.maximum(b - self.short, 0)
            level = (self._cs[b] - self._cs[s]) / self.short
            fresh = ~ok | (car < IDLE_MIN_CARRIER)
            self._edge_short = (~self._edge_good & fresh & (b - self.short >= 0)
                                & (level > IDLE_MIN_SOFT))
            self._edge_idle = np.where(self._edge_short, level, self._edge_idle)

    def _hunt(self, hi: int) -> tuple[int, float, bool] | None:
        """First edge in [pos, hi) preceded by a steady idle run (or a short lead after
        the carrier came up); advances pos. The full window's samples must be at hand,
        except at the very start of the stream, where a short lead may begin."""
        need = self.idle if self._base > 0 or self.short is None else self.short
        lo = max(self._pos, self._base + need)
        if hi <= lo:
            return None
        i = int(np.searchsorted(self._edge_abs, lo))
        j = int(np.searchsorted(self._edge_abs, hi))
        self._pos = max(self._pos, hi)
        good = np.flatnonzero(self._edge_good[i:j] | self._edge_short[i:j])
        if len(good) == 0:
            return None
        k = i + int(good[0])
        self._pos = int(self._edge_abs[k])
        return self._pos, float(self._edge_idle[k]), bool(self._edge_short[k])

    def _frame(self, start: int, burst_start: bool, idle_level: float,
               short_lead: bool = False) -> Char | None:
        """Integrate each bit window; None on a framing error (or, after a short lead,
        a character off the bit clock or with a bit that is neither tone clearly)."""
        T = self.T
        margin = T * (1.0 - BIT_INTEGRATE_FRACTION) / 2.0
        ks = np.arange(self.nbits + 1)
        a = (start - self._base + ks * T + margin).astype(np.int64)
        b = np.maximum((start - self._base + (ks + 1) * T - margin).astype(np.int64), a + 1)
        vals = (self._cs[b] - self._cs[a]) / (b - a)
        if vals[0] >= 0 or vals[-1] <= 0:
            return None
        # The carrier must last through the character (a signal that stops is no start).
        if self._cc[b[-1]] - self._cc[a[0]] < IDLE_MIN_CARRIER * (b[-1] - a[0]):
            return None
        misfit = self._misfit(start)
        if short_lead and (misfit > self.short_misfit or np.abs(vals).min() < SHORT_LEAD_MIN_BIT):
            return None
        bits = (vals[1: 1 + self.data_bits] > 0).astype(np.int64)
        value = int((bits << np.arange(self.data_bits)).sum())
        parity_ok = True
        if self.parity:
            ones = (int(bits.sum()) + int(vals[1 + self.data_bits] > 0)) & 1
            parity_ok = ones == (0 if self.parity == "even" else 1)
        stop_end = start + int(round((self.nbits + 1) * T))
        self._pos = start + int(round((self.nbits + 0.5) * T))
        self._in_burst = True
        self._burst_deadline = stop_end + self.max_gap
        return Char(value, start, stop_end, burst_start, idle_level, parity_ok, misfit)

    def _misfit(self, start: int) -> float:
        """How far the tone changes after the start edge sit from the bit clock."""
        lo = start - self._base + int(self.T / 2)
        hi = start - self._base + int((self.nbits + 0.5) * self.T)
        neg = self._neg[lo:hi]
        at = np.flatnonzero(neg[1:] != neg[:-1]) + 1 + lo - (start - self._base)
        if len(at) == 0:
            return 0.0
        phase = at / self.T
        return float(np.abs(phase - np.round(phase)).max())

    def _trim(self) -> None:
        """Drop samples no future decision can look at."""
        keep_from = min(self._pos, self._base + len(self._soft)) - self.idle - 2 * int(self.T) - 8
        cut = keep_from - self._base
        if cut > 0:
            self._soft = self._soft[cut:]
            self._carrier = self._carrier[cut:]
            self._base += cut
