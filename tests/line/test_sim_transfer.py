"""Hook flash and transfer on the simulated line: recall dial tone, dialled digits (as
audio), parties that answer, are busy, never answer or are a voicemail; hold,
conference, return to the caller, transfer on hang-up, recall ring."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.dsp.callprogress import detect_tones
from firmware.dsp.dtmf import digits_of
from firmware.dsp.level import rms_dbm0
from firmware.dsp.tones import beep, sine_mix
from firmware.errors import LineError, UsageError
from firmware.line.base import CallerId, Ring, ms_to_samples
from firmware.line.sim import SimCaller, SimLine, SimParty
from firmware.line.simtones import ring_burst_samples, ring_period_samples
from tests.line.rig import run
from tests.line.rig_sim import exchange_audio, ring_and_answer

WHISPER = sine_mix([523.0, 784.0], 600.0, -15.0)
GREETING = sine_mix([330.0, 990.0], 1500.0, -18.0)


def _tones(rx: np.ndarray, country: str = "us") -> list[str]:
    return [t.type for t in detect_tones(rx, country)]


async def _call_then_flash(line: SimLine, caller: SimCaller, talk_ms: float = 500.0):
    await ring_and_answer(line, caller)
    await exchange_audio(line, talk_ms)
    flashed = line.clock
    await line.flash()
    return flashed


def test_flash_gives_recall_dial_tone_three_beeps_then_steady() -> None:
    async def body():
        line = SimLine("us")
        await _call_then_flash(line, SimCaller("wait 20"))
        rx, _ = await exchange_audio(line, 3000)
        return line, rx

    line, rx = run(body)
    assert line.exchange.state == "consult"
    flash = ms_to_samples(500)
    assert not rx[:flash].any()  # on-hook: nothing
    tens = rx[flash:flash + ms_to_samples(800)].reshape(-1, 80)  # 10 ms blocks
    on = [rms_dbm0(b) > -30 for b in tens]
    pattern = [on[i * 10 + 5] for i in range(8)]  # the middle of each 100 ms
    assert pattern == [True, False, True, False, True, False, True, True]
    assert _tones(rx) == ["dial"]


def test_caller_hears_nothing_on_hold_while_the_party_hears_the_box() -> None:
    party = SimParty.answers("wait 5", rings=1)
    caller = SimCaller("wait 30")

    async def body():
        line = SimLine("us", parties={"201": party})
        flashed = await _call_then_flash(line, caller)
        await exchange_audio(line, 1500)
        await line.dial("201")
        await exchange_audio(line, 3500, until=lambda _: party.answered_at is not None)
        whispered = line.clock
        await exchange_audio(line, 1000, send=WHISPER)
        return line, flashed, whispered

    line, flashed, whispered = run(body)
    assert line.exchange.leg is not None and line.exchange.leg.digits == "201"
    assert not caller.heard_since(flashed).any()
    assert np.array_equal(party.heard_since(whispered)[: len(WHISPER)], WHISPER)


def test_transfer_party_answers_presses_1_and_the_box_hangs_up() -> None:
    party = SimParty.answers("wait 1; press 1", rings=2)
    caller = SimCaller("wait 60")

    async def body():
        line = SimLine("us", parties={"201": party})
        await _call_then_flash(line, caller)
        await exchange_audio(line, 1500)
        await line.dial("201")
        dialled = line.clock
        rx, _ = await exchange_audio(line, 12_000)
        await line.hangup()
        return line, dialled, rx

    line, dialled, rx = run(body)
    assert _tones(rx[: party.answered_at - dialled])[:1] == ["ringback"]
    assert digits_of(rx) == "1"
    # two rings of ringback, then the party picks up in the gap after ring 2
    rings_ms = (party.answered_at - dialled) / 8.0
    nominal = (ring_period_samples("us") + ring_burst_samples("us")) / 8.0 + 500
    assert nominal - 100 < rings_ms < nominal + 700  # + digit time and decision
    (transfer,) = line.exchange.transfers
    assert transfer.caller is caller and transfer.party is party
    assert caller.outcome == "transferred" and caller.connected_to is party
    assert line.exchange.state == "idle"


def test_busy_party_then_hang_up_makes_the_held_caller_ring_back() -> None:
    caller = SimCaller("wait 60", caller_id=None)

    async def body():
        line = SimLine("us", parties={"202": SimParty.busy()})
        await _call_then_flash(line, caller)
        await exchange_audio(line, 1500)
        await line.dial("202")
        rx, _ = await exchange_audio(line, 4000)
        await line.hangup()
        events = [await line.next_event()]
        while not isinstance(events[-1], Ring):
            events.append(await line.next_event())
        return line, rx, events

    line, rx, events = run(body)
    assert "busy" in _tones(rx)
    assert not line.exchange.transfers
    assert events[-1].count == 1 and not any(isinstance(e, CallerId) for e in events)
    assert line.exchange.state == "ringing" and line.exchange.caller is caller


def test_party_that_never_answers_gives_ringback_for_ever() -> None:
    party = SimParty.no_answer()

    async def body():
        line = SimLine("de", parties={"30": party})
        await _call_then_flash(line, SimCaller("wait 60"))
        await exchange_audio(line, 1500)
        await line.dial("30")
        rx, _ = await exchange_audio(line, 20_000)
        return line, rx

    line, rx = run(body)
    assert set(_tones(rx, "de")) == {"ringback"}
    assert line.exchange.leg.state == "ringing" and party.answered_at is None


def test_voicemail_party_plays_its_greeting_then_a_beep() -> None:
    tone = beep()
    party = SimParty.voicemail(GREETING, rings=0, beep=tone)

    async def body():
        line = SimLine("us", parties={"299": party})
        await _call_then_flash(line, SimCaller("wait 60"))
        await exchange_audio(line, 1500)
        await line.dial("299")
        start = line.clock
        rx, _ = await exchange_audio(line, 5000)
        return rx[party.answered_at - start:]

    rx = run(body)
    assert np.array_equal(rx[: len(GREETING)], GREETING)
    assert np.array_equal(rx[len(GREETING): len(GREETING) + len(tone)], tone)


@pytest.mark.parametrize("country", ["us", "uk"])
def test_unknown_number_gets_reorder(country: str) -> None:
    async def body():
        line = SimLine(country, parties={"201": SimParty.answers()})
        await _call_then_flash(line, SimCaller("wait 60"))
        await exchange_audio(line, 1500)
        await line.dial("777")
        rx, _ = await exchange_audio(line, 8000)
        return line, rx

    line, rx = run(body)
    assert line.exchange.leg.state == "reorder"
    assert _tones(rx, country)[-1] == "reorder"


def test_second_flash_conferences_then_a_third_drops_the_party() -> None:
    party = SimParty.answers([], rings=0)
    caller_voice = sine_mix([400.0], 2000.0, -20.0)
    caller = SimCaller([])

    async def body():
        line = SimLine("us", parties={"201": party})
        await _call_then_flash(line, caller)
        await exchange_audio(line, 1500)
        await line.dial("201")
        await exchange_audio(line, 2000, until=lambda _: party.answered_at is not None)
        await line.flash()
        await exchange_audio(line, 600)
        state = line.exchange.state
        joined = line.clock
        caller.speak_now(caller_voice)
        box_rx, _ = await exchange_audio(line, 1000, send=WHISPER)
        await line.flash()
        await exchange_audio(line, 600)
        return line, state, joined, box_rx

    line, state, joined, box_rx = run(body)
    assert state == "conference"
    assert np.array_equal(party.heard_since(joined)[: len(WHISPER)],
                          (WHISPER.astype(np.int32) + caller_voice[: len(WHISPER)])
                          .astype(np.int16))
    assert np.array_equal(caller.heard_since(joined)[: len(WHISPER)], WHISPER)
    assert np.array_equal(box_rx[: len(WHISPER)], caller_voice[: len(WHISPER)])
    assert line.exchange.state == "talk" and party.gone_style == "dropped"


@pytest.mark.parametrize("answered", [True, False])
def test_second_flash_returns_to_the_caller(answered: bool) -> None:
    party = SimParty.answers([], rings=0) if answered else SimParty.no_answer()

    async def body():
        line = SimLine("us", parties={"201": party}, conference_on_flash=False)
        await _call_then_flash(line, SimCaller("wait 60"))
        await exchange_audio(line, 1500)
        await line.dial("201")
        await exchange_audio(line, 2000)
        await line.flash()
        await exchange_audio(line, 600)
        return line

    line = run(body)
    assert line.exchange.state == "talk" and line.exchange.leg is None
    assert party.gone_style == "dropped"


def test_without_three_way_transfer_hanging_up_recalls_the_caller() -> None:
    party = SimParty.answers([], rings=0)
    caller = SimCaller("wait 60")

    async def body():
        line = SimLine("us", parties={"201": party}, three_way_transfer=False)
        await _call_then_flash(line, caller)
        await exchange_audio(line, 1500)
        await line.dial("201")
        await exchange_audio(line, 2000)
        await line.hangup()
        return line, await line.next_event()

    line, event = run(body)
    assert not line.exchange.transfers
    assert isinstance(event, Ring) and line.exchange.caller is caller
    assert party.gone_style == "dropped"


def test_a_flash_blip_is_ignored_and_a_long_one_is_a_release() -> None:
    caller = SimCaller("wait 60")

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        await line.flash(40)  # 2 frames: contact bounce, not a flash
        await exchange_audio(line, 500)
        blip_state = line.exchange.state
        await line.flash(1500)
        await exchange_audio(line, 2000)
        return blip_state, line.exchange.state

    blip_state, after = run(body)
    assert blip_state == "talk"
    assert caller.outcome == "box_hung_up"
    assert after == "outgoing"  # back off-hook after the release: fresh dial tone


def test_flash_and_dial_need_the_line_off_hook() -> None:
    async def body():
        line = SimLine("us")
        await line.open()
        with pytest.raises(LineError):
            await line.flash()
        with pytest.raises(LineError):
            await line.dial("1")
        await line.answer()
        with pytest.raises(UsageError):
            await line.dial("12x")
        with pytest.raises(UsageError):
            await line.flash(0)

    run(body)
