"""The DTMF receiver's compiled per-sample path: Goertzel bank, block checks, key machine.

API (used by dtmf.py, which owns every tuning constant and the Python-facing objects):
    new_state(params, tables) -> (f, s)    float64 and int64 state of one stream
    run(x, pos, f, s) -> int               analyse x[pos:]; events in s (see EV_*)
    P_* / I_* / F_* / EV_*                 where things live in the two state arrays

Why compiled: a 20 ms frame is 160 samples, three 51-sample spans. numpy spends ~30
calls (~1 us each) on one frame however small it is; this kernel does the whole frame in
one call of a few microseconds, and a whole file at C speed. Everything the kernel needs
(thresholds, coefficient tables, stream state) lives in two numpy arrays passed to it, so
the compiled code depends on no module globals: numba's on-disk cache (keyed on this
file) can never hold code built for other constants, and one dispatch per feed() costs
three array arguments.

Exactness: the span terms are integer sums in float64 (goertzel.py's integer table),
exact in any order, so the dot products may be vectorised freely (`fastmath` on that
loop only). The complex products are fused the way numpy's SIMD loops fuse them
(re = fma(ar, br, -ai*bi), im = fma(ar, bi, ai*br)), so the powers, phase steps and
decisions are bit for bit those of the numpy formulation kept in tests/dsp/dtmf_reference.py
(on CPUs with FMA, where numpy uses it: x86-64 with FMA3, aarch64).

Blocks: span p ends -> block p-1 (spans p-1, p) is complete; block -1 (a span of silence,
then span 0) is the reference of block 0. Powers and hits of the last RING blocks are kept.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

TONES = 8  # 4 row tones, then 4 column tones
HARMS = 4  # second harmonics of the column tones
RING = 16  # blocks of powers and hits kept (a key's look-back, a key-up's last block)
MAX_EVENTS = 32  # per run() call; run() stops early (pos in s[I_POS]) when nearly full

# -- float state: parameters (set once), then per-stream values ----------------------
P_FLOOR_POWER, P_REL_POWER, P_MIN_AMP, P_TWIST_MIN, P_TWIST_MAX = 0, 1, 2, 3, 4
P_TONE_SHARE, P_WEAK_SHARE, P_HARMONIC, P_PRESENT, P_FULL = 5, 6, 7, 8, 9
P_MIN_ON, P_INV_SPAN, P_INV_SCALE = 10, 11, 12
F_REF_R, F_REF_C = 13, 14  # the key's peak amplitudes (key-up reference)
F_COS_TOL = 16  # TONES: cos(max phase-step offset) per tone
F_ROT = F_COS_TOL + TONES  # TONES complex (re, im): term rotation over one span
F_HROT = F_ROT + 2 * TONES  # HARMS complex
F_SPAN_T = F_HROT + 2 * HARMS  # TONES complex: terms of the last complete span
F_BLOCK_T = F_SPAN_T + 2 * TONES  # TONES complex: terms of the last block
F_POWER = F_BLOCK_T + 2 * TONES  # RING x TONES block powers, row = block % RING
F_NEW_T = F_POWER + RING * TONES  # TONES complex: terms of the block being analysed
F_SCRATCH = F_NEW_T + 2 * TONES  # 2 * TONES: raw span sums
F_BUF = F_SCRATCH + 2 * TONES  # 2 span slots of samples: span p fills slot p % 2
# then: the tone table and the harmonic table (integers; columns cos, -sin per tone,
# each column's span entries together)

# -- int state ------------------------------------------------------------------------
I_SPAN, I_CONFIRM, I_END_ABSENT, I_LOOKBACK = 0, 1, 2, 3  # parameters
I_FED, I_FILL, I_SPANS, I_FLOOR = 4, 5, 6, 7  # samples fed, filling span, spans done
I_KEY, I_ROW, I_COL, I_START, I_ABSENT, I_ACCEPT = 8, 9, 10, 11, 12, 13
I_POS, I_NEV = 14, 15  # where run() stopped in x; events it wrote
I_HITS = 16  # RING: key index each block hit, or -1
I_EV = I_HITS + RING  # MAX_EVENTS x (kind, key, start, at or end)
INT_SIZE = I_EV + 4 * MAX_EVENTS
EV_DOWN, EV_UP = 0, 1

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def new_state(params: dict[int, float], cos_tol: FloatArray, rot: FloatArray,
              hrot: FloatArray, table: FloatArray, htable: FloatArray,
              ints: dict[int, int]) -> tuple[FloatArray, IntArray]:
    """A fresh stream's state; the arrays are what run() takes (rot/hrot: complex as
    (re, im) pairs; tables: span x columns, columns interleaved cos, -sin)."""
    span = ints[I_SPAN]
    if ints[I_LOOKBACK] + 2 > RING or ints[I_END_ABSENT] + 2 > RING:
        raise ValueError("look-back longer than the kept block history")
    f = np.zeros(F_BUF + 2 * span + span * 2 * (TONES + HARMS))
    for k, v in params.items():
        f[k] = v
    f[F_COS_TOL:F_COS_TOL + TONES] = cos_tol
    f[F_ROT:F_ROT + 2 * TONES] = rot
    f[F_HROT:F_HROT + 2 * HARMS] = hrot
    t0 = F_BUF + 2 * span
    f[t0:t0 + span * 2 * TONES] = table.T.reshape(-1)  # column by column
    f[t0 + span * 2 * TONES:] = htable.T.reshape(-1)
    s = np.zeros(INT_SIZE, dtype=np.int64)
    for k, v in ints.items():
        s[k] = v
    s[I_KEY] = -1
    s[I_ACCEPT] = 1
    s[I_HITS:I_HITS + RING] = -1
    return f, s


@intrinsic
def _fma(typingctx, a, b, c):  # type: ignore[no-untyped-def]
    """a * b + c with one rounding (llvm.fma: the CPU's instruction where it has one)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * 3)
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64")
        return builder.call(fn, args)
    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _cmul_re(ar: float, ai: float, br: float, bi: float) -> float:
    return _fma(ar, br, -(ai * bi))


@njit(cache=True, nogil=True, inline="always")
def _cmul_im(ar: float, ai: float, br: float, bi: float) -> float:
    return _fma(ar, bi, ai * br)


@njit(cache=True, nogil=True, fastmath=True)
def _span_terms(bufs: FloatArray, slot: int, table: FloatArray, f: FloatArray,
                out: int) -> None:
    """f[out + j] = bufs[slot] . table[j] for each table column j (stored transposed).

    Exact integer sums, so any summation order gives the same result: fastmath lets
    each column's sum vectorise. (Indexes, not slices: a slice costs a reference count.)
    """
    for j in range(table.shape[0]):
        acc = 0.0
        for n in range(bufs.shape[1]):
            acc += bufs[slot, n] * table[j, n]
        f[out + j] = acc


@njit(cache=True, nogil=True, fastmath=True)
def _energy_sum(bufs: FloatArray) -> tuple[float, float]:
    """(sum of squares, sum) of integer samples: exact, so fastmath may vectorise."""
    e, sm = 0.0, 0.0
    for k in range(bufs.shape[0]):
        for n in range(bufs.shape[1]):
            e += bufs[k, n] * bufs[k, n]
            sm += bufs[k, n]
    return e, sm


@njit(cache=True, nogil=True, inline="always")
def _group(f: FloatArray, pw: int, t0: int) -> tuple[float, float, int]:
    """(best power, next best power, best tone) of the group of tones t0..t0+3."""
    b1, b2, a1 = -1.0, -1.0, t0
    for t in range(t0, t0 + 4):
        p = f[pw + t]
        if p > b1:
            b2, b1, a1 = b1, p, t
        elif p > b2:
            b2 = p
    return b1, b2, a1


@njit(cache=True, nogil=True, inline="always")
def _tone_amp(f: FloatArray, pw: int, prev: int, t: int) -> float:
    """Tone t's amplitude corrected for its frequency offset's droop, or -1.0 when the
    phase advance from the previous block puts it beyond FREQ_TOL."""
    mag = np.sqrt(f[pw + t])
    norm = np.sqrt(f[prev + t]) * mag
    ar, ai = f[F_BLOCK_T + 2 * t], -f[F_BLOCK_T + 2 * t + 1]  # conj(previous block)
    rr, ri = f[F_ROT + 2 * t], f[F_ROT + 2 * t + 1]
    qr, qi = _cmul_re(ar, ai, rr, ri), _cmul_im(ar, ai, rr, ri)
    step = _cmul_re(qr, qi, f[F_NEW_T + 2 * t], f[F_NEW_T + 2 * t + 1])
    if not (step >= f[F_COS_TOL + t] * norm and norm > 0.0):
        return -1.0
    cos = step / norm
    return mag * f[P_INV_SPAN] / np.sqrt(max(0.5 + 0.5 * cos, 0.25))


@njit(cache=True, nogil=True)
def _hit(f: FloatArray, s: IntArray, b: int, bufs: FloatArray, htable: FloatArray) -> int:
    """The key index block b hits, or -1 (the checks of dtmf.py's docstring, in order)."""
    span = s[I_SPAN]
    pw = F_POWER + (b % RING) * TONES
    prev = F_POWER + ((b - 1 + RING) % RING) * TONES
    # Each group's strongest tone loud enough and REL_PEAK_DB above the group's next best.
    rel, floor = f[P_REL_POWER], f[P_FLOOR_POWER]
    b1, b2, r = _group(f, pw, 0)
    if not (b2 <= b1 * rel and b1 >= floor):
        return -1
    b1, b2, c = _group(f, pw, 4)
    if not (b2 <= b1 * rel and b1 >= floor):
        return -1
    # cos(phase advance) against nominal; the block's droop from the offset.
    ar = _tone_amp(f, pw, prev, r)
    ac = _tone_amp(f, pw, prev, c)
    if ar < 0.0 or ac < 0.0:
        return -1
    if not (ar >= f[P_MIN_AMP] and ac >= f[P_MIN_AMP]):
        return -1
    if not (ac >= ar * f[P_TWIST_MIN] and ac <= ar * f[P_TWIST_MAX]):
        return -1
    # The two tones carry most of the block's AC power; the rest is weaker than either.
    e, sm = _energy_sum(bufs)
    blen = 2.0 * span
    ac_power = (e - sm * sm / blen) / blen
    pr, pc = ar * ar * 0.5, ac * ac * 0.5
    if not pr + pc >= f[P_TONE_SHARE] * ac_power:
        return -1
    if not ac_power - pr - pc <= f[P_WEAK_SHARE] * min(pr, pc):
        return -1
    # The column tone's second harmonic well down.
    _span_terms(bufs, b % 2, htable, f, F_SCRATCH)  # span b's slot, then span b + 1's
    _span_terms(bufs, (b + 1) % 2, htable, f, F_SCRATCH + 2 * HARMS)
    h = F_SCRATCH + 2 * (c - 4)
    sc = f[P_INV_SCALE]
    a_r, a_i = f[h] * sc, f[h + 1] * sc
    b_r, b_i = f[h + 2 * HARMS] * sc, f[h + 2 * HARMS + 1] * sc
    h = c - 4
    hr, hi = f[F_HROT + 2 * h], f[F_HROT + 2 * h + 1]
    j_r = a_r + _cmul_re(hr, hi, b_r, b_i)
    j_i = a_i + _cmul_im(hr, hi, b_r, b_i)
    h2 = np.hypot(j_r, j_i) * f[P_INV_SPAN]
    if not h2 <= ac * f[P_HARMONIC]:
        return -1
    return r * 4 + (c - 4)


@njit(cache=True, nogil=True, inline="always")
def _amp(f: FloatArray, b: int, t: int) -> float:
    """Tone t's amplitude (peak units) in block b, from its power."""
    return np.sqrt(f[F_POWER + (b % RING) * TONES + t]) * f[P_INV_SPAN]


@njit(cache=True, nogil=True)
def _emit(s: IntArray, kind: int, key: int, start: int, at: int) -> None:
    e = I_EV + 4 * s[I_NEV]
    s[e], s[e + 1], s[e + 2], s[e + 3] = kind, key, start, at
    s[I_NEV] += 1


@njit(cache=True, nogil=True)
def _key_down(f: FloatArray, s: IntArray, k: int) -> None:
    """A key goes down at hit block k if the tone has been present MIN_ON_MS."""
    span = s[I_SPAN]
    d = s[I_HITS + k % RING]
    if k < s[I_CONFIRM] - 1:
        return
    for q in range(k - s[I_CONFIRM] + 1, k):
        if s[I_HITS + q % RING] != d:
            return
    r, c = d // 4, 4 + d % 4
    low = max(s[I_FLOOR], k - s[I_LOOKBACK], 0)
    present_r = f[P_PRESENT] * _amp(f, k, r)
    present_c = f[P_PRESENT] * _amp(f, k, c)
    j = k
    while j > low and _amp(f, j - 1, r) >= present_r and _amp(f, j - 1, c) >= present_c:
        j -= 1
    peak_r, peak_c = _amp(f, j, r), _amp(f, j, c)
    for q in range(j + 1, k + 1):
        peak_r = max(peak_r, _amp(f, q, r))
        peak_c = max(peak_c, _amp(f, q, c))
    if _amp(f, k, r) < f[P_FULL] * peak_r or _amp(f, k, c) < f[P_FULL] * peak_c:
        return
    cover = min(1.0, (_amp(f, j, r) / peak_r + _amp(f, j, c) / peak_c) / 2)
    start = j * span + 2 * span - cover * (2 * span)
    at = k * span + 2 * span
    if at - start < f[P_MIN_ON]:
        return
    s[I_KEY], s[I_ROW], s[I_COL] = d, r, c
    s[I_START] = int(np.rint(start))
    s[I_ABSENT] = 0
    f[F_REF_R], f[F_REF_C] = peak_r, peak_c
    _emit(s, EV_DOWN, d, s[I_START], at)


@njit(cache=True, nogil=True)
def _key_up(f: FloatArray, s: IntArray, i: int) -> bool:
    """Block i without the key's tones: after END_ABSENT_BLOCKS in a row the key is up."""
    r, c = s[I_ROW], s[I_COL]
    ref_r, ref_c = f[F_REF_R], f[F_REF_C]
    if _amp(f, i, r) >= f[P_PRESENT] * ref_r and _amp(f, i, c) >= f[P_PRESENT] * ref_c:
        s[I_ABSENT] = 0
        return False
    s[I_ABSENT] += 1
    if s[I_ABSENT] != s[I_END_ABSENT]:
        return False
    span = s[I_SPAN]
    j = i - s[I_END_ABSENT]  # last block with the key present
    cover = min(1.0, 0.5 * (_amp(f, j, r) / ref_r + _amp(f, j, c) / ref_c))
    start = s[I_START]
    end = max(start + 1, int(np.rint(j * span + cover * (2 * span))))
    _emit(s, EV_UP, s[I_KEY], start, end)
    s[I_KEY] = -1
    s[I_ABSENT] = 0
    s[I_FLOOR] = j + 1
    return True


@njit(cache=True, nogil=True)
def _span_done(f: FloatArray, s: IntArray, bufs: FloatArray, table: FloatArray,
               htable: FloatArray) -> None:
    """Span p just completed: block p-1 is analysed and the key machine steps over it."""
    p = s[I_SPANS]
    b = p - 1
    _span_terms(bufs, p % 2, table, f, F_SCRATCH)
    sc = f[P_INV_SCALE]
    pw = F_POWER + ((b + RING) % RING) * TONES
    for t in range(TONES):
        tr, ti = f[F_SCRATCH + 2 * t] * sc, f[F_SCRATCH + 2 * t + 1] * sc
        rr, ri = f[F_ROT + 2 * t], f[F_ROT + 2 * t + 1]
        re = f[F_SPAN_T + 2 * t] + _cmul_re(rr, ri, tr, ti)
        im = f[F_SPAN_T + 2 * t + 1] + _cmul_im(rr, ri, tr, ti)
        f[F_NEW_T + 2 * t], f[F_NEW_T + 2 * t + 1] = re, im
        re2, im2 = re * re, im * im
        f[pw + t] = re2 + im2
        f[F_SPAN_T + 2 * t], f[F_SPAN_T + 2 * t + 1] = tr, ti
    hit = -1
    if b >= 0:
        hit = _hit(f, s, b, bufs, htable)
    s[I_HITS + (b + RING) % RING] = hit
    for q in range(2 * TONES):
        f[F_BLOCK_T + q] = f[F_NEW_T + q]
    s[I_SPANS] = p + 1
    if b < 0:
        return
    if s[I_KEY] >= 0:
        if not _key_up(f, s, b):
            return
    if s[I_ACCEPT] and hit >= 0:
        _key_down(f, s, b)


# One signature, compiled (or loaded from numba's cache) when this module is imported:
# never in the middle of a call. Other argument types raise TypeError (dtmf.py converts).
@njit("int64(int16[::1], int64, float64[::1], int64[::1])", cache=True, nogil=True)
def run(x: npt.NDArray[np.int16], pos: int, f: FloatArray, s: IntArray) -> int:
    """Analyse x[pos:]; returns the number of events written (from s[I_EV]). Stops
    after a span once MAX_EVENTS - 2 are written: s[I_POS] tells where to go on."""
    s[I_NEV] = 0
    span = s[I_SPAN]
    fill = s[I_FILL]
    bufs = f[F_BUF:F_BUF + 2 * span].reshape((2, span))
    t0 = F_BUF + 2 * span
    table = f[t0:t0 + span * 2 * TONES].reshape((2 * TONES, span))
    htable = f[t0 + span * 2 * TONES:t0 + span * 2 * (TONES + HARMS)].reshape((2 * HARMS, span))
    n = x.shape[0]
    while pos < n:
        take = min(n - pos, span - fill)
        slot = s[I_SPANS] % 2
        for q in range(take):
            bufs[slot, fill + q] = x[pos + q]
        pos += take
        fill += take
        s[I_FED] += take
        if fill == span:
            fill = 0
            _span_done(f, s, bufs, table, htable)
            if s[I_NEV] > MAX_EVENTS - 2:
                break
    s[I_FILL] = fill
    s[I_POS] = pos
    return s[I_NEV]
