"""SimLine fault hooks, the interactive caller (web test call), close(), and realtime pacing."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from firmware.dsp.dtmf import DtmfDetector, KeyDown, digits_of
from firmware.dsp.tones import beep, sine_mix
from firmware.errors import LineError, LineGone
from firmware.line.base import (FRAME_SAMPLES, ExtensionOffHook, Hangup, LineStatus, Ring,
                                ms_to_samples, silence_frame)
from firmware.line.sim import SimCaller, SimLine, Speak, WaitForBeep, WaitForSilence
from tests.line.rig import run
from tests.line.rig_sim import exchange_audio, ring_and_answer

TONE = sine_mix([600.0], 3000.0, -15.0)


def test_unplugged_device_raises_line_gone_and_comes_back() -> None:
    caller = SimCaller("wait 30")

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        await exchange_audio(line, 200)
        line.unplug(for_ms=3000)
        gone_at = line.clock
        with pytest.raises(LineGone):
            await line.rx()
        with pytest.raises(LineGone):
            await line.tx(silence_frame())
        with pytest.raises(LineGone):
            await line.answer()
        missing = await line.next_event()
        ready = await line.next_event()
        await line.answer()  # usable again
        return line, gone_at, missing, ready

    line, gone_at, missing, ready = run(body)
    assert isinstance(missing, LineStatus) and missing.state == "missing"
    assert isinstance(ready, LineStatus) and ready.state == "ready"
    assert ready.at - gone_at == ms_to_samples(3000)
    assert caller.outcome == "box_hung_up"  # the device's hook relay opened with it


def test_unplug_can_be_scheduled_in_line_time() -> None:
    async def body():
        line = SimLine("us")
        await ring_and_answer(line, SimCaller("wait 30"))
        start = line.clock
        line.unplug(at=start + ms_to_samples(1000))
        frames = 0
        with pytest.raises(LineGone):
            while True:
                await line.rx()
                frames += 1
        return frames

    assert run(body) == ms_to_samples(1000) // FRAME_SAMPLES


def test_dropout_silences_both_directions_for_its_length() -> None:
    caller = SimCaller([Speak(TONE)])

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        start = line.clock
        line.dropout(300, at=start + ms_to_samples(1000))
        rx, _ = await exchange_audio(line, 2000, send=TONE)
        return start, rx

    start, rx = run(body)
    lost = slice(ms_to_samples(1000), ms_to_samples(1300))
    assert not rx[lost].any() and rx[ms_to_samples(900):ms_to_samples(1000)].any()
    assert rx[ms_to_samples(1300):ms_to_samples(1400)].any()
    heard = caller.heard_since(start)
    assert not heard[lost].any() and heard[ms_to_samples(1300):].any()


def test_caller_hangs_up_in_the_middle_of_a_prompt() -> None:
    caller = SimCaller("wait 1; hangup")
    prompt = sine_mix([440.0], 4000.0, -15.0)

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        return await exchange_audio(line, 4000, send=prompt,
                                    until=lambda ev: any(isinstance(e, Hangup) for e in ev))

    _, events = run(body)
    assert any(isinstance(e, Hangup) for e in events)
    assert len(caller.heard()) == ms_to_samples(1000)  # it heard one second of prompt


def test_extension_picked_up_during_a_call_and_while_ringing() -> None:
    async def during_call():
        line = SimLine("us")
        await ring_and_answer(line, SimCaller("wait 30"))
        line.pick_up_extension(at=line.clock + ms_to_samples(500))
        _, events = await exchange_audio(line, 1000)
        return events

    events = run(during_call)
    (ext,) = [e for e in events if isinstance(e, ExtensionOffHook)]
    assert ext.at >= ms_to_samples(500)

    caller = SimCaller(max_rings=5)

    async def while_ringing():
        line = SimLine("us")
        await line.open()
        line.incoming(caller)
        line.pick_up_extension(at=ms_to_samples(9000))  # between ring 2 and ring 3
        seen = []
        while not seen or not isinstance(seen[-1], ExtensionOffHook):
            seen.append(await line.next_event())
        return line, seen

    line, seen = run(while_ringing)
    assert [e.count for e in seen if isinstance(e, Ring)] == [1, 2]
    assert caller.outcome == "extension" and line.exchange.state == "idle"


def test_close_hangs_up_and_the_line_refuses_use_after() -> None:
    caller = SimCaller("wait 30")

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        await exchange_audio(line, 200)
        await line.close()
        with pytest.raises(LineError):
            await line.rx()
        return line

    line = run(body)
    assert not line.is_off_hook and not line.exchange.box_off_hook
    assert caller.outcome == "box_hung_up"


def test_interactive_caller_keys_at_the_current_clock_and_streamed_frames() -> None:
    caller = SimCaller()  # no script: a person at the web page
    greeting = sine_mix([500.0], 400.0, -15.0)
    seen_by_callback: list[int] = []
    caller.on_heard = lambda clock, frame: seen_by_callback.append(clock)

    async def browser(stream, collected: list) -> None:
        async for clock, frame in stream:
            collected.append((clock, frame))

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        collected: list = []
        listener = asyncio.create_task(browser(caller.frames(), collected))
        await exchange_audio(line, 600, send=greeting)
        pressed_at = line.clock
        caller.press_now("42")
        rx, _ = await exchange_audio(line, 800)
        caller.hang_up_now()
        await exchange_audio(line, 100)
        await asyncio.wait_for(listener, 1.0)  # ends when the caller is gone
        return line, pressed_at, rx, collected

    line, pressed_at, rx, collected = run(body)
    keys = [k for k in DtmfDetector().feed(rx) if isinstance(k, KeyDown)]
    assert "".join(k.digit for k in keys) == "42"
    assert keys[0].start < ms_to_samples(5)  # from the very next frame
    streamed = np.concatenate([f for _, f in collected])
    assert np.array_equal(streamed[: len(greeting)], greeting)
    assert [c for c, _ in collected] == seen_by_callback
    assert caller.gone_style == "loop_drop"


def test_script_can_wait_for_the_beep_and_for_silence() -> None:
    greeting = sine_mix([350.0, 1150.0], 1200.0, -15.0)
    tone = beep(400.0, 1000.0, -12.0)
    after_beep = SimCaller([WaitForBeep(10_000)])
    after_beep.enqueue("press 7")
    after_quiet = SimCaller([WaitForSilence(500, 10_000)])
    after_quiet.enqueue("press 8")
    prompt = np.concatenate([greeting, tone])

    async def body(caller: SimCaller):
        line = SimLine("us")
        await ring_and_answer(line, caller)
        rx, _ = await exchange_audio(line, 4000, send=prompt)
        return rx

    rx = run(lambda: body(after_beep))
    keys = [k for k in DtmfDetector().feed(rx) if isinstance(k, KeyDown)]
    assert [k.digit for k in keys] == ["7"]
    beep_start = len(greeting)
    assert beep_start + ms_to_samples(140) <= keys[0].start < len(prompt) + 800

    rx = run(lambda: body(after_quiet))
    keys = [k for k in DtmfDetector().feed(rx) if isinstance(k, KeyDown)]
    assert [k.digit for k in keys] == ["8"]
    assert len(prompt) + ms_to_samples(500) <= keys[0].start < len(prompt) + 5200


def test_wait_for_beep_times_out_when_no_beep_comes() -> None:
    caller = SimCaller([WaitForBeep(1000)])
    caller.enqueue("press 3")

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        rx, _ = await exchange_audio(line, 2000)
        return rx

    assert digits_of(run(body)) == "3"


def test_realtime_line_paces_rx_to_the_wall_clock() -> None:
    async def body() -> float:
        line = SimLine("us", realtime=True)
        await line.open()
        await line.answer()
        start = time.monotonic()
        for _ in range(ms_to_samples(300) // FRAME_SAMPLES):
            await line.rx()
        return time.monotonic() - start

    assert run(body) >= 0.25


@pytest.mark.parametrize("hz", [700.0, 1025.0, 1400.0])
def test_wait_for_beep_hears_beeps_between_fft_bins(hz: float) -> None:
    caller = SimCaller([WaitForBeep(3000)])
    caller.enqueue("press 4")
    prompt = np.concatenate([sine_mix([440.0, 1020.0], 800.0, -15.0), beep(300.0, hz)])

    async def body():
        line = SimLine("us")
        await ring_and_answer(line, caller)
        rx, _ = await exchange_audio(line, 2500, send=prompt)
        return rx

    keys = [k for k in DtmfDetector().feed(run(body)) if isinstance(k, KeyDown)]
    assert [k.digit for k in keys] == ["4"] and keys[0].start < len(prompt) + 400
