"""SimLine + SimCaller: ringing, caller ID as a signal, keys as audio, voice, hang-ups."""

from __future__ import annotations

import time

import numpy as np
import pytest

from firmware.dsp.callerid import CallerIdInfo
from firmware.dsp.callprogress import detect_tones
from firmware.dsp.dtmf import DtmfDetector, KeyDown, digits_of
from firmware.dsp.level import rms_dbm0
from firmware.dsp.tones import beep, sine_mix
from firmware.line.base import (FRAME_SAMPLES, CallerId, Hangup, HangupCause, LineStatus,
                                Ring, ms_to_samples)
from firmware.line.sim import Press, SimCaller, SimLine, Speak, Wait
from firmware.line.simtones import ring_period_samples
from tests.line.rig import run
from tests.line.rig_sim import exchange_audio, ring_and_answer

ALICE = CallerIdInfo(number="0912345678", name="ALICE", when="03151045")


async def _rings_until_gone(line: SimLine, caller: SimCaller) -> list:
    await line.open()
    line.incoming(caller)
    events = []
    while caller.outcome is None:
        events.append(await line.next_event())
        if isinstance(events[-1], Ring) and events[-1].count == caller.max_rings:
            break
    return events


def test_four_rings_take_line_time_not_wall_time() -> None:
    line = SimLine("us")
    caller = SimCaller(max_rings=4)
    wall = time.monotonic()
    events = run(lambda: _rings_until_gone(line, caller))
    rings = [e for e in events if isinstance(e, Ring)]
    assert [r.count for r in rings] == [1, 2, 3, 4]
    assert all(r.cadence_ms == (2000,) for r in rings)
    # ring n ends 2 s into its 6 s cycle
    assert [r.at for r in rings] == [ms_to_samples(2000 + 6000 * n) for n in range(4)]
    assert time.monotonic() - wall < 5.0  # 20 s of ringing


@pytest.mark.parametrize("country, cadence", [("uk", (400, 200, 400)), ("de", (1000,)),
                                              ("tw", (1000,))])
def test_ring_cadence_follows_the_country(country: str, cadence: tuple[int, ...]) -> None:
    line = SimLine(country)
    events = run(lambda: _rings_until_gone(line, SimCaller(max_rings=2)))
    rings = [e for e in events if isinstance(e, Ring)]
    assert [r.cadence_ms for r in rings] == [cadence, cadence]
    assert rings[1].at - rings[0].at == ring_period_samples(country)


def test_caller_gives_up_after_max_rings_and_the_line_goes_idle() -> None:
    async def body() -> tuple[SimCaller, SimLine]:
        line, caller = SimLine("us"), SimCaller(max_rings=2)
        await _rings_until_gone(line, caller)
        while caller.outcome is None:  # the silence after the last ring
            line._step()  # noqa: SLF001 - drive the exchange without an event to wait for
        return caller, line

    caller, line = run(body)
    assert caller.outcome == "no_answer" and not line.exchange.active
    assert caller.gone_at == 2 * ring_period_samples("us")


@pytest.mark.parametrize("country, standard, before_ring_1", [
    ("us", "bell202-mdmf", False), ("us", "bell202-sdmf", False),
    ("uk", "etsi-v23", True), ("tw", "dtmf", True), ("jp", "ntt", True),
    ("tw", None, False),
])
def test_caller_id_arrives_as_a_decoded_signal(country: str, standard: str | None,
                                               before_ring_1: bool) -> None:
    caller = SimCaller(caller_id=ALICE, cid_standard=standard, max_rings=2)
    events = run(lambda: _rings_until_gone(SimLine(country), caller))
    ids = [e for e in events if isinstance(e, CallerId)]
    assert len(ids) == 1 and ids[0].checksum_ok
    assert ids[0].number == ALICE.number
    if standard in ("bell202-mdmf", "etsi-v23", None):  # formats that carry a name
        assert ids[0].name == ALICE.name
    rings = [e.at for e in events if isinstance(e, Ring)]
    assert (ids[0].at < rings[0]) == before_ring_1
    assert ids[0].at < rings[1]


def test_withheld_number_reports_the_reason() -> None:
    caller = SimCaller(caller_id=CallerIdInfo(number_absent="P", name_absent="P"),
                       max_rings=2)
    events = run(lambda: _rings_until_gone(SimLine("us"), caller))
    (cid,) = [e for e in events if isinstance(e, CallerId)]
    assert cid.number is None and cid.number_absent == "P"


def test_keys_are_dtmf_audio_at_their_clock_position() -> None:
    caller = SimCaller([Wait(500), Press("159#*", on_ms=60, off_ms=60)])

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        answered = line.clock
        rx, _ = await exchange_audio(line, 2000)
        return answered, rx

    answered, rx = run(body)
    keys = [k for k in DtmfDetector().feed(rx) if isinstance(k, KeyDown)]
    assert "".join(k.digit for k in keys) == "159#*"
    # the first key starts 500 ms after the answer (the detector's onset estimate)
    assert abs(keys[0].start - ms_to_samples(500)) < ms_to_samples(10)
    assert caller.connected_at == answered


