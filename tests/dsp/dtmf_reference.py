"""The numpy formulation of the DTMF receiver, kept as the reference for the compiled one.

firmware/dsp/dtmf.py once computed exactly this with numpy, vectorised per feed(); its
kernel (dtmf_kernel.py) now does the same arithmetic per span. test_dtmf_kernel.py feeds
both the same audio and requires the same events. Constants, event types and the
coefficient tables are the firmware's own, so only the arithmetic is compared.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from firmware.dsp.dtmf import (
    _COS_TOL, _FLOOR_POWER, _FREQS, _MIN_AMP, _REL_POWER, BLOCK, CONFIRM_BLOCKS,
    END_ABSENT_BLOCKS, FULL_DB, HARMONIC_DB, LOOKBACK_BLOCKS, MIN_ON_SAMPLES, PRESENT_DB,
    RATE, SPAN, TONE_FRACTION_DB, TWIST_MAX_DB, TWIST_MIN_DB, WEAK_TONE_DB, KeyDown, KeyUp,
    _as_int16, _db,
)
from firmware.dsp.goertzel import COEF_SCALE, GoertzelBank
from firmware.dsp.tones import DTMF_COLS_HZ, DTMF_KEYS


class _NumpyBank:
    """GoertzelBank's terms computed the numpy way: a matrix product per buffer."""

    def __init__(self, freqs_hz: Sequence[float]) -> None:
        bank = GoertzelBank(freqs_hz, SPAN, RATE)
        self._table, self._rot = bank.table, bank.rot

    def spans(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.complex128]:
        prod = np.dot(rows, self._table)
        return prod.view(np.complex128) * (1.0 / COEF_SCALE)

    def join(self, a: npt.NDArray[np.complex128],
             b: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
        return a + self._rot * b

    def step(self, a: npt.NDArray[np.complex128], b: npt.NDArray[np.complex128],
             cols: npt.NDArray[np.intp] | None = None) -> npt.NDArray[np.float64]:
        rot = self._rot if cols is None else self._rot[cols]
        return (np.conj(a) * rot * b).real


CHUNK_SPANS = 2048  # whole-buffer feeds are analysed in chunks of this many spans
KEY_UP_SCAN_BLOCKS = 16  # a key's end is looked for this many blocks at a time
DEFER_MAX_SPANS = 128  # quiet audio waits at most this long (0.8 s) to be analysed
QUIET_MARGIN = 0.5  # quiet screen: energy below this share of the least a hit needs
HISTORY_BLOCKS = max(LOOKBACK_BLOCKS, END_ABSENT_BLOCKS) + 2
_QUIET_ENERGY = QUIET_MARGIN * _FLOOR_POWER / BLOCK
_BANK = _NumpyBank(_FREQS)
_HARMONICS = _NumpyBank([2.0 * f for f in DTMF_COLS_HZ])


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


class ReferenceDetector:
    """The numpy receiver: the same API and events as firmware.dsp.dtmf.DtmfDetector."""

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
