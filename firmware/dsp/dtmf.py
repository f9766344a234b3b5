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
feed() is a handful of numpy operations (numpy's per-call cost, not arithmetic, is what a
20 ms frame costs), exact (integer) up to the DFT terms, so feeding one sample at a time
gives the same events as feeding the whole buffer. Audio too quiet to hold a key is not
analysed until louder audio (or DEFER_MAX_SPANS of it) arrives: the same results, later.
"""

from __future__ import annotations

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
KEY_UP_SCAN_BLOCKS = 16  # a key's end is looked for this many blocks at a time
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
_REL_POWER = (10.0 ** (-REL_PEAK_DB / 20.0)) ** 2  # next best tone power, at most (ratio)


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
             power: npt.NDArray[np.float64], hits: npt.NDArray[np.int8]) -> bool:
    """Spans 0..m-1 (DFT terms and samples) -> blocks 0..m-2 (block i = spans i, i+1):
    writes each block's tone powers (|term|^2, (m-1, 8)) into `power` and, for blocks
    1.., the key index each hits, or -1, into `hits` (m-2); returns whether any did.

    Block i-1 serves only as the reference for block i's frequency check: the phase
    advance from one whole block to the next, one span later, is less biased by the
    other tone of the pair than the advance from span to span would be.
    """
    blocks = _BANK.join(terms[:-1], terms[1:])
    sq = blocks.view(np.float64)
    sq = sq * sq
    np.add(sq[:, 0::2], sq[:, 1::2], out=power)
    hits[:] = -1
    # Each group's strongest tone loud enough and REL_PEAK_DB above the group's next
    # best. (Most blocks of a call fail here: this keeps streaming cheap.)
    ranked = np.sort(power[1:].reshape(-1, 4), axis=1)  # rows: each block's row group,
    best = ranked[:, 3]                                  # then its column group
    passed = (ranked[:, 2] <= best * _REL_POWER) & (best >= _FLOOR_POWER)
    ok = passed[0::2] & passed[1::2]
    if not np.count_nonzero(ok):
        return False
    cand = np.flatnonzero(ok)
    p = power[cand + 1]
    r = p[:, :4].argmax(axis=1)
    c = p[:, 4:].argmax(axis=1) + 4
    tone_amp = []
    ok = np.ones(len(cand), dtype=bool)
    for t in (r, c):
        # cos(phase advance) = cos(2 pi offset span / rate); the block's droop from that
        # offset is sqrt((1 + cos) / 2), up to the small droop of one span.
        mag = np.sqrt(power[cand + 1, t])
        norm = np.sqrt(power[cand, t]) * mag
        step = _BANK.step(blocks[cand, t], blocks[cand + 1, t], t)
        ok &= (step >= _COS_TOL[t] * norm) & (norm > 0.0)
        cos = step / np.where(norm > 0.0, norm, 1.0)
        tone_amp.append(mag * (1.0 / SPAN) / np.sqrt(np.maximum(0.5 + 0.5 * cos, 0.25)))
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
        # Blocks analysed: tone powers and hits; _hist rows are valid, the last of them
        # the reference for the next block (at the start, the block before block 0).
        # The arrays have room for one analysis; older rows are dropped when full.
        self._power = np.zeros((HISTORY_BLOCKS + CHUNK_SPANS + 4, 8))
        self._hits = np.full(len(self._power), -1, dtype=np.int8)
        self._hist = 1
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
        n = m - 2  # new blocks
        if n <= 0:
            return []
        rows = self._x[self._lo:self._lo + m * SPAN].reshape(m, SPAN)
        self._lo += n * SPAN
        h = self._hist
        if h + n > len(self._power):
            keep = HISTORY_BLOCKS + 1
            self._power[:keep] = self._power[h - keep:h]
            self._hits[:keep] = self._hits[h - keep:h]
            h = keep
        self._hist = h + n
        # Row h - 1 is recomputed as this analysis's reference block (the same values).
        any_hit = _analyse(_BANK.spans(rows), rows, self._power[h - 1:h + n], self._hits[h:h + n])
        self._next_block += n
        if not any_hit and self._key is None:
            return []
        first = max(1, h - HISTORY_BLOCKS)  # the look-backs reach no further
        return self._decide(self._power[first:h + n], self._hits[first:h + n],
                            self._next_block - (h + n - first), h - first)

    def _decide(self, power: npt.NDArray[np.float64], hits: npt.NDArray[np.int8],
                base: int, i: int) -> list[KeyDown | KeyUp]:
        """Run the key state machine over blocks i.. of power/hits (block base + index).

        Tone amplitudes (peak units) are taken from the powers only where looked at.
        """
        events: list[KeyDown | KeyUp] = []
        n = len(hits)
        while i < n:
            if self._key is not None:
                up = self._key_up(power, base, i)
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
                down = self._key_down(power, hits, base, int(k))
                if down is not None:
                    break
            if down is None:
                return events
            events.append(down)
            i = int(k) + 1
        return events

    def _key_down(self, power: npt.NDArray[np.float64], hits: npt.NDArray[np.int8],
                  base: int, k: int) -> KeyDown | None:
        """A key goes down at hit block k if the tone has been present MIN_ON_MS."""
        d = int(hits[k])
        if k < CONFIRM_BLOCKS - 1 or any(h != d for h in hits[k - CONFIRM_BLOCKS + 1:k].tolist()):
            return None
        r, c = d // 4, 4 + d % 4
        low = max(self._floor - base, k - LOOKBACK_BLOCKS, 0)
        # Walk back over the blocks before k that still carry both tones (plain floats:
        # a handful of blocks, decided one by one).
        amp_r, amp_c = _amp(power[low:k + 1, r]).tolist(), _amp(power[low:k + 1, c]).tolist()
        present_r, present_c = _db(PRESENT_DB) * amp_r[-1], _db(PRESENT_DB) * amp_c[-1]
        j = k
        while j > low and amp_r[j - 1 - low] >= present_r and amp_c[j - 1 - low] >= present_c:
            j -= 1
        seen_r, seen_c = amp_r[j - low:], amp_c[j - low:]
        peak = (max(seen_r), max(seen_c))
        if seen_r[-1] < _db(FULL_DB) * peak[0] or seen_c[-1] < _db(FULL_DB) * peak[1]:
            return None
        cover = min(1.0, (seen_r[0] / peak[0] + seen_c[0] / peak[1]) / 2)
        start = (base + j) * SPAN + BLOCK - cover * BLOCK
        at = (base + k) * SPAN + BLOCK
        if at - start < MIN_ON_SAMPLES:
            return None
        self._key = (d, r, c, peak[0], peak[1], int(round(start)))
        self._absent = 0
        return KeyDown(DTMF_KEYS[d], int(round(start)), at)

    def _key_up(self, power: npt.NDArray[np.float64], base: int,
                i: int) -> tuple[KeyUp, int] | None:
        """Look for END_ABSENT_BLOCKS blocks in a row without the key, from block i (in
        windows of KEY_UP_SCAN_BLOCKS: a key lasts a few blocks, an analysis up to 2048)."""
        d, r, c, ref_r, ref_c, start = self._key
        scale = _db(PRESENT_DB)
        u = -1
        while u < 0:
            if i >= len(power):
                return None
            stop = min(len(power), i + KEY_UP_SCAN_BLOCKS)
            amps = zip(_amp(power[i:stop, r]).tolist(), _amp(power[i:stop, c]).tolist())
            for at, (amp_r, amp_c) in enumerate(amps, i):
                if amp_r < scale * ref_r or amp_c < scale * ref_c:
                    self._absent += 1
                    if self._absent == END_ABSENT_BLOCKS:
                        u = at  # the deciding block
                        break
                else:
                    self._absent = 0
            i = stop
        j = u - END_ABSENT_BLOCKS  # last block with the key present
        amp_r, amp_c = _amp(power[j, [r, c]]).tolist()
        cover = min(1.0, 0.5 * (amp_r / ref_r + amp_c / ref_c))
        end = max(start + 1, int(round((base + j) * SPAN + cover * BLOCK)))
        self._key = None
        self._absent = 0
        self._floor = base + j + 1
        return KeyUp(DTMF_KEYS[d], start, end), u


def _amp(power: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Tone amplitudes (peak units) from block powers."""
    return np.sqrt(power) * (1.0 / SPAN)


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