@pytest.mark.parametrize("dbm0, twist_db, snr_db", [(-30.0, 0.0, None), (-10.0, -6.0, None),
                                                    (-12.0, 3.0, None), (-15.0, 0.0, 18.0)])
def test_press_level_twist_and_noise_reach_the_detector(dbm0: float, twist_db: float,
                                                        snr_db: float | None) -> None:
    caller = SimCaller([Press("0123456789", dbm0=dbm0, twist_db=twist_db, snr_db=snr_db)],
                       seed=7)

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        rx, _ = await exchange_audio(line, 2500)
        return rx

    rx = run(body)
    assert digits_of(rx) == "0123456789"
    first_key = rx[: ms_to_samples(100)]
    expected = dbm0 + 10 * np.log10(1 + 10 ** (twist_db / 10))  # two tones' power
    if snr_db is None:
        assert abs(rms_dbm0(first_key) - expected) < 0.5


def test_voice_is_delivered_sample_exact_and_the_caller_hears_the_box() -> None:
    voice = sine_mix([300.0, 1100.0], 800.0, -20.0)
    prompt = beep(600.0, 700.0, -12.0)
    caller = SimCaller([Wait(200), Speak(voice), Wait(1000)])

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        rx, _ = await exchange_audio(line, 2000, send=prompt)
        return rx

    rx = run(body)
    start = ms_to_samples(200)
    assert np.array_equal(rx[start:start + len(voice)], voice)
    assert not rx[:start].any()
    heard = caller.heard()
    assert np.array_equal(heard[: len(prompt)], prompt)
    assert caller.heard_frames[0][0] == caller.connected_at


def test_loop_drop_hangup_is_an_event_at_its_sample() -> None:
    caller = SimCaller("wait 1.5; hangup drop")

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        answered = line.clock
        _, events = await exchange_audio(line, 3000,
                                         until=lambda ev: any(isinstance(e, Hangup)
                                                              for e in ev))
        return answered, events

    answered, events = run(body)
    (hangup,) = [e for e in events if isinstance(e, Hangup)]
    assert hangup.cause == HangupCause.LOOP_DROP
    # hang-up happens inside the frame where the 1.5 s wait ends
    assert 0 <= hangup.at - (answered + ms_to_samples(1500)) < FRAME_SAMPLES
    assert caller.outcome == "hung_up" and caller.gone_style == "loop_drop"


@pytest.mark.parametrize("country, style, tone", [("us", "reorder", "reorder"),
                                                  ("uk", "reorder", "reorder"),
                                                  ("de", "dial_tone", "dial"),
                                                  ("us", "dial_tone", "dial")])
def test_hangup_without_loop_drop_leaves_only_the_exchange_tone(country: str, style: str,
                                                                tone: str) -> None:
    word = "dial" if style == "dial_tone" else "reorder"
    caller = SimCaller(f"wait 0.3; hangup {word}")

    async def body():
        line = SimLine(country)
        await ring_and_answer(line, caller)
        return await exchange_audio(line, 5000)

    rx, events = run(body)
    assert not [e for e in events if isinstance(e, Hangup)]
    found = [t.type for t in detect_tones(rx, country)]
    assert found and set(found) == {tone}


def test_box_hanging_up_ends_the_call_for_the_caller() -> None:
    caller = SimCaller("wait 10")

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        await exchange_audio(line, 500)
        await line.hangup()
        return line

    line = run(body)
    assert caller.outcome == "box_hung_up" and line.exchange.state == "idle"
    assert len(caller.heard()) == ms_to_samples(500)


def test_the_opening_status_and_a_second_caller_waiting_for_the_line() -> None:
    first, second = SimCaller("wait 0.5; hangup"), SimCaller(max_rings=3)

    async def body():
        line = SimLine("us")
        await line.open()
        assert isinstance(await line.next_event(), LineStatus)
        await ring_and_answer(line, first)
        line.incoming(second)  # the line is busy: this one rings after
        await exchange_audio(line, 1000)
        await line.hangup()
        ring = await line.next_event()
        return ring

    ring = run(body)
    assert isinstance(ring, Ring) and ring.count == 1 and second.rings == 1


def test_line_noise_from_the_caller_does_not_hide_the_keys() -> None:
    caller = SimCaller("wait 0.5; press 68; wait 1", noise_dbm0=-45.0, seed=3)

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        rx, _ = await exchange_audio(line, 2000)
        return rx

    rx = run(body)
    assert abs(rms_dbm0(rx[: ms_to_samples(400)]) - (-45.0)) < 1.0  # noise, not silence
    assert digits_of(rx) == "68"


def test_a_caller_due_in_an_hour_rings_without_an_hour_of_stepping() -> None:
    hour = ms_to_samples(3_600_000)

    async def body():
        line = SimLine("us")
        await line.open()
        line.incoming(SimCaller(max_rings=1), at=hour)
        await line.next_event()  # LineStatus
        wall = time.monotonic()
        ring = await line.next_event()
        return ring, time.monotonic() - wall

    ring, wall_s = run(body)
    assert isinstance(ring, Ring) and ring.at == hour + ms_to_samples(2000)
    assert wall_s < 2.0
