"""One contract for every line backend: a whole call, seen from the box's side.

The far end (the backend's rig, tests/line/rig.py) rings twice with caller ID; the box
answers after ring 2 and plays a prompt while the caller presses "12#"; the caller then
speaks for 2 s and hangs up in one of the ways the rig can produce. The box must get:
the rings and the caller's number; the keys (from our DTMF detector on rx audio, or as
HardwareDtmf from a half-duplex backend); the voice, recorded from rx; the end of the
call (a Hangup event, or the exchange's tone found by our call-progress detector on rx);
and after `close()` the line must be on-hook as the exchange sees it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from firmware.dsp.callerid import CallerIdInfo
from firmware.dsp.callprogress import CallProgressDetector
from firmware.dsp.dtmf import DtmfDetector, KeyDown
from firmware.dsp.level import dbm0_to_peak
from firmware.line.base import (SAMPLE_RATE, CallerId, Hangup, HangupCause, HardwareDtmf,
                                LineEvent, Ring, Tone, frames_of, ms_to_samples)
from tests.line.rig import RIGS, Rig, importable_rigs, missing_rigs, rig_factory, run

CID = CallerIdInfo(number="5551234567", name="ALICE SMITH", when="11241530")
ANSWER_AFTER_RINGS = 2
KEYS = "12#"
PROMPT_MS = 3000.0
VOICE_MS = 2000.0
MAX_CALL_MS = 30_000.0  # line time; a backend that never ends the call fails, not hangs
END_CAUSES = (HangupCause.LOOP_DROP, HangupCause.MODEM, HangupCause.POLARITY,
              HangupCause.TONE)
MIN_MATCH = 0.7  # normalised correlation of received with sent audio (codecs, echo)


def _prompt() -> npt.NDArray[np.int16]:
    """A 3 s sweep, 300 -> 3000 Hz, at about -16 dBm0: nothing like DTMF or voice."""
    t = np.arange(ms_to_samples(PROMPT_MS)) / SAMPLE_RATE
    f0, f1, dur = 300.0, 3000.0, PROMPT_MS / 1000.0
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * dur))
    return np.round(dbm0_to_peak(-16.0) * np.sin(phase)).astype(np.int16)


def _voice() -> npt.NDArray[np.int16]:
    """2 s voice-like sound: a 140 Hz harmonic series with vibrato, syllable-modulated."""
    t = np.arange(ms_to_samples(VOICE_MS)) / SAMPLE_RATE
    f = 140.0 * (1 + 0.05 * np.sin(2 * np.pi * 3.0 * t))
    phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
    tone = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t)
    x = tone * envelope
    return np.round(x / np.max(np.abs(x)) * dbm0_to_peak(-18.0)).astype(np.int16)


PROMPT, VOICE = _prompt(), _voice()


def best_match(haystack: npt.ArrayLike, needle: npt.ArrayLike) -> float:
    """Largest normalised correlation of `needle` with any stretch of `haystack`."""
    h = np.asarray(haystack, dtype=np.float64)
    n = np.asarray(needle, dtype=np.float64)
    if len(h) < len(n) or not np.any(n):
        return 0.0
    size = 1 << int(np.ceil(np.log2(len(h) + len(n))))
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(n, size)), size)
    corr = corr[: len(h) - len(n) + 1]
    energy = np.concatenate([[0.0], np.cumsum(h * h)])
    window = energy[len(n):] - energy[: len(h) - len(n) + 1]  # sliding sum of h^2
    score = corr / np.sqrt(np.maximum(window, 1e-9) * float(n @ n))
    return float(score.max())


@dataclass
class CallRecord:
    events: list[LineEvent] = field(default_factory=list)
    keys: list[tuple[int, str]] = field(default_factory=list)  # (clock, digit)
    rx: list[npt.NDArray[np.int16]] = field(default_factory=list)
    end: LineEvent | str | None = None
    answered: bool = False
    heard: npt.NDArray[np.int16] = field(default_factory=lambda: np.zeros(0, np.int16))
    off_hook_after_close: bool = True

    @property
    def digits(self) -> str:
        merged: list[tuple[int, str]] = []
        for at, digit in sorted(self.keys, key=lambda k: k[0]):  # stable: arrival order
            if merged and merged[-1][1] == digit and at - merged[-1][0] < ms_to_samples(150):
                continue
            merged.append((at, digit))
        return "".join(d for _, d in merged)


async def _far_end(rig: Rig, style: str) -> bool:
    answered = await rig.ring(ANSWER_AFTER_RINGS + 1, CID)
    if not answered:
        return False
    await rig.wait(600)
    await rig.press(KEYS)
    await rig.wait(PROMPT_MS - 600)  # the prompt is over by now
    await rig.speak(VOICE)
    await rig.wait(500)
    await rig.hang_up(style)
    return True


async def _box(rig: Rig, style: str) -> CallRecord:
    line, rec = rig.line, CallRecord()
    await line.open()
    far = asyncio.create_task(_far_end(rig, style))
    while True:
        event = await line.next_event()
        rec.events.append(event)
        if isinstance(event, Ring) and event.count >= ANSWER_AFTER_RINGS:
            break
    await line.answer()
    detector, progress = DtmfDetector(), CallProgressDetector(rig.country)
    prompt = frames_of(PROMPT)
    for step in range(ms_to_samples(MAX_CALL_MS) // len(prompt[0])):
        if step < len(prompt):
            await line.tx(prompt[step])
        frame = await line.rx()
        rec.rx.append(frame)
        rec.keys += [(line.clock, k.digit) for k in detector.feed(frame)
                     if isinstance(k, KeyDown)]
        for event in line.poll_events():
            rec.events.append(event)
            if isinstance(event, HardwareDtmf):
                rec.keys.append((event.at, event.digit))
            elif isinstance(event, Hangup) or (
                    isinstance(event, Tone) and event.kind in ("reorder", "busy", "dial")):
                rec.end = event
        for tone in progress.feed(frame):
            if tone.end is None and tone.type in ("reorder", "busy", "dial"):
                rec.end = tone.type
        if rec.end is not None:
            break
    await line.hangup()
    await line.close()
    rec.off_hook_after_close = rig.is_off_hook
    rec.answered = await asyncio.wait_for(far, 5.0)
    rec.heard = rig.heard()
    return rec


def _call(backend: str, style: str) -> CallRecord:
    async def body() -> CallRecord:
        rig = rig_factory(backend)(country="us")
        if style not in rig.hangup_styles:
            pytest.skip(f"{backend} cannot produce a {style} hang-up")
        await rig.start()
        try:
            return await _box(rig, style)
        finally:
            await rig.aclose()

    return run(body)


BACKENDS = importable_rigs()
EXPECTED_END = {"loop_drop": (Hangup,), "reorder": ("reorder", Hangup, Tone),
                "dial_tone": ("dial", Hangup, Tone)}


@pytest.mark.parametrize("style", ["loop_drop", "reorder", "dial_tone"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_whole_call(backend: str, style: str) -> None:
    rec = _call(backend, style)
    rings = [e.count for e in rec.events if isinstance(e, Ring)]
    assert rings == [1, 2]
    ids = [e for e in rec.events if isinstance(e, CallerId)]
    assert ids and ids[0].number == CID.number and ids[0].checksum_ok
    assert rec.answered
    assert rec.digits == KEYS
    assert best_match(np.concatenate(rec.rx), VOICE) > MIN_MATCH
    assert best_match(rec.heard, PROMPT) > MIN_MATCH
    expected = EXPECTED_END[style]
    assert rec.end is not None, "the box never learnt that the caller hung up"
    if isinstance(rec.end, str):
        assert rec.end in expected
    else:
        assert isinstance(rec.end, tuple(t for t in expected if isinstance(t, type)))
        if isinstance(rec.end, Hangup):
            assert rec.end.cause in END_CAUSES
    assert not rec.off_hook_after_close


@pytest.mark.parametrize("backend", BACKENDS)
def test_close_leaves_the_line_on_hook_even_mid_call(backend: str) -> None:
    async def body() -> bool:
        rig = rig_factory(backend)(country="us")
        await rig.start()
        try:
            line = rig.line
            await line.open()
            far = asyncio.create_task(rig.ring(3))
            while not isinstance(await line.next_event(), Ring):
                pass
            await line.answer()
            for _ in range(10):  # the far end sees the answer in line time
                await line.rx()
            assert await asyncio.wait_for(far, 5.0)
            assert rig.is_off_hook
            await line.close()  # no hangup() first
            return rig.is_off_hook
        finally:
            await rig.aclose()

    assert run(body) is False



def test_every_backend_has_a_rig() -> None:
    """All three backends plug into this suite; a missing rig module fails here."""
    assert set(RIGS) == {"sim", "modem", "fxo"}
    assert not missing_rigs(), f"rigs missing: {missing_rigs()}"
