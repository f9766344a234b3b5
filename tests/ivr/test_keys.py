"""Keys as the caller types them: fast repeats (QA I1), the same key reported twice by
a modem that detects it too, and type-ahead across nodes (QA I4)."""

from __future__ import annotations

import numpy as np

from firmware.dsp.dtmf import DtmfDetector, KeyDown
from firmware.line.base import HardwareDtmf
from firmware.line.sim import Press, SimLine, Wait, WaitForSilence
from tests.ivr.conftest import CLOSED, KNOWN

MODEM_REPORT_DELAY = 240  # samples (30 ms): a modem reports a key a little after onset


def _modem_reports_keys_too(line: SimLine) -> None:
    """Like a voice modem with its own DTMF detector: every key the caller sends also
    arrives as a HardwareDtmf event, shortly after the audio carrying it."""
    exchange, detector = line.exchange, DtmfDetector()
    step = exchange.step
    origin: list[int] = []

    def reporting(clock: int, off_hook: bool, box_tx: np.ndarray):
        audio, events = step(clock, off_hook, box_tx)
        if exchange.state == "talk":
            if not origin:
                origin.append(clock)
            for event in detector.feed(audio):
                if isinstance(event, KeyDown):
                    events = [*events, HardwareDtmf(at=origin[0] + event.start + MODEM_REPORT_DELAY,
                                                    digit=event.digit)]
        return audio, events

    exchange.step = reporting  # type: ignore[method-assign]


FAST_11 = [Wait(500), Press("4"), WaitForSilence(800, 20_000), Press("11", on_ms=40, off_ms=40),
           Wait(15_000)]


def test_a_fast_11_is_two_keys(make_phone) -> None:
    phone = make_phone()
    phone.call(FAST_11, number=KNOWN, parties={})
    assert phone.first("extension")["digits"] == "11"


def test_a_key_the_modem_reports_as_well_counts_once_and_fast_repeats_twice(make_phone) -> None:
    phone = make_phone()
    phone.call(FAST_11, number=KNOWN, setup=_modem_reports_keys_too)
    assert phone.first("extension")["digits"] == "11"
    assert [d["digit"] for d in phone.of("key")] == ["4", "1", "1"]
