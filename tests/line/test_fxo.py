"""FxoLine over the fake exchange: mock pins driven in line time, a 48 kHz fake sound
card, the real soxr edge, the real caller-ID and DTMF decoders. No test sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from firmware.dsp.callerid import CallerIdInfo, generate
from firmware.dsp.dtmf import digits_of
from firmware.errors import LineError, UsageError
from firmware.line.base import (CallerId, ExtensionOffHook, Hangup, HangupCause, Line,
                                LineStatus, Ring)
from firmware.line.fxo import FLASH_MS, ButtonPress, FxoLine
from tests.line.rig_fxo import RING_PATTERN_MS, FxoExchange


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), 30))


class Bench:
    """An FXO line on the fake exchange, opened; time passes as the line reads."""

    def __init__(self, country: str = "us", device_rate: int = 48000, **kw: Any) -> None:
        self.ex = FxoExchange(country, device_rate=device_rate)
        self.line = FxoLine(self.ex.audio, self.ex.board, country=country,
                            clock=self.ex.clock, **kw)
        self.seen: list[Any] = []

    async def __aenter__(self) -> Bench:
        await self.line.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.line.close()
        self.ex.close()

    async def idle(self, ms: float) -> list[Any]:
        """Let `ms` of line time pass on-hook; the events it brought."""
        await self.ex.until(self.ex.now + self.ex.ms(ms))
        events = self.line.poll_events()
        self.seen += events
        return events

    async def steps(self, ms: float, stop_on: type | None = None) -> tuple[np.ndarray, list[Any]]:
        """Off-hook: step the call for `ms` (rx/tx); received audio and events."""
        frames, events = [], []
        for _ in range(int(ms // 20)):
            frames.append(await self.line.rx())
            new = self.line.poll_events()
            events += new
            if stop_on is not None and any(isinstance(e, stop_on) for e in new):
                break
        self.seen += events
        return np.concatenate(frames) if frames else np.zeros(0, np.int16), events

    def pin(self, name: str) -> Any:
        return self.ex.factory.gpio(self.ex.pinmap.pins[name].gpio)


def of(kind: type, events: list[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def test_is_a_line() -> None:
    async def body() -> None:
        async with Bench() as b:
            assert isinstance(b.line, Line)
            assert of(LineStatus, await b.idle(20))[0].state == "ready"
    run(body)


def test_unknown_country_is_a_usage_error() -> None:
    ex = FxoExchange("us")
    with pytest.raises(UsageError, match="xx"):
        FxoLine(ex.audio, ex.board, country="xx")
    ex.close()


# -- ring cadence --------------------------------------------------------------------------
@pytest.mark.parametrize("country", ["us", "uk", "de"])
def test_ring_cadence_per_country(country: str) -> None:
    pattern = RING_PATTERN_MS[country]
    period_ms = sum(pattern)

    async def body() -> None:
        async with Bench(country) as b:
            start = b.ex.now + b.ex.ms(100)
            for i in range(3):
                b.ex.ring_once(start + i * b.ex.ms(period_ms))
            await b.idle(100 + 3 * period_ms)
            rings = of(Ring, b.seen)
            assert [r.count for r in rings] == [1, 2, 3]
            for ring in rings:
                assert len(ring.cadence_ms) == len(pattern) - 1
                for got, want in zip(ring.cadence_ms, pattern):
                    assert abs(got - want) <= 60, (ring.cadence_ms, pattern)
            assert all(r.standard for r in b.line.ring_reports)
            gaps = np.diff([r.at for r in rings]) / 8.0  # ms of line time
            assert np.all(np.abs(gaps - period_ms) <= 40), gaps
            assert b.line.noise_bursts == 0
    run(body)


def test_uk_double_ring_is_not_a_us_ring() -> None:
    async def body() -> None:
        async with Bench("us") as b:
            t = b.ex.ring_burst(b.ex.now + b.ex.ms(50), 400) + b.ex.ms(200)
            b.ex.ring_burst(t, 400)
            await b.idle(2000)
            (ring,) = of(Ring, b.seen)
            assert len(ring.cadence_ms) == 3 and not b.line.ring_reports[-1].standard
    run(body)


def test_single_short_ring_counts_and_the_sequence_ends() -> None:
    async def body() -> None:
        async with Bench("us") as b:
            b.ex.ring_burst(b.ex.now + b.ex.ms(50), 300)
            await b.idle(1000)  # not the US cadence: reported after 800 ms of quiet
            assert of(Ring, b.seen) == []
            await b.idle(500)
            (ring,) = of(Ring, b.seen)
            assert ring.count == 1 and abs(ring.cadence_ms[0] - 300) <= 60
            assert b.ex.board.led_state("line") == "blink"
            await b.idle(7000)  # longer than a US ring-off period: the caller gave up
            assert b.ex.board.led_state("line") == "off"
            b.ex.ring_burst(b.ex.now, 2000)
            await b.idle(2500)
            assert [r.count for r in of(Ring, b.seen)] == [1, 1]
    run(body)


def test_line_noise_is_not_a_ring() -> None:
    async def body() -> None:
        async with Bench("us") as b:
            ex, t = b.ex, b.ex.now + b.ex.ms(50)

            def glitch(at: int, ms: float) -> None:
                ex.at(at, lambda: ex.set_input("ring_detect", True))
                ex.at(at + ex.ms(ms), lambda: ex.set_input("ring_detect", False))
            glitch(t, 2)  # a lone spike: two alternations
            for k in range(3):  # three spikes close together: a "ring" by count alone
                glitch(t + ex.ms(500 + 30 * k), 1)
            for k in range(40):  # contact chatter: far too fast for ringing
                glitch(t + ex.ms(1500 + 1.0 * k), 0.4)
            ex.ring_burst(t + ex.ms(2500), 80)  # ringing rate, but only 80 ms
            await b.idle(4000)
            assert of(Ring, b.seen) == []
            assert b.line.noise_bursts == 4  # each of the four bursts above, rejected
            assert b.ex.board.led_state("line") == "off"
    run(body)


# -- caller ID -----------------------------------------------------------------------------
ALICE = CallerIdInfo(number="5551234567", name="ALICE SMITH", when="03151230")


def test_bell202_caller_id_between_rings() -> None:
    async def body() -> None:
        async with Bench("us") as b:
            ex = b.ex
            end = ex.ring_once(ex.now + ex.ms(100))
            ex.play(generate(ALICE, "bell202-mdmf", rate=ex.rate), end + ex.ms(500))
            ex.ring_once(ex.now + ex.ms(100) + ex.ms(6000))
            await b.idle(8500)
            kinds = [type(e).__name__ for e in b.seen if isinstance(e, (Ring, CallerId))]
            assert kinds == ["Ring", "CallerId", "Ring"]
            (cid,) = of(CallerId, b.seen)
            assert (cid.number, cid.name, cid.when) == (ALICE.number, ALICE.name, ALICE.when)
            assert cid.standard.startswith("bell202") and cid.checksum_ok
    run(body)


def test_etsi_v23_caller_id_before_the_first_ring_uk() -> None:
    async def body() -> None:
        async with Bench("uk") as b:
            ex = b.ex
            t = ex.now + ex.ms(100)
            ex.at(t, lambda: ex.set(reversed=True))  # BT: line reversal, alert, FSK
            end = ex.play(generate(ALICE, "etsi-v23", alert=True, rate=ex.rate), t + ex.ms(150))
            ex.at(end + ex.ms(200), lambda: ex.set(reversed=False))
            ex.ring_once(end + ex.ms(500))
            await b.idle((end - ex.now) / ex.rate * 1000 + 2000)
            kinds = [type(e).__name__ for e in b.seen if isinstance(e, (Ring, CallerId))]
            assert kinds == ["CallerId", "Ring"]
            (cid,) = of(CallerId, b.seen)
            assert cid.number == ALICE.number and cid.standard == "etsi-v23"
            assert of(Hangup, b.seen) == []  # an on-hook reversal is not a hang-up
    run(body)


def test_corrupted_caller_id_is_flagged_not_shown() -> None:
    async def body() -> None:
        async with Bench("us") as b:
            ex = b.ex
            ex.play(generate(ALICE, "bell202-mdmf", rate=ex.rate, corrupt=True), ex.now + ex.ms(100))
            await b.idle(1500)
            (cid,) = of(CallerId, b.seen)
            assert not cid.checksum_ok and cid.number is None
    run(body)


# -- hook, flash, dialling -----------------------------------------------------------------
def test_answer_closes_the_relay_and_trips_the_ring() -> None:
    async def body() -> None:
        async with Bench("us") as b:
            ex = b.ex
            for i in range(4):
                ex.ring_once(ex.now + ex.ms(100 + 6000 * i))
            while not of(Ring, await b.idle(20)):
                pass
            assert not ex.off_hook
            await b.line.answer()
            assert ex.off_hook and ex.relay_history[-1][1] is True
            assert ex.board.led_state("line") == "on"
            _, events = await b.steps(8000)
            assert of(Ring, events) == [] and of(Hangup, events) == []
            await b.line.hangup()
            assert [s for _, s in ex.relay_history] == [True, False]
            assert ex.board.led_state("line") == "off"
    run(body)


@pytest.mark.parametrize("country", ["us", "uk", "de", "jp"])
def test_flash_length_per_country(country: str) -> None:
    async def body() -> None:
        async with Bench(country) as b:
            await b.line.answer()
            await b.steps(200)
            clock = b.line.clock
            await b.line.flash()
            assert b.line.clock - clock == FLASH_MS[country] * 8
            (t_off, off), (t_on, on) = b.ex.relay_history[-2:]
            assert (off, on) == (False, True)
            assert abs((t_on - t_off) * 1000 - FLASH_MS[country]) <= 6, (t_on - t_off)
            _, events = await b.steps(1000)
            assert of(Hangup, events) == []  # our own flash is not the far end leaving
    run(body)


def test_flash_and_dial_need_the_line_off_hook() -> None:
    async def body() -> None:
        async with Bench() as b:
            with pytest.raises(LineError):
                await b.line.flash()
            with pytest.raises(LineError):
                await b.line.dial("1")
            with pytest.raises(LineError):
                await b.line.rx()
            await b.line.answer()
            with pytest.raises(UsageError):
                await b.line.flash(5000)
    run(body)


def test_dialled_digits_reach_the_exchange_through_the_48k_edge() -> None:
    async def body() -> None:
        async with Bench() as b:
            await b.line.answer()
            start = b.ex.audio.played_samples
            clock = b.line.clock
            await b.line.dial("5551234#")
            assert b.line.clock - clock == 8 * 200 * 8  # 100 ms on + 100 ms off per key
            await b.steps(100)
            assert digits_of(b.ex.audio.played_line(start)) == "5551234#"
    run(body)


@pytest.mark.parametrize("device_rate", [48000, 44100])
def test_keys_pressed_at_the_card_rate_are_detectable_at_8k(device_rate: int) -> None:
    from firmware.dsp.tones import dtmf

    async def body() -> None:
        async with Bench(device_rate=device_rate) as b:
            await b.line.answer()
            keys = "0123456789*#ABCD"
            b.ex.play(dtmf(keys, on_ms=50, off_ms=50, dbm0=-25, rate=b.ex.rate),
                      b.ex.now + b.ex.ms(100))
            heard, _ = await b.steps(100 + 100 * len(keys) + 200)
            assert digits_of(heard) == keys
    run(body)


# -- far-end hang-up and line sense --------------------------------------------------------
def test_loop_current_drop_is_a_hangup() -> None:
    async def body() -> None:
        async with Bench() as b:
            ex = b.ex
            await b.line.answer()
            await b.steps(400)
            ex.set(dropping=True)  # a 200 ms blip is not a hang-up
            ex.at(ex.now + ex.ms(200), lambda: ex.set(dropping=False))
            _, events = await b.steps(1000)
            assert of(Hangup, events) == []
            ex.set(dropping=True)
            dropped_at = b.line.clock
            ex.at(ex.now + ex.ms(800), lambda: ex.set(dropping=False))
            _, events = await b.steps(1500)
            (hangup,) = of(Hangup, events)
            assert hangup.cause == HangupCause.LOOP_DROP  # polarity went dark too: not a reversal
            assert 450 <= (hangup.at - dropped_at) / 8 <= 600
    run(body)


def test_polarity_reversal_is_debounced() -> None:
    async def body() -> None:
        async with Bench() as b:
            ex = b.ex
            await b.line.answer()
            await b.steps(400)
            for _ in range(3):  # 30 ms flickers: noise
                ex.set(reversed=True)
                ex.at(ex.now + ex.ms(30), lambda: ex.set(reversed=False))
                await b.steps(200)
            assert of(Hangup, b.seen) == []
            ex.set(reversed=True)
            at = b.line.clock
            _, events = await b.steps(500)
            (hangup,) = of(Hangup, events)
            assert hangup.cause == HangupCause.POLARITY
            assert 40 <= (hangup.at - at) / 8 <= 120
    run(body)


def test_extension_pickup_while_idle_but_not_while_ringing() -> None:
    async def body() -> None:
        async with Bench() as b:
            ex = b.ex
            await b.idle(500)
            ex.set(extension=True)
            events = await b.idle(300)
            assert len(of(ExtensionOffHook, events)) == 1
            ex.set(extension=False)
            await b.idle(500)
            # While ringing the line voltage swings: no extension report from that.
            t = ex.ring_burst(ex.now + ex.ms(20), 1000)
            for k in range(10):
                ex.at(t - ex.ms(900 - 80 * k), lambda: ex.set(extension=True))
                ex.at(t - ex.ms(860 - 80 * k), lambda: ex.set(extension=False))
            events = await b.idle(2500)
            assert of(ExtensionOffHook, events) == [] and of(Ring, events)
    run(body)


def test_line_lost_and_back_on_hook() -> None:
    async def body() -> None:
        async with Bench() as b:
            await b.idle(200)
            b.ex.set(connected=False)
            events = await b.idle(300)
            assert [e.state for e in of(LineStatus, events)] == ["missing"]
            assert of(ExtensionOffHook, events) == []  # a dead line is not an extension
            b.ex.set(connected=True)
            events = await b.idle(300)
            assert [e.state for e in of(LineStatus, events)] == ["ready"]
    run(body)


# -- LEDs, button, close ---------------------------------------------------------------------
def test_leds_follow_the_line() -> None:
    async def body() -> None:
        b = Bench()
        assert b.ex.board.led_state("power") == "off"
        async with b:
            assert b.ex.board.led_state("power") == "on"
            assert b.pin("led_power").state
            b.ex.ring_burst(b.ex.now + b.ex.ms(20), 2000)
            await b.idle(500)
            assert b.ex.board.led_state("line") == "blink"
            await b.line.answer()
            assert b.ex.board.led_state("line") == "on" and b.pin("led_line").state
        assert b.ex.board.led_state("power") == "off" and not b.pin("led_power").state
    run(body)


def test_button_press_is_an_event() -> None:
    async def body() -> None:
        async with Bench() as b:
            ex = b.ex
            t = ex.now + ex.ms(50)
            ex.at(t, lambda: ex.set_input("button", True))  # 10 ms of contact bounce
            ex.at(t + ex.ms(10), lambda: ex.set_input("button", False))
            ex.at(t + ex.ms(200), lambda: ex.set_input("button", True))
            ex.at(t + ex.ms(1400), lambda: ex.set_input("button", False))
            await b.idle(1700)
            (press,) = of(ButtonPress, b.seen)
            assert abs(press.held_ms - 1200) <= 1
    run(body)


def test_close_leaves_the_line_on_hook() -> None:
    async def body() -> None:
        ex = FxoExchange("us")
        line = FxoLine(ex.audio, ex.board, country="us", clock=ex.clock)
        await line.open()
        await line.answer()
        assert ex.off_hook
        await line.close()
        assert not ex.off_hook and not ex.audio.started
        ex.close()
        assert ex.relay_history[-1][1] is False
    run(body)


def test_edges_after_close_are_dropped_not_raised() -> None:
    async def body() -> None:
        b = Bench()
        async with b:
            pass
        b.line._on_pin_thread("ring_detect", True)  # gpiozero's thread, line closed
        assert b.line.dropped_edges == 1
    run(body)


def test_a_vanished_sound_card_is_a_status_not_a_crash() -> None:
    async def body() -> None:
        async with Bench() as b:
            b.ex.audio.limit_s = 0.5  # the fake card "disappears" after 0.5 s
            while True:
                event = await b.line.next_event()
                if isinstance(event, LineStatus) and event.state == "missing":
                    break
            assert "past 0.5 s" in event.detail
    run(body)
