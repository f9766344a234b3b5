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


LANGUAGE_FIRST = {"flow": {"entry": "pick", "nodes": {"pick": {
    "type": "language", "prompt": "language", "options": {"8": "zh-TW", "9": "en"},
    "timeout_s": 3, "next": "start"}}}}


def test_a_key_typed_ahead_neither_cuts_the_announcement_nor_is_lost_at_the_greeting(
        make_phone) -> None:
    from tests.ivr.barge import heard_prompt_until

    phone = make_phone(LANGUAGE_FIRST)
    # "0" during the language prompt: not a language, so it is pushed back
    summary, caller = phone.call("wait 0.5; press 0; wait 40; hangup", number=KNOWN, when=CLOSED)
    closed = phone.prompts.render("We are closed.", "en")
    start = heard_prompt_until(caller, closed[:160])  # where the announcement began
    assert heard_prompt_until(caller, closed) - start >= len(closed) - 160  # heard whole
    assert summary.path[:4] == ("pick", "start", "closed", "general_vm")
    assert phone.first("operator")["node"] == "general_vm"  # the greeting honoured "0"
    assert summary.path[4] == "operator"
