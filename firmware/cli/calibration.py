"""The line calibration call: measure the installer's keys, learn how the exchange hangs up.

API:
    await calibration_call(line, prompt, country, *, rings=1, keys=MOBILE_KEYS,
                           key_timeout_ms=..., hangup_timeout_ms=...) -> CalibrationReport
        waits for a call on `line` (already open), answers, plays `prompt`, listens
    CalibrationReport(keys, missing, noise_dbm0, hangup, answered_at)   .as_dict()
    KeyReport(digit, low_dbm0, high_dbm0, twist_db, snr_db, ms)
    HangupSignal(kind, after_ms, detail)
        kind: "loop_drop" | "polarity" | "modem" | "reorder" | "busy" | "dial" | "silence"
    store_result(kv, report, country, now_ms)     what the voicemail recorder reads:
        kv["line.hangup_signal"] = {kind, after_ms, country, learned_ms}
        kv["line.calibration"]   = the whole report
    MOBILE_KEYS = "123456789*0#"   (a mobile has no A-D keys)

Why: a far-end hang-up shows differently on every exchange (DESIGN.md: loop-current
drop, polarity reversal, busy/reorder/dial tone, or nothing at all). Knowing which one
this line gives lets the recorder cut a message right after the caller leaves instead
of after a long silence timeout. The key report says whether the line's levels and
twist leave the DTMF receiver margin (DESIGN.md's acceptance: each tone -36..0 dBm0,
twist -8..+4 dB as high minus low). Everything is counted in line samples from the
answer; only waiting for the call to ring is wall-clock time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from firmware.cli.checks.levels import tone_dbm0
from firmware.dsp.callprogress import CallProgressDetector
from firmware.dsp.dtmf import DtmfDetector, KeyUp
from firmware.dsp.level import rms_dbm0
from firmware.dsp.tones import DTMF_FREQS
from firmware.line.base import (FRAME_SAMPLES, Hangup, Ring, Tone, frames_of, ms_to_samples,
                                samples_to_ms)

MOBILE_KEYS = "123456789*0#"
KEY_TIMEOUT_MS = 90_000.0  # the installer reads the prompt, then presses twelve keys
HANGUP_TIMEOUT_MS = 20_000.0  # after the last key: longer than any tone's decision
KEY_GUARD_MS = 15.0  # trimmed from each end of a key before measuring it
NOISE_GUARD_MS = 60.0  # around keys and the prompt, left out of the noise measurement
PROGRESS_KINDS = ("reorder", "busy", "dial", "silence")
TWIST_OK_DB = (-8.0, 4.0)  # DESIGN.md acceptance range, high minus low
LEVEL_OK_DBM0 = (-36.0, 0.0)
HANGUP_KEY = "line.hangup_signal"
REPORT_KEY = "line.calibration"


@dataclass(frozen=True)
class KeyReport:
    digit: str
    low_dbm0: float
    high_dbm0: float
    twist_db: float  # high-group minus low-group level
    snr_db: float  # both tones' power over the line's noise floor
    ms: float  # how long the key was held

    @property
    def within_spec(self) -> bool:
        return (TWIST_OK_DB[0] <= self.twist_db <= TWIST_OK_DB[1]
                and all(LEVEL_OK_DBM0[0] <= v <= LEVEL_OK_DBM0[1]
                        for v in (self.low_dbm0, self.high_dbm0)))


@dataclass(frozen=True)
class HangupSignal:
    kind: str
    after_ms: float  # from the end of the last key to the moment it was recognised
    detail: str = ""


@dataclass
class CalibrationReport:
    keys: list[KeyReport] = field(default_factory=list)
    missing: str = ""
    noise_dbm0: float = -120.0
    hangup: HangupSignal | None = None
    answered_at: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"keys": [asdict(k) | {"within_spec": k.within_spec} for k in self.keys],
                "missing": self.missing, "noise_dbm0": round(self.noise_dbm0, 1),
                "hangup": asdict(self.hangup) if self.hangup else None}

    def lines(self) -> list[str]:
        out = [f"noise floor: {self.noise_dbm0:.1f} dBm0"]
        for k in self.keys:
            flag = "ok" if k.within_spec else "OUT OF SPEC"
            out.append(f"key {k.digit}: low {k.low_dbm0:6.1f} dBm0  high {k.high_dbm0:6.1f} dBm0"
                       f"  twist {k.twist_db:+5.1f} dB  S/N {k.snr_db:5.1f} dB  "
                       f"{k.ms:4.0f} ms  {flag}")
        if self.missing:
            out.append(f"keys not heard: {' '.join(self.missing)}")
        if self.hangup:
            out.append(f"hang-up signal: {self.hangup.kind}, recognised "
                       f"{self.hangup.after_ms / 1000:.1f} s after the last key"
                       + (f" ({self.hangup.detail})" if self.hangup.detail else ""))
        else:
            out.append("hang-up signal: not learned (the call did not end in time)")
        return out


def _measure(audio: np.ndarray, up: KeyUp) -> tuple[float, float, float]:
    guard = ms_to_samples(KEY_GUARD_MS)
    segment = audio[up.start + guard:max(up.start + guard + 1, up.end - guard)]
    low_hz, high_hz = DTMF_FREQS[up.digit]
    return tone_dbm0(segment, low_hz), tone_dbm0(segment, high_hz), rms_dbm0(segment)


def _noise(audio: np.ndarray, busy: list[tuple[int, int]], until: int) -> float:
    """The line's level between the prompt and keys (and before the caller left)."""
    quiet = np.ones(min(len(audio), until), dtype=bool)
    guard = ms_to_samples(NOISE_GUARD_MS)
    for start, end in busy:
        quiet[max(0, start - guard):max(0, end + guard)] = False
    return rms_dbm0(audio[:len(quiet)][quiet]) if quiet.any() else -120.0


