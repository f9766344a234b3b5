"""Tones the line reports itself (QA I10): a half-duplex modem hears busy/dial/reorder
while the box plays and reports them as `Tone` events (DLE b/d) instead of audio."""

from __future__ import annotations

import numpy as np

from firmware.line.base import FRAME_SAMPLES, Tone, ms_to_samples
from firmware.line.sim import SimLine, SimParty
from tests.ivr.conftest import KNOWN

SALES = "202"


def _reports(kind: str, state: str, after_ms: float):
    """A line that, `after_ms` into exchange state `state`, hears only silence and
    reports `kind` as a Tone event every frame (as a modem in voice mode does)."""

    def setup(line: SimLine) -> None:
        exchange = line.exchange
        step = exchange.step
        since: list[int] = []

        def reporting(clock: int, off_hook: bool, box_tx: np.ndarray):
            audio, events = step(clock, off_hook, box_tx)
            if exchange.state != state:
                since.clear()
                return audio, events
            since[:] = since or [clock]
            if clock - since[0] >= ms_to_samples(after_ms):
                return np.zeros(FRAME_SAMPLES, np.int16), [*events, Tone(at=clock, kind=kind)]
            return audio, events

        exchange.step = reporting  # type: ignore[method-assign]

    return setup


def test_a_busy_tone_the_modem_reports_ends_the_call(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 60", number=KNOWN, setup=_reports("busy", "talk", 2000))
    assert summary.end_reason == "caller_hangup:busy"
    assert phone.first("caller_hangup")["t_ms"] < 2500


def test_a_busy_party_the_modem_reports_is_busy(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 2; wait 40; hangup", number=KNOWN,
                            parties={SALES: SimParty.no_answer()},
                            setup=_reports("busy", "consult", 3000))
    assert phone.first("forward_result")["result"] == "busy"
    assert "busy_vm" in summary.path
