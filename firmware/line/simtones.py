"""Endless call-progress tones for the simulated exchange, played frame by frame.

API:
    ring_cadence_ms(country) -> (on, off, ...)   the ring signal sent to the box's line
    ring_period_samples(country) -> int          one ring cycle (also the ringback cycle)
    ToneSource(kind, country, dbm0=None)         .frame(n=160) -> int16: the next `n`
        samples of "dial", "recall_dial", "ringback", "busy", "reorder",
        "unobtainable"; phase and cadence continue from call to call, so a tone lasts
        exactly as long as the exchange plays it

The plans are `firmware.dsp.tones.PLANS` (DESIGN.md's table); this module only adds
what an exchange does with them: play them for an unknown time (reorder until the box
hangs up), the recall dial tone after a hook flash (three short beeps, then steady
dial tone), and number-unobtainable (the UK's continuous 400 Hz; reorder elsewhere).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from firmware.dsp import tones
from firmware.dsp.level import dbm0_to_peak
from firmware.errors import UsageError
from firmware.line.base import FRAME_SAMPLES, SAMPLE_RATE, ms_to_samples

RECALL_STUTTER_MS = (100.0, 100.0, 100.0, 100.0, 100.0, 100.0)  # three short beeps
KINDS = ("dial", "recall_dial", "ringback", "busy", "reorder", "unobtainable")


def ring_cadence_ms(country: str) -> tuple[float, ...]:
    return tones.RING_CADENCES[tones.check_country(country)]


def ring_period_samples(country: str) -> int:
    return ms_to_samples(sum(ring_cadence_ms(country)))


def ring_burst_samples(country: str) -> int:
    """From the start of a ring to the end of its last burst (UK: the double ring)."""
    return ms_to_samples(sum(ring_cadence_ms(country)[:-1]))


def _plan(kind: str, country: str) -> tuple[tones.TonePlan, tuple[float, ...]]:
    """The tone plan and a non-repeating on/off intro before it."""
    if kind == "recall_dial":
        return tones.plan_for("dial", country), RECALL_STUTTER_MS
    if kind == "unobtainable":
        extra = [p for p in tones.EXTRA_PLANS.get(tones.check_country(country), ())
                 if p.kind == "reorder"]
        return (extra[0] if extra else tones.plan_for("reorder", country)), ()
    if kind not in KINDS:
        raise UsageError(f"exchange tone {kind!r}: use one of {KINDS}")
    return tones.plan_for(kind, country), ()


def _on_mask(t: npt.NDArray[np.int64], cadence_ms: tuple[float, ...]) -> npt.NDArray[np.bool_]:
    """True where sample index `t` falls in an 'on' segment of a repeating cadence."""
    edges = np.cumsum([ms_to_samples(ms) for ms in cadence_ms])
    segment = np.searchsorted(edges, t % edges[-1], side="right")
    return segment % 2 == 0


class ToneSource:
    """One call-progress tone, played frame by frame for as long as needed."""

    def __init__(self, kind: str, country: str, dbm0: float | None = None) -> None:
        self.kind = kind
        self.plan, self.intro_ms = _plan(kind, country)
        self._peak = dbm0_to_peak(tones.DEFAULT_DBM0 if dbm0 is None else dbm0)
        self._t = 0
        self._intro = ms_to_samples(sum(self.intro_ms))

    def frame(self, n: int = FRAME_SAMPLES) -> npt.NDArray[np.int16]:
        t = np.arange(self._t, self._t + n, dtype=np.int64)
        self._t += n
        phase = 2.0 * np.pi * t / SAMPLE_RATE
        signal = self._peak * sum(np.sin(f * phase) for f in self.plan.freqs_hz)
        if self.plan.mod_hz:
            depth = tones.JP_RINGBACK_MOD_DEPTH
            signal = signal * (1.0 + depth * np.sin(self.plan.mod_hz * phase)) \
                / np.sqrt(1.0 + depth * depth / 2.0)
        on = np.ones(n, dtype=bool)
        in_intro = t < self._intro
        if in_intro.any():
            on[in_intro] = _on_mask(t[in_intro], self.intro_ms)
        steady = ~in_intro
        if self.plan.cadence_ms and steady.any():
            on[steady] = _on_mask(t[steady] - self._intro, self.plan.cadence_ms)
        out = np.where(on, signal, 0.0)
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)