async def _await_call(line: Any, rings: int) -> None:
    while True:
        event = await line.next_event()
        if isinstance(event, Ring) and event.count >= rings:
            return


async def calibration_call(line: Any, prompt: np.ndarray, country: str, *, rings: int = 1,
                           keys: str = MOBILE_KEYS, key_timeout_ms: float = KEY_TIMEOUT_MS,
                           hangup_timeout_ms: float = HANGUP_TIMEOUT_MS) -> CalibrationReport:
    await _await_call(line, rings)
    await line.answer()
    report = CalibrationReport(answered_at=line.clock)
    dtmf, progress = DtmfDetector(), CallProgressDetector(country)
    chunks: list[np.ndarray] = []
    ups: list[KeyUp] = []
    prompt_frames = frames_of(prompt)
    pos, last_key_end = 0, 0
    try:
        while True:
            if prompt_frames:
                await line.tx(prompt_frames.pop(0))
            frame = np.asarray(await line.rx(), dtype=np.int16)
            chunks.append(frame)
            ups += [e for e in dtmf.feed(frame) if isinstance(e, KeyUp)]
            if ups:
                last_key_end = ups[-1].end
            pos += FRAME_SAMPLES
            heard = {u.digit for u in ups}
            found = _hangup(line.poll_events(), progress.feed(frame), report.answered_at,
                            last_key_end, bool(ups), set(keys) <= heard)
            if found is not None:
                kind, at, detail = found
                report.hangup = HangupSignal(kind, samples_to_ms(max(0, at - last_key_end)),
                                             detail)
                break
            if pos > ms_to_samples(key_timeout_ms) and not set(keys) <= heard:
                break  # the installer gave up: report what we have
            if ups and pos - last_key_end > ms_to_samples(hangup_timeout_ms):
                break
    finally:
        await line.hangup()
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    prompt_end = len(frames_of(prompt)) * FRAME_SAMPLES
    busy = [(0, prompt_end)] + [(u.start, u.end) for u in ups]
    report.noise_dbm0 = _noise(audio, busy, last_key_end or len(audio))
    seen: set[str] = set()
    for up in ups:
        if up.digit in seen:
            continue
        seen.add(up.digit)
        low, high, power = _measure(audio, up)
        report.keys.append(KeyReport(up.digit, round(low, 1), round(high, 1),
                                     round(high - low, 1), round(power - report.noise_dbm0, 1),
                                     round(samples_to_ms(up.end - up.start))))
    report.missing = "".join(k for k in keys if k not in seen)
    return report


def _hangup(events: list[Any], tones: list[Any], answered_at: int, last_key_end: int,
            some_keys: bool, all_keys: bool) -> tuple[str, int, str] | None:
    """The first sign of the far end leaving in this step, as (kind, samples since the
    answer, detail). Silence counts only once every key was heard: a pause between keys
    is not a hang-up."""
    for event in events:
        if isinstance(event, Hangup):
            return event.cause.value, event.at - answered_at, "reported by the line"
        if isinstance(event, Tone) and event.kind in ("busy", "reorder", "dial"):
            return event.kind, event.at - answered_at, "reported by the modem"
    for tone in tones:
        if tone.end is not None or tone.type not in PROGRESS_KINDS or not some_keys \
                or tone.start < last_key_end:
            continue
        if tone.type != "silence" or all_keys:
            return tone.type, tone.detected, "heard on the line"
    return None


def store_result(kv: Any, report: CalibrationReport, country: str, now_ms: int) -> None:
    if report.hangup is not None:
        kv.set(HANGUP_KEY, {"kind": report.hangup.kind, "after_ms": round(report.hangup.after_ms),
                            "country": country, "learned_ms": now_ms})
    kv.set(REPORT_KEY, report.as_dict() | {"country": country, "learned_ms": now_ms})
