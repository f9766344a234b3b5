"""Tone generators: sine mixes, DTMF strings, beeps, and call-progress plans by country.

API:
    DTMF_KEYS                       "123A456B789C*0#D"
    DTMF_FREQS[digit] -> (low_hz, high_hz)
    sine_mix(freqs, ms, dbm0, rate=8000) -> int16      each tone at `dbm0` (scalar or per tone)
    dtmf(digits, on_ms=100, off_ms=100, dbm0=-10, twist_db=0, rate=8000) -> int16
    beep(ms=400, hz=1000, dbm0=-10) -> int16
    silence(ms, rate=8000) -> int16
    COUNTRIES, KINDS                the country codes and signal kinds below
    TonePlan                        frequencies + cadence of one signal (frozen)
    PLANS[country][kind] -> TonePlan; EXTRA_PLANS[country] (e.g. UK number-unobtainable)
    RING_CADENCES[country] -> (on, off, ...) ms of the ringing bell, for line simulation
    check_country(c), plan_for(kind, country)          UsageError listing the valid ones
    call_progress(kind, country, ms, dbm0=-13) -> int16  a signal with its cadence
    render(plan, ms, dbm0=-13, detune=1.0) -> int16      any plan, frequencies scaled

`twist_db` is the high-group tone's level minus the low-group tone's (positive: high
tone louder), the sign convention DESIGN.md fixes. A ',' in a DTMF string is a pause of
one second, as in a dial string. Call-progress levels are per frequency component.
Japan's reorder is the same signal as its busy tone (NTT), so a detector reports both
as busy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware.dsp.level import dbm0_to_peak
from firmware.errors import UsageError

SAMPLE_RATE = 8000
DTMF_ROWS_HZ = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = "123A456B789C*0#D"
DTMF_FREQS: dict[str, tuple[float, float]] = {
    key: (DTMF_ROWS_HZ[i // 4], DTMF_COLS_HZ[i % 4]) for i, key in enumerate(DTMF_KEYS)
}
DIAL_PAUSE_MS = 1000.0


def silence(ms: float, rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    return np.zeros(int(round(ms * rate / 1000.0)), dtype=np.int16)


def _to_int16(signal: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16)


def sine_mix(
    freqs: Sequence[float],
    ms: float,
    dbm0: float | Sequence[float] = -10.0,
    rate: int = SAMPLE_RATE,
) -> npt.NDArray[np.int16]:
    """Sum of sines, each at its own level in dBm0 (one level applies to all)."""
    n = int(round(ms * rate / 1000.0))
    levels = [dbm0] * len(freqs) if isinstance(dbm0, (int, float)) else list(dbm0)
    if len(levels) != len(freqs):
        raise UsageError("sine_mix: one level per frequency, or a single level")
    t = np.arange(n) / rate
    out = np.zeros(n)
    for freq, level in zip(freqs, levels):
        out += dbm0_to_peak(level) * np.sin(2.0 * np.pi * freq * t)
    return _to_int16(out)


def dtmf(
    digits: str,
    on_ms: float = 100.0,
    off_ms: float = 100.0,
    dbm0: float = -10.0,
    twist_db: float = 0.0,
    rate: int = SAMPLE_RATE,
) -> npt.NDArray[np.int16]:
    """A DTMF string: each key `on_ms` of tone then `off_ms` of silence.

    `dbm0` is the low-group tone's level; the high-group tone is `twist_db` above it.
    """
    parts: list[npt.NDArray[np.int16]] = []
    for key in digits.upper():
        if key == ",":
            parts.append(silence(DIAL_PAUSE_MS, rate))
            continue
        if key not in DTMF_FREQS:
            raise UsageError(f"'{key}' is not a DTMF key (use 0-9, *, #, A-D or ',')")
        parts.append(sine_mix(DTMF_FREQS[key], on_ms, (dbm0, dbm0 + twist_db), rate))
        parts.append(silence(off_ms, rate))
    if not parts:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(parts)


def beep(ms: float = 400.0, hz: float = 1000.0, dbm0: float = -10.0,
         rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    """The record-after-the-tone beep, with 5 ms ramps so it does not click."""
    tone = sine_mix([hz], ms, dbm0, rate).astype(np.float64)
    ramp = min(len(tone) // 2, int(rate * 0.005))
    if ramp:
        window = np.linspace(0.0, 1.0, ramp)
        tone[:ramp] *= window
        tone[-ramp:] *= window[::-1]
    return _to_int16(tone)


# --- Call-progress tone plans ---------------------------------------------------------
#
# Sources: ITU-T E.180 Supplement 2, DAHDI tone zones, Asterisk indications.conf
# (DESIGN.md §3). A cadence lists on/off durations in ms, starting with "on"; an empty
# cadence is a continuous tone. `dbm0` in the generators is the level of *each*
# frequency component, as exchange specifications state it.

COUNTRIES: tuple[str, ...] = ("us", "tw", "cn", "uk", "de", "jp")
KINDS: tuple[str, ...] = ("dial", "ringback", "busy", "reorder", "sit", "fax_cng",
                          "fax_ced", "beep")
DEFAULT_DBM0 = -13.0

JP_RINGBACK_MOD_HZ = 16.0  # NTT: 400 Hz modulated at 15-20 Hz
JP_RINGBACK_MOD_DEPTH = 0.9  # amplitude-modulation index (Asterisk's "400*16" ~ 90 %)

FAX_CNG_HZ = 1100.0
FAX_CNG_CADENCE_MS = (500.0, 3000.0)
FAX_CED_HZ = 2100.0
FAX_CED_MS = 3300.0  # T.30: 2.6-4.0 s, played once
BEEP_HZ = 1000.0
BEEP_MS = 400.0

# Special information tone: three rising segments, then a pause (ITU E.180: 1 s) or, in
# the US, a recorded announcement which we do not synthesise.
SIT_US: tuple[tuple[float, float], ...] = ((913.8, 274.0), (1370.6, 274.0), (1776.7, 380.0))
SIT_ITU: tuple[tuple[float, float], ...] = ((950.0, 330.0), (1400.0, 330.0), (1800.0, 330.0))
SIT_PAUSE_MS = 1000.0

# Ringing (the bell on the line, not ringback) per country: on/off ms, repeating.
RING_CADENCES: dict[str, tuple[float, ...]] = {
    "us": (2000.0, 4000.0),
    "uk": (400.0, 200.0, 400.0, 2000.0),
    "de": (1000.0, 4000.0),
    "tw": (1000.0, 2000.0),
    "cn": (1000.0, 4000.0),
    "jp": (1000.0, 2000.0),
}


@dataclass(frozen=True)
class TonePlan:
    """One call-progress signal: frequencies, cadence and how it is played.

    `segments` (SIT only) replaces `freqs_hz`: (Hz, ms) played in order, then `cadence_ms`
    gives the pause. `once`: play the cadence a single time, then silence (fax CED).
    """

    kind: str
    freqs_hz: tuple[float, ...]
    cadence_ms: tuple[float, ...] = ()
    mod_hz: float = 0.0
    segments: tuple[tuple[float, float], ...] = ()
    once: bool = False

    @property
    def continuous(self) -> bool:
        return not self.cadence_ms and not self.segments


def _plan(kind: str, freqs: tuple[float, ...], cadence: tuple[float, ...] = (),
          **kw: object) -> TonePlan:
    return TonePlan(kind, freqs, cadence, **kw)  # type: ignore[arg-type]


def _common(country: str) -> dict[str, TonePlan]:
    sit = SIT_US if country == "us" else SIT_ITU
    return {
        "sit": TonePlan("sit", (), (SIT_PAUSE_MS,), segments=sit),
        "fax_cng": _plan("fax_cng", (FAX_CNG_HZ,), FAX_CNG_CADENCE_MS),
        "fax_ced": _plan("fax_ced", (FAX_CED_HZ,), (FAX_CED_MS,), once=True),
        "beep": _plan("beep", (BEEP_HZ,), (BEEP_MS,), once=True),
    }


PLANS: dict[str, dict[str, TonePlan]] = {
    "us": {
        "dial": _plan("dial", (350.0, 440.0)),
        "ringback": _plan("ringback", (440.0, 480.0), (2000.0, 4000.0)),
        "busy": _plan("busy", (480.0, 620.0), (500.0, 500.0)),
        "reorder": _plan("reorder", (480.0, 620.0), (250.0, 250.0)),
    },
    "tw": {
        "dial": _plan("dial", (350.0, 440.0)),
        "ringback": _plan("ringback", (440.0, 480.0), (1000.0, 2000.0)),
        "busy": _plan("busy", (480.0, 620.0), (500.0, 500.0)),
        "reorder": _plan("reorder", (480.0, 620.0), (250.0, 250.0)),
    },
    "cn": {
        "dial": _plan("dial", (450.0,)),
        "ringback": _plan("ringback", (450.0,), (1000.0, 4000.0)),
        "busy": _plan("busy", (450.0,), (350.0, 350.0)),
        "reorder": _plan("reorder", (450.0,), (700.0, 700.0)),
    },
    "uk": {
        "dial": _plan("dial", (350.0, 450.0)),
        "ringback": _plan("ringback", (400.0, 450.0), (400.0, 200.0, 400.0, 2000.0)),
        "busy": _plan("busy", (400.0,), (375.0, 375.0)),
        "reorder": _plan("reorder", (400.0,), (400.0, 350.0, 225.0, 525.0)),
    },
    "de": {
        "dial": _plan("dial", (425.0,)),
        "ringback": _plan("ringback", (425.0,), (1000.0, 4000.0)),
        "busy": _plan("busy", (425.0,), (480.0, 480.0)),
        "reorder": _plan("reorder", (425.0,), (240.0, 240.0)),
    },
    "jp": {
        "dial": _plan("dial", (400.0,)),
        "ringback": _plan("ringback", (400.0,), (1000.0, 2000.0), mod_hz=JP_RINGBACK_MOD_HZ),
        "busy": _plan("busy", (400.0,), (500.0, 500.0)),
        "reorder": _plan("reorder", (400.0,), (500.0, 500.0)),  # NTT: same as busy
    },
}
for _country, _plans in PLANS.items():
    _plans.update(_common(_country))

# Signals an exchange sends besides the table's, reported as the kind they mean.
# UK number-unobtainable (also the far end's hang-up signal): continuous 400 Hz.
UK_UNOBTAINABLE = TonePlan("reorder", (400.0,))
UK_UNOBTAINABLE_DECIDE_MS = 1300.0
EXTRA_PLANS: dict[str, tuple[TonePlan, ...]] = {"uk": (UK_UNOBTAINABLE,)}

DEFAULT_MS: dict[str, float] = {
    "dial": 5000.0, "ringback": 12000.0, "busy": 4000.0, "reorder": 4000.0,
    "sit": 2000.0, "fax_cng": 7000.0, "fax_ced": FAX_CED_MS, "beep": BEEP_MS,
}


def check_country(country: str) -> str:
    """Lower-cased country code, or UsageError naming the valid ones."""
    code = country.strip().lower()
    if code not in PLANS:
        raise UsageError(f"unknown country '{country}' (valid: {', '.join(COUNTRIES)})")
    return code


def plan_for(kind: str, country: str) -> TonePlan:
    """The plan of one kind of signal in one country; UsageError lists the valid ones."""
    plans = PLANS[check_country(country)]
    if kind not in plans:
        raise UsageError(f"unknown tone '{kind}' (valid: {', '.join(KINDS)})")
    return plans[kind]


def _tone(freqs: Sequence[float], start: int, n: int, dbm0: float, mod_hz: float,
          rate: int) -> npt.NDArray[np.float64]:
    """Sum of sines on a global time axis (phase-continuous across bursts)."""
    t = (start + np.arange(n)) / rate
    out = np.zeros(n)
    for freq in freqs:
        out += dbm0_to_peak(dbm0) * np.sin(2.0 * np.pi * freq * t)
    if mod_hz:
        m = JP_RINGBACK_MOD_DEPTH  # keep the RMS at `dbm0`: AM adds m^2/2 of power
        out *= (1.0 + m * np.sin(2.0 * np.pi * mod_hz * t)) / np.sqrt(1.0 + m * m / 2.0)
    return out


def render(plan: TonePlan, ms: float, dbm0: float = DEFAULT_DBM0, detune: float = 1.0,
           rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    """`ms` of a plan with its cadence; `detune` scales every frequency (test offsets)."""
    n = int(round(ms * rate / 1000.0))
    out = np.zeros(n)
    if plan.continuous:
        out += _tone([f * detune for f in plan.freqs_hz], 0, n, dbm0, plan.mod_hz, rate)
        return _to_int16(out)
    if plan.segments:
        steps = [((f * detune,), d) for f, d in plan.segments] + [((), plan.cadence_ms[0])]
    else:
        freqs = tuple(f * detune for f in plan.freqs_hz)
        steps = [(freqs if i % 2 == 0 else (), d) for i, d in enumerate(plan.cadence_ms)]
    pos = 0
    while pos < n:
        for freqs, dur in steps:
            length = min(int(round(dur * rate / 1000.0)), n - pos)
            if freqs and length > 0:
                out[pos:pos + length] = _tone(freqs, pos, length, dbm0, plan.mod_hz, rate)
            pos += length
        if plan.once:
            break
    return _to_int16(out)


def call_progress(kind: str, country: str, ms: float,
                  dbm0: float = DEFAULT_DBM0) -> npt.NDArray[np.int16]:
    """`ms` of a call-progress signal as `country`'s exchanges play it, at 8 kHz."""
    plan = plan_for(kind, country)
    if kind == "beep":
        tone = beep(min(ms, BEEP_MS), plan.freqs_hz[0], dbm0)
        return np.concatenate([tone, silence(ms - min(ms, BEEP_MS))])
    return render(plan, ms, dbm0)
