"""A bank of single-frequency DFT terms (what the Goertzel algorithm computes), block-wise.

API:
    GoertzelBank(freqs_hz, span, rate=8000)     frozen coefficients for `span`-sample spans
    bank.spans(rows) -> complex (m, F)          one DFT term per span (row) and frequency
    bank.join(a, b) -> complex                  the term over two adjacent spans a then b
    bank.step(a, b, cols=None) -> float         Re(conj(a) * rotated b): phase-step numerator
    int16_spans(samples, span) -> float64 (m, span)   whole spans of a buffer, as rows
    sine_term(amplitude, span) -> float         |term| of an on-bin sine of that peak amplitude

The Goertzel recurrence yields one DFT term at an arbitrary frequency; numpy evaluates the
same term much faster as a matrix product of all spans of a buffer with a fixed cos/sin
table, so that is how it is computed here. The table holds integers (cos/sin scaled by
2**20): with int16 input every product and partial sum is an exact integer in float64, so
the result does not depend on how BLAS orders the sums, i.e. on how a stream was chopped
into calls. That makes a detector fed one sample at a time agree bit for bit with one fed
the whole buffer.

Terms are referenced to each span's first sample. Two adjacent spans combine into the term
over both with one complex multiply (`join`), which lets a detector analyse overlapping
blocks (hop = one span) at the cost of non-overlapping ones. The phase advance of a term
from one span to the next is the tone's offset from the bank frequency times the span
duration: a precise frequency estimate that `step` exposes without any trigonometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

COEF_SCALE = float(2**20)  # integer table; exact sums for spans up to 2**17 int16 samples
MAX_SPAN = 2**17

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True)
class GoertzelBank:
    """Fixed DFT terms at `freqs_hz` over spans of `span` samples; holds no stream state."""

    freqs_hz: tuple[float, ...]
    span: int
    rate: int = 8000
    _table: FloatArray = field(init=False, repr=False, compare=False)
    _rot: ComplexArray = field(init=False, repr=False, compare=False)

    def __init__(self, freqs_hz: Sequence[float], span: int, rate: int = 8000) -> None:
        if not 0 < span <= MAX_SPAN:
            raise ValueError(f"span must be 1..{MAX_SPAN} samples, not {span}")
        freqs = tuple(float(f) for f in freqs_hz)
        object.__setattr__(self, "freqs_hz", freqs)
        object.__setattr__(self, "span", int(span))
        object.__setattr__(self, "rate", int(rate))
        w = 2.0 * np.pi * np.asarray(freqs) / rate
        phase = np.outer(np.arange(span), w)
        # Columns interleave (cos, -sin) per frequency, so the product's rows read as
        # complex numbers through a view: no copies to assemble the terms.
        table = np.round(np.stack([np.cos(phase), -np.sin(phase)], axis=2)
                         .reshape(span, 2 * len(freqs)) * COEF_SCALE)
        table.setflags(write=False)
        object.__setattr__(self, "_table", table)
        # Term over [0, 2*span) = a + exp(-j w span) * b, where b is referenced to `span`.
        rot = np.exp(-1j * w * span)
        rot.setflags(write=False)
        object.__setattr__(self, "_rot", rot)

    def spans(self, rows: FloatArray) -> ComplexArray:
        """DFT terms of each row (an int16-valued float64 span), scaled back to unity."""
        prod = np.dot(rows, self._table)
        return prod.view(np.complex128) * (1.0 / COEF_SCALE)

    def join(self, a: ComplexArray, b: ComplexArray) -> ComplexArray:
        """The term over span a followed by span b (columns in bank order)."""
        return a + self._rot * b

    def step(self, a: ComplexArray, b: ComplexArray,
             cols: npt.NDArray[np.intp] | None = None) -> FloatArray:
        """|a||b| cos(phase advance minus the bank frequency's own advance over a span).

        Compare with cos(max offset) * |a| * |b|: a tone within the offset passes. With
        `cols`, a and b are gathered terms and cols[i] is the bank column of a[i], b[i].
        """
        rot = self._rot if cols is None else self._rot[cols]
        return (np.conj(a) * rot * b).real


def int16_spans(samples: npt.NDArray[np.int16], span: int) -> FloatArray:
    """The whole spans of `samples` as rows of a float64 matrix (a trailing part is cut)."""
    m = len(samples) // span
    return samples[: m * span].reshape(m, span).astype(np.float64)


def sine_term(amplitude: float, span: int) -> float:
    """Magnitude of the DFT term of an on-bin sine of peak `amplitude` over `span` samples."""
    return amplitude * span / 2.0
