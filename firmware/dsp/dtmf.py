"""DTMF receiver: callers' key presses, found in 8 kHz int16 audio.

API:
    KeyDown(digit, start, at)        a key was recognised: onset estimate, decision sample
    KeyUp(digit, start, end)         it ended: end = first sample after the tone (estimate)
    DtmfDetector(rate=8000)          per-stream state; .feed(samples) -> [KeyDown | KeyUp],
                                     .flush() -> [KeyUp] (end of stream), .reset()
    DigitSpan(digit, start, end, detected)     one key of a whole buffer
    detect_digits(samples) -> [DigitSpan]      whole-buffer helper
    digits_of(samples) -> str                  just the keys, e.g. "12#"

Sample positions count from the last reset. Acceptance numbers (ITU-T Q.23/Q.24, ETSI ES
201 235-3, our issue 2) and how this receiver meets them:

    requirement                          accept            reject     via
    frequency offset, each tone          +-1.5 %           +-3.5 %    FREQ_TOL (2.2 %)
    tone duration                        >= 40 ms          <= 23 ms   MIN_ON_MS (30 ms)
    pause splitting two equal keys       >= 40 ms                     END_ABSENT_BLOCKS
    dropout inside one tone (no split)   < 20 ms                      END_ABSENT_BLOCKS
    twist, high minus low tone level     -8 .. +4 dB                  TWIST_*_DB (-11, +6.5)
    level, each tone                     -29 .. -3 dBm0    <= -50     MIN_LEVEL_DBM0 (-42)
    white noise, tone power : noise      12 dB SNR
    latency from onset to KeyDown        <= 45 ms, median <= 35 ms

How: each 51-sample span (6.4 ms) gets one DFT term per DTMF frequency (goertzel.py); two
adjacent spans make a 102-sample block (12.75 ms, hop 6.4 ms). A block "hits" a key when
its strongest row and column tones stand REL_PEAK_DB above the others of their group,
the phase advance from the previous block puts both within FREQ_TOL of nominal, their
levels (corrected for the droop that offset causes) are loud enough and within the twist
limits, the two carry TONE_FRACTION_DB of the block's AC power, everything else together
is no stronger than the weaker tone (WEAK_TONE_DB: a chord's third note, a vowel's other
harmonics) and the column tone's second harmonic is HARMONIC_DB down. A key goes down at
a hit block wholly inside a tone that has been present MIN_ON_MS, when the CONFIRM_BLOCKS
before it hit too; the onset is measured from the partial amplitude of the tone's first
block, so duration is judged to a few samples, not to a block. The key comes up after
END_ABSENT_BLOCKS blocks without both tones within PRESENT_DB of the key's level. Python
loops run only where a decision is being made; the analysis of all complete blocks of a
feed() is a handful of numpy operations, exact (integer) up to the DFT terms, so feeding
one sample at a time gives the same events as feeding the whole buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp.goertzel import GoertzelBank
from firmware.dsp.level import dbm0_to_peak
from firmware.dsp.tones import DTMF_COLS_HZ, DTMF_KEYS, DTMF_ROWS_HZ
from firmware.errors import UsageError

RATE = 8000
SPAN = 51  # samples: analysis hop (6.375 ms)
BLOCK = 2 * SPAN  # samples: analysis block (12.75 ms), two spans

MIN_LEVEL_DBM0 = -42.0  # each tone
FREQ_TOL = 0.022  # relative offset from nominal, each tone
# Twist = high-group level minus low-group level. The margins beyond -8/+4 dB cover the
# strong tone's leakage into the weak one's block term (up to +-2 dB for 941 + 1209 Hz).
TWIST_MIN_DB = -11.0
TWIST_MAX_DB = 6.5
REL_PEAK_DB = 6.0  # best tone of a group over the next best of that group (block power)
TONE_FRACTION_DB = -1.55  # the two tones' share of the block's AC power (70 %)
WEAK_TONE_DB = 0.0  # all other AC power together, relative to the weaker tone, at most
HARMONIC_DB = -14.0  # second harmonic relative to its fundamental, at most
MIN_ON_MS = 30.0  # tone present this long (onset estimate to decision) before a KeyDown
PRESENT_DB = -12.0  # a block still carries the key: both tones within this of its level
FULL_DB = -3.0  # a block lies wholly inside the tone: both tones within this of its level
CONFIRM_BLOCKS = 3  # the deciding block and the two before it all hit the key (25.5 ms)
END_ABSENT_BLOCKS = 4  # 25.5 ms of hops: dropouts < 20 ms never reach it, 40 ms gaps do
CHUNK_SPANS = 2048  # whole-buffer feeds are analysed in chunks of this many spans
DEFER_MAX_SPANS = 128  # quiet audio waits at most this long (0.8 s) to be analysed
QUIET_MARGIN = 0.5  # quiet screen: energy below this share of the least a hit needs

MIN_ON_SAMPLES = MIN_ON_MS * RATE / 1000.0
LOOKBACK_BLOCKS = int(MIN_ON_SAMPLES // SPAN) + 4
HISTORY_BLOCKS = max(LOOKBACK_BLOCKS, END_ABSENT_BLOCKS) + 2

_FREQS = DTMF_ROWS_HZ + DTMF_COLS_HZ
_BANK = GoertzelBank(_FREQS, SPAN, RATE)
_HARMONICS = GoertzelBank([2.0 * f for f in DTMF_COLS_HZ], SPAN, RATE)
_COS_TOL = np.cos(2.0 * np.pi * FREQ_TOL * np.asarray(_FREQS) * SPAN / RATE)
_MIN_AMP = dbm0_to_peak(MIN_LEVEL_DBM0)
_MIN_AMP_DROOPED = _MIN_AMP * 10.0 ** (-6.0 / 20.0)  # quick pre-check, before droop is known
_FLOOR_POWER = (_MIN_AMP_DROOPED * SPAN) ** 2  # |block term|^2 both tones of a hit reach
# |block term|^2 <= block energy * BLOCK (Cauchy-Schwarz, |cos/sin table| <= 1), so a
# block whose samples hold less energy than this cannot hit.
_QUIET_ENERGY = QUIET_MARGIN * _FLOOR_POWER / BLOCK
_ABSENT_WINDOW = np.ones(END_ABSENT_BLOCKS, dtype=np.int8)


def _db(value: float) -> float:
    return 10.0 ** (value / 20.0)  # amplitude ratio


@dataclass(frozen=True)
class KeyDown:
    digit: str
    start: int  # onset estimate (sample index)
    at: int  # sample index at which the detector decided


@dataclass(frozen=True)
class KeyUp:
    digit: str
    start: int
    end: int  # first sample after the tone (estimate)


@dataclass(frozen=True)
class DigitSpan:
    digit: str
    start: int
    end: int
    detected: int  # the KeyDown's decision sample


def _analyse(terms: npt.NDArray[np.complex128], rows: npt.NDArray[np.float64],
             amp: npt.NDArray[np.float64], hits: npt.NDArray[np.int8]) -> bool:
    """Spans 0..m-1 (DFT terms and samples) -> blocks 1..m-2 (block i = spans i, i+1):
    writes tone amplitudes (n, 8, peak units) into `amp` and the key index each block
    hits, or -1, into `hits`; returns whether any block hit.

    Block i-1 (spans i-1, i) serves only as the reference for block i's frequency check:
    the phase advance from one whole block to the next, one span later, is less biased by
    the other tone of the pair than the advance from span to span would be.
    """
    blocks = _BANK.join(terms[:-1], terms[1:])
    sq = blocks.view(np.float64)
    sq = sq * sq
    power = sq[:, 0::2] + sq[:, 1::2]
    mag = np.sqrt(power)
    np.multiply(mag[1:], 1.0 / SPAN, out=amp)
    hits[:] = -1
    power = power[1:]
    # Loud enough at all? (Most blocks of a call are not: this keeps streaming cheap.)
    floor = _FLOOR_POWER
    loud = np.minimum(power[:, :4].max(axis=1), power[:, 4:].max(axis=1)) >= floor
    if len(amp) == 0 or not loud.any():
        return False
    loud = np.flatnonzero(loud)
    p = power[loud]
    row = p[:, :4].argmax(axis=1)
    col = p[:, 4:].argmax(axis=1) + 4
    idx = np.arange(len(loud))
    rel = _db(-REL_PEAK_DB) ** 2
    ok = ((p[:, :4] <= (p[idx, row] * rel)[:, None]).sum(axis=1) == 3)
    ok &= ((p[:, 4:] <= (p[idx, col] * rel)[:, None]).sum(axis=1) == 3)
    ok &= (p[idx, row] >= floor) & (p[idx, col] >= floor)
    cand = loud[ok]
    if len(cand) == 0:
        return False
    row, col = row[ok], col[ok]
    r, c = row, col
    tone_amp = []
    ok = np.ones(len(cand), dtype=bool)
    for t in (r, c):
        # cos(phase advance) = cos(2 pi offset span / rate); the block's droop from that
        # offset is sqrt((1 + cos) / 2), up to the small droop of one span.
        norm = mag[cand, t] * mag[cand + 1, t]
        step = _BANK.step(blocks[cand, t], blocks[cand + 1, t], t)
        ok &= (step >= _COS_TOL[t] * norm) & (norm > 0.0)
        cos = step / np.where(norm > 0.0, norm, 1.0)
        tone_amp.append(amp[cand, t] / np.sqrt(np.maximum(0.5 + 0.5 * cos, 0.25)))
    ar, ac = tone_amp
    ok &= (ar >= _MIN_AMP) & (ac >= _MIN_AMP)
    ok &= (ac >= ar * _db(TWIST_MIN_DB)) & (ac <= ar * _db(TWIST_MAX_DB))
    # Two tones carry most of the AC power (mean power of a sine = amplitude^2 / 2).
    # Energy and sum of the block's two spans: exact integers in float64.
    both = rows[np.stack([cand + 1, cand + 2], axis=1)].reshape(len(cand), BLOCK)
    e = np.einsum("ij,ij->i", both, both)
    s = both.sum(axis=1)
    ac_power = (e - s * s / BLOCK) / BLOCK
    pr, pc = ar * ar * 0.5, ac * ac * 0.5
    ok &= pr + pc >= _db(TONE_FRACTION_DB) ** 2 * ac_power
    # ... and the weaker tone outweighs everything else together (a third note does not).
    ok &= ac_power - pr - pc <= _db(WEAK_TONE_DB) ** 2 * np.minimum(pr, pc)
    cand, r, c, ar, ac = cand[ok], r[ok], c[ok], ar[ok], ac[ok]
    if len(cand) == 0:
        return False
    # The column tone's second harmonic well down: vowels and most instruments are rich
    # in harmonics. (A row tone's second harmonic lies 58-71 Hz from a column tone, so
    # one block cannot measure it; the power-share test above covers the rows.)
    harm = _HARMONICS.join(_HARMONICS.spans(rows[cand + 1]), _HARMONICS.spans(rows[cand + 2]))
    h2 = np.abs(harm[np.arange(len(cand)), c - 4]) * (1.0 / SPAN)
    ok = h2 <= ac * _db(HARMONIC_DB)
    hits[cand[ok]] = (r[ok] * 4 + (c[ok] - 4)).astype(np.int8)
    return bool(ok.any())


class DtmfDetector:
    """One stream's receiver: feed it audio in pieces of any length, get key events."""

    def __init__(self, rate: int = RATE) -> None:
        if rate != RATE:
            raise UsageError(f"DTMF detection needs {RATE} Hz audio, not {rate} Hz; "
                             "resample first")
        self.reset()

    def reset(self) -> None:
        self._fed = 0  # samples fed since reset
        # Samples as float64: from _lo, the last two spans analysed (at the start, one span
        # of silence before sample 0, so that block 0 has a predecessor), then spans not
        # yet analysed, then the start of an incomplete span; up to _hi.
        self._x = np.zeros((CHUNK_SPANS + 3) * SPAN)
        self._lo, self._hi = 0, SPAN
        # The history of blocks analysed (amplitudes, hits) is followed by room for the
        # blocks of one analysis; _hist of them are valid.
        self._amp = np.zeros((HISTORY_BLOCKS + CHUNK_SPANS + 2, 8))
        self._hits = np.full(len(self._amp), -1, dtype=np.int8)
        self._hist = 0
        self._next_block = 0  # index of the next block to analyse
        self._floor = 0  # a key's onset look-back stops here (after the previous key)
        self._key: tuple[int, int, int, float, float, int] | None = None  # digit, r, c...
        self._absent = 0  # consecutive blocks without the key's tones
        self._accept_keys = True

    def feed(self, samples: npt.ArrayLike) -> list[KeyDown | KeyUp]:
        """Analyse more audio; returns the key events decided within it, in order.

        Audio too quiet to hold a key waits (at most DEFER_MAX_SPANS) while no key is
        down: no event can be decided in it, and analysing it later in one go gives the
        same results for a fraction of the per-call cost.
        """
        x = _as_int16(samples)
        n = len(x)
        self._fed += n
        events: list[KeyDown | KeyUp] = []
        pos = 0
        while pos < n:
            if self._hi == len(self._x):
                self._compact()
            take = min(n - pos, len(self._x) - self._hi)
            start = self._hi
            self._x[start:start + take] = x[pos:pos + take]
            self._hi += take
            pos += take
            if self._key is None and self._hi - self._lo <= DEFER_MAX_SPANS * SPAN:
                # Every block ending in the new samples lies within these.
                w = self._x[max(self._lo, start - (BLOCK - 1)):self._hi]
                if np.dot(w, w) < _QUIET_ENERGY:
                    continue
            events += self._analyse_buffer()
        return events

    def flush(self) -> list[KeyUp]:
        """End of stream: close a key still down (its end clipped to the audio fed).

        Afterwards the detector is reset: positions count from 0 again.
        """
        out: list[KeyUp] = []
        if self._key is not None:
            fed = self._fed
            self._accept_keys = False
            pad = SPAN - (self._hi - self._lo) % SPAN + SPAN * (END_ABSENT_BLOCKS + 2)
            for ev in self.feed(np.zeros(pad, dtype=np.int16)):
                if isinstance(ev, KeyUp):
                    out.append(KeyUp(ev.digit, ev.start, max(ev.start + 1, min(ev.end, fed))))
        self.reset()
        return out

    # -- internals ------------------------------------------------------------------

    def _compact(self) -> None:
        """Move the samples still needed to the front of the buffer."""
        keep = self._hi - self._lo
        self._x[:keep] = self._x[self._lo:self._hi]
        self._lo, self._hi = 0, keep

    def _analyse_buffer(self) -> list[KeyDown | KeyUp]:
        """Analyse every complete span waiting in the buffer; keep the last two."""
        m = (self._hi - self._lo) // SPAN  # spans, the two (or one) analysed before included
        if m < 2:
            return []
        rows = self._x[self._lo:self._lo + m * SPAN].reshape(m, SPAN)
        self._lo += (m - 2) * SPAN
        h, n = self._hist, m - 2
        if n == 0:
            return []
        amp, hits = self._amp[:h + n], self._hits[:h + n]
        any_hit = _analyse(_BANK.spans(rows), rows, amp[h:], hits[h:])
        events: list[KeyDown | KeyUp] = []
        if any_hit or self._key is not None:
            base = self._next_block - h  # block index of amp[0]
            events = self._decide(amp, hits, base, h)
        self._next_block += n
        keep = min(h + n, HISTORY_BLOCKS)
        self._amp[:keep] = amp[h + n - keep:]
        self._hits[:keep] = hits[h + n - keep:]
        self._hist = keep
        return events

    def _decide(self, amp: npt.NDArray[np.float64], hits: npt.NDArray[np.int8],
                base: int, i: int) -> list[KeyDown | KeyUp]:
        """Run the key state machine over blocks i.. of amp/hits (block base + index)."""
        events: list[KeyDown | KeyUp] = []
        n = len(hits)
        while i < n:
            if self._key is not None:
                up = self._key_up(amp, base, i)
                if up is None:
                    return events
                events.append(up[0])
                i = up[1]
                continue
            if not self._accept_keys:
                return events
            cand = np.flatnonzero(hits[i:] >= 0)
            down = None
            for k in cand + i:
                down = self._key_down(amp, hits, base, int(k))
                if down is not None:
                    break
            if down is None:
                return events
            events.append(down)
            i = int(k) + 1
        return events

    def _key_down(self, amp: npt.NDArray[np.float64], hits: npt.NDArray[np.int8],
                  base: int, k: int) -> KeyDown | None:
        """A key goes down at hit block k if the tone has been present MIN_ON_MS."""
        d = int(hits[k])
        if k < CONFIRM_BLOCKS - 1 or np.any(hits[k - CONFIRM_BLOCKS + 1:k + 1] != d):
            return None
        tones = [d // 4, 4 + d % 4]
        ref = amp[k, tones]
        low = max(self._floor - base, k - LOOKBACK_BLOCKS, 0)
        # Walk back over the blocks before k that still carry both tones.
        gone = np.flatnonzero((amp[low:k, tones] < _db(PRESENT_DB) * ref).any(axis=1))
        j = low + int(gone[-1]) + 1 if len(gone) else low
        seen = amp[j:k + 1][:, tones]
        peak = seen.max(axis=0)
        if np.any(seen[-1] < _db(FULL_DB) * peak):
            return None
        cover = min(1.0, float(np.mean(seen[0] / peak)))
        start = (base + j) * SPAN + BLOCK - cover * BLOCK
        at = (base + k) * SPAN + BLOCK
        if at - start < MIN_ON_SAMPLES:
            return None
        self._key = (d, tones[0], tones[1], float(peak[0]), float(peak[1]), int(round(start)))
        self._absent = 0
        return KeyDown(DTMF_KEYS[d], int(round(start)), at)

    def _key_up(self, amp: npt.NDArray[np.float64], base: int,
                i: int) -> tuple[KeyUp, int] | None:
        """Look for END_ABSENT_BLOCKS blocks in a row without the key, from block i."""
        d, r, c, ref_r, ref_c, start = self._key
        scale = _db(PRESENT_DB)
        absent = (amp[i:, r] < scale * ref_r) | (amp[i:, c] < scale * ref_c)
        run = np.concatenate([np.ones(self._absent, dtype=bool), absent])
        # Windows of END_ABSENT_BLOCKS that are all absent.
        hit = np.flatnonzero(np.convolve(run.view(np.int8), _ABSENT_WINDOW, "valid")
                             == END_ABSENT_BLOCKS) if len(run) >= END_ABSENT_BLOCKS else []
        if len(hit) == 0:
            present = np.flatnonzero(~run)
            self._absent = len(run) if len(present) == 0 else len(run) - 1 - int(present[-1])
            return None
        u = i + int(hit[0]) + END_ABSENT_BLOCKS - 1 - self._absent  # the deciding block
        j = u - END_ABSENT_BLOCKS  # last block with the key present
        cover = min(1.0, 0.5 * (amp[j, r] / ref_r + amp[j, c] / ref_c))
        end = max(start + 1, int(round((base + j) * SPAN + cover * BLOCK)))
        self._key = None
        self._absent = 0
        self._floor = base + j + 1
        return KeyUp(DTMF_KEYS[d], start, end), u


def _as_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int16]:
    x = np.asarray(samples)
    if x.ndim != 1:
        x = x.reshape(-1)
    if x.dtype == np.int16:
        return x
    if x.size and not np.issubdtype(x.dtype, np.integer):
        raise UsageError(f"DTMF detection takes int16 samples, not {x.dtype}")
    return np.clip(x, -32768, 32767).astype(np.int16)


def detect_digits(samples: npt.ArrayLike, rate: int = RATE) -> list[DigitSpan]:
    """Every key in a whole buffer, with its span and the sample where it was decided."""
    det = DtmfDetector(rate)
    spans: list[DigitSpan] = []
    detected = 0
    for ev in [*det.feed(samples), *det.flush()]:
        if isinstance(ev, KeyDown):
            detected = ev.at
        else:
            spans.append(DigitSpan(ev.digit, ev.start, ev.end, detected))
    return spans


def digits_of(samples: npt.ArrayLike) -> str:
    """The keys in a buffer as a string, e.g. "12#"."""
    return "".join(span.digit for span in detect_digits(samples))
