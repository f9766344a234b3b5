"""ModemLine against the pty modem emulator: init per personality, format negotiation,
caller ID, playback and recording with DLE-heavy audio, barge-in, DTMF reports,
hang-ups, flash and dialling, reset of a silent modem, unplug and replug, close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from firmware.dsp import tones
from firmware.dsp.dtmf import DtmfDetector, KeyDown
from firmware.errors import LineError, LineGone
from firmware.line import v253
from firmware.line.base import (FRAME_SAMPLES, CallerId, Hangup, HangupCause, HardwareDtmf,
                                LineEvent, LineStatus, Ring, Tone, frames_of)
from firmware.line.modem import ModemLine
from tests.fakes.modem_emulator import ModemEmulator
from tests.fakes.modem_personality import VSM_U8
from tests.line.rig import run

FAST = {"response_timeout_s": 0.3, "audio_timeout_s": 1.0, "path_poll_s": 0.01,
        "cid_settle_s": 0.3, "health_interval_s": 3600.0}
KIND_OF = {"usr5637": "ulaw", "cx93010": "linear16"}


@asynccontextmanager
async def modem(personality: str = "usr5637", *, emu_kw: dict[str, Any] | None = None,
                **line_kw: Any) -> AsyncIterator[tuple[ModemLine, ModemEmulator]]:
    emu = ModemEmulator(personality, **(emu_kw or {}))
    emu.start()
    line = ModemLine(emu.path, **{**FAST, **line_kw})
    try:
        await line.open()
        status = await line.next_event()
        assert isinstance(status, LineStatus) and status.state == "ready", status
        yield line, emu
    finally:
        await line.close()
        await asyncio.get_running_loop().run_in_executor(None, emu.stop)


def go(body: Callable[[], Awaitable[Any]]) -> Any:
    return run(body, timeout_s=30.0)


async def until_event(line: ModemLine, kind: type, state: str | None = None) -> LineEvent:
    while True:
        event = await line.next_event()
        if isinstance(event, kind) and (state is None or event.state == state):  # type: ignore
            return event


async def steps_until(line: ModemLine, emu: ModemEmulator, far_end: int,
                      extra: int = 20) -> tuple[npt.NDArray[np.int16], list[LineEvent]]:
    """Receive until the far end's timeline passed `far_end`, then `extra` frames more:
    while recording the emulator runs up to a few frames ahead of the box's clock (the
    line buffers rx_buffer_frames, the pty one more)."""
    frames, events = [], []
    while emu.far_pos < far_end:
        frames.append(await line.rx())
        events += line.poll_events()
    for _ in range(extra):
        frames.append(await line.rx())
        events += line.poll_events()
    return np.concatenate(frames), events


async def _more_events_until(line: ModemLine, kind: type, wall_s: float = 3.0) -> list[LineEvent]:
    """The reader thread may lag the box on a loaded machine: give it (wall) time to
    deliver an event that the emulator already sent. Bounded, and a no-op when the
    event is already queued."""
    import time

    events: list[LineEvent] = []
    deadline = time.monotonic() + wall_s
    while time.monotonic() < deadline:
        events += line.poll_events()
        if any(isinstance(e, kind) for e in events):
            break
        await asyncio.sleep(0.01)
    return events


def dle_heavy(kind: str, n: int) -> npt.NDArray[np.int16]:
    """A signal whose encoding in `kind` is full of 0x10 bytes."""
    rng = np.random.default_rng(7)
    if kind == "linear16":
        pool = np.array([0x1010, 0x0010, 0x1000, -0x10F0, 0x1003, 0x1310], np.int16)
    else:
        table = v253.decode_audio(bytes(range(256)), kind)
        pool = np.array([table[0x10], table[0x10], table[0x03], table[0x18], 0, 1000],
                        np.int16)
    return rng.choice(pool, n).astype(np.int16)


# ---------------------------------------------------------------- init, formats

@pytest.mark.parametrize("personality, model, code", [("usr5637", "usr5637", 131),
                                                      ("cx93010", "cx93010", 133)])
def test_init_identifies_the_modem_and_picks_its_best_format(personality: str, model: str,
                                                              code: int) -> None:
    async def body() -> None:
        async with modem(personality) as (line, emu):
            assert line.quirks.model == model
            assert line.codec and line.codec.code == code
            cmds = emu.commands
            assert cmds[0] == "ATZ"
            for c in ("ATI0", "ATI3", "AT+FMI?", "AT+FMM?", "AT+FCLASS=8", "AT+VSM=?",
                      f"AT+VSM={code},8000", "AT+VCID=1", "ATS29=50"):
                assert c in cmds
            assert ("AT-SCID=1" in cmds) == (model == "cx93010")
            assert cmds.index("AT+VSM=?") < cmds.index(f"AT+VSM={code},8000")
            assert emu.vcid and emu.fclass == 8
    go(body)


def test_8bit_only_modem_gets_8bit_unsigned_and_audio_survives_both_ways() -> None:
    async def body() -> None:
        async with modem("cx93010", emu_kw={"vsm": VSM_U8}) as (line, emu):
            assert line.codec and (line.codec.code, line.codec.kind) == (1, "u8")
            emu.send_ring()
            await until_event(line, Ring)
            await line.answer()
            tone = tones.sine_mix([700.0], 400, -6.0)
            for frame in frames_of(tone):
                await line.tx(frame)
                await line.rx()
            for _ in range(4):  # playback ends (DLE ETX answered: all of it arrived)
                await line.rx()
            assert emu.tx_sessions[0].audio[:len(tone)] == v253.encode_audio(tone, "u8")
            end = emu.queue_audio(tone)
            got, _ = await steps_until(line, emu, end)
            expected = v253.decode_audio(v253.encode_audio(tone, "u8"), "u8")
            assert _find(got, expected) >= 0
    go(body)


def _find(haystack: npt.NDArray[np.int16], needle: npt.NDArray[np.int16]) -> int:
    """Index where `needle` occurs bit-exactly in `haystack`, or -1."""
    for i in range(0, len(haystack) - len(needle) + 1):
        if haystack[i] == needle[0] and np.array_equal(haystack[i:i + len(needle)], needle):
            return i
    return -1


# ---------------------------------------------------------------- caller ID, rings

CID_SCRIPTS = [
    (("DATE=0321", "TIME=1405", "NMBR=5551234", "NAME=ALICE"),
     dict(number="5551234", name="ALICE", when="03211405")),
    (("NAME = BOB JONES", "NMBR = 0912345678", "TIME = 0930", "DATE = 1224"),
     dict(number="0912345678", name="BOB JONES", when="12240930")),
    (("DATE=0321", "TIME=1405", "NMBR=P", "NAME=P"),
     dict(number_absent="P", name_absent="P", when="03211405")),
    (("NMBR=O",), dict(number_absent="O")),
    (("DATE=0321", "NMBR=5551234"), dict(number="5551234")),
]


@pytest.mark.parametrize("personality", ["usr5637", "cx93010"])
@pytest.mark.parametrize("lines, expected", CID_SCRIPTS)
def test_caller_id_between_rings(personality: str, lines: tuple[str, ...],
                                 expected: dict[str, str]) -> None:
    async def body() -> None:
        async with modem(personality) as (line, emu):
            emu.send_ring(lines)
            first = await line.next_event()
            assert isinstance(first, Ring) and first.count == 1
            emu.send_ring()  # a partial report is complete at the latest at ring 2
            cid = await line.next_event()
            assert isinstance(cid, CallerId) and cid.standard == "modem"
            for key, value in expected.items():
                assert getattr(cid, key) == value
            second = await line.next_event()
            assert isinstance(second, Ring) and second.count == 2
    go(body)


def test_conexant_reports_ring_cadence_and_usr_does_not() -> None:
    async def body() -> None:
        for personality, cadence in (("cx93010", (2000, 4000)), ("usr5637", ())):
            async with modem(personality) as (line, emu):
                emu.send_ring(cadence=(2000, 4000))
                ring = await until_event(line, Ring)
                assert ring.cadence_ms == cadence  # type: ignore[attr-defined]
    go(body)


def test_conexant_caller_id_is_switched_on_again_after_a_reset() -> None:
    async def body() -> None:
        async with modem("cx93010", health_interval_s=0.05) as (line, emu):
            emu.freeze()  # the health check's AT gets no answer: reset, init again
            await until_event(line, LineStatus, "resetting")
            await until_event(line, LineStatus, "ready")
            after = emu.commands[len(emu.commands) - 1 - emu.commands[::-1].index("ATZ"):]
            assert "AT-SCID=1" in after and "AT+VCID=1" in after
            emu.send_ring(("NMBR=5551234",))
            await until_event(line, Ring)
            emu.send_ring()
            cid = await until_event(line, CallerId)
            assert cid.number == "5551234"  # type: ignore[attr-defined]
    go(body)


# ---------------------------------------------------------------- play and record

async def _answer(line: ModemLine, emu: ModemEmulator) -> None:
    emu.send_ring()
    await until_event(line, Ring)
    await line.answer()


@pytest.mark.parametrize("personality", ["usr5637", "cx93010"])
def test_play_with_dle_bytes_arrives_bit_exact(personality: str) -> None:
    async def body() -> None:
        async with modem(personality) as (line, emu):
            await _answer(line, emu)
            signal = dle_heavy(KIND_OF[personality], 40 * FRAME_SAMPLES)
            raw = v253.encode_audio(signal, KIND_OF[personality])
            assert raw.count(b"\x10") > len(raw) // 4
            for frame in frames_of(signal):
                await line.tx(frame)
                silent = await line.rx()
                assert not silent.any()  # half-duplex: silence while we play
            assert line.clock == len(signal)
            for _ in range(4):  # steps without tx: playback ends, recording starts
                await line.rx()
            session = emu.tx_sessions[0]
            assert session.ended == "etx"
            assert bytes(session.audio[:len(raw)]) == raw
            hangover = v253.decode_audio(bytes(session.audio[len(raw):]), KIND_OF[personality])
            assert len(hangover) == 2 * FRAME_SAMPLES and not hangover.any()
            assert emu.rx_sessions == 1
    go(body)


@pytest.mark.parametrize("personality", ["usr5637", "cx93010"])
def test_record_across_split_reads_is_bit_exact_and_keys_are_stamped(personality: str
                                                                     ) -> None:
    async def body() -> None:
        async with modem(personality, emu_kw={"split_dle": True}) as (line, emu):
            await _answer(line, emu)
            kind = KIND_OF[personality]
            signal = dle_heavy(kind, 30 * FRAME_SAMPLES)
            first = await line.rx()  # recording starts
            start = emu.queue_audio(signal) - len(signal)
            keys_at = emu.press("7#", on_ms=80, off_ms=80) - 2 * 1280
            frames, events = [first], []
            while sum(map(len, frames)) < start + len(signal) + 2 * 1280 + 1600:
                frames.append(await line.rx())  # line time here is the far end's
                events += line.poll_events()
            got = np.concatenate(frames)
            expected = v253.decode_audio(v253.encode_audio(signal, kind), kind)
            assert np.array_equal(got[start:start + len(signal)], expected)
            keys = [e for e in events if isinstance(e, HardwareDtmf)]
            assert [k.digit for k in keys] == ["7", "#"]
            assert keys[0].at == keys_at  # stamped with the sample the key starts at
            assert keys[1].at == keys_at + 1280
            found = [k.digit for k in DtmfDetector().feed(got) if isinstance(k, KeyDown)]
            assert found == ["7", "#"]  # the real detector hears them in rx audio too
    go(body)


def test_barge_in_aborts_playback_at_once() -> None:
    async def body() -> None:
        async with modem("usr5637") as (line, emu):
            await _answer(line, emu)
            prompt = frames_of(tones.sine_mix([500.0], 10_000, -10.0))
            await line.tx(prompt[0])
            await line.rx()
            emu.press("3")
            pressed = None
            for step, frame in enumerate(prompt[1:]):
                await line.tx(frame)
                await line.rx()
                keys = [e for e in line.poll_events() if isinstance(e, HardwareDtmf)]
                if keys:
                    pressed = step
                    break
            assert pressed is not None and keys[0].digit == "3"
            await line.rx()  # the call stops playing: this very step aborts playback
            session = emu.tx_sessions[0]
            assert session.ended == "abort"  # DLE CAN: the modem drops its buffer
            frames_played = pressed + 2  # prompt[0] and the steps up to the key's
            assert session.aborted_at <= frames_played * FRAME_SAMPLES  # (some flushed)
            played = np.concatenate(prompt)[:session.aborted_at]
            assert bytes(session.audio) == v253.encode_audio(played, "ulaw")  # no hang-over
            assert emu.rx_sessions == 1  # and the line records again
    go(body)


# ---------------------------------------------------------------- DTMF reports, hang-ups

@pytest.mark.parametrize("personality", ["usr5637", "cx93010"])
def test_modem_dtmf_reports_collapse_to_one_key_per_press(personality: str) -> None:
    async def body() -> None:
        async with modem(personality) as (line, emu):
            await _answer(line, emu)
            for frame in frames_of(tones.sine_mix([400.0], 200, -20.0)):
                await line.tx(frame)
                await line.rx()
            emu.press("55", on_ms=100, off_ms=100)
            end = emu.press("9", on_ms=400, off_ms=100)  # held: repeated reports
            keys: list[HardwareDtmf] = []
            steps_after = 0
            while emu.far_pos < end or steps_after < 10:  # all while we play: reports only
                steps_after += emu.far_pos >= end
                await line.tx(np.zeros(FRAME_SAMPLES, np.int16))
                await line.rx()
                keys += [e for e in line.poll_events() if isinstance(e, HardwareDtmf)]
            assert "".join(k.digit for k in keys) == "559"
    go(body)


@pytest.mark.parametrize("code, cause", [(b"h", HangupCause.LOOP_DROP),
                                         (b"l", HangupCause.LOOP_DROP),
                                         (b"P", HangupCause.POLARITY),
                                         (b"p", HangupCause.POLARITY),
                                         (b"H", HangupCause.LOOP_DROP)])
def test_far_end_hang_up_reports(code: bytes, cause: HangupCause) -> None:
    async def body() -> None:
        async with modem("cx93010") as (line, emu):
            emu.p = replace(emu.p, loop_drop_code=code)
            await _answer(line, emu)
            for _ in range(20):
                await line.rx()
            at = emu.far_hangup("loop_drop")
            _, events = await steps_until(line, emu, at + FRAME_SAMPLES)
            events += await _more_events_until(line, Hangup)
            hangups = [e for e in events if isinstance(e, Hangup)]
            assert len(hangups) == 1 and hangups[0].cause == cause
            assert hangups[0].at == at
            for _ in range(5):  # the box may keep stepping until it hangs up
                await line.rx()
            await line.hangup()
            assert not emu.off_hook and emu.commands[-1] == "AT+VCID=1"
    go(body)


def test_usr_off_hook_report_right_after_answering_is_not_a_hang_up() -> None:
    async def body() -> None:
        async with modem("usr5637") as (line, emu):
            await _answer(line, emu)  # the emulated USR sends DLE H after +VLS=1
            for _ in range(10):
                await line.rx()
            assert not [e for e in line.poll_events() if isinstance(e, Hangup)]
            assert emu.commands.index("AT+VGT=128") < emu.commands.index("AT+VLS=1")
    go(body)


def test_no_carrier_and_tones_reach_the_call() -> None:
    async def body() -> None:
        async with modem("cx93010") as (line, emu):
            await _answer(line, emu)
            for _ in range(5):
                await line.rx()
            emu.inject(b"\x10d\x10b\x10c\x10e")
            events: list[LineEvent] = []
            for _ in range(5):
                await line.rx()
                events += line.poll_events()
            await asyncio.get_running_loop().run_in_executor(None, emu.drop_call)
            for _ in range(30):  # buffered audio, then silence until the box hangs up
                assert not (await line.rx()).any()
                events += line.poll_events()
            assert [e.kind for e in events if isinstance(e, Tone)] == \
                ["dial", "busy", "fax_cng", "fax_ced"]
            assert [e.cause for e in events if isinstance(e, Hangup)] == [HangupCause.MODEM]
    go(body)


@pytest.mark.parametrize("style, kind", [("reorder", "busy"), ("dial_tone", "dial")])
def test_exchange_tones_after_the_caller_left(style: str, kind: str) -> None:
    async def body() -> None:
        async with modem("usr5637") as (line, emu):
            await _answer(line, emu)
            await line.rx()
            at = emu.far_hangup(style)
            got, events = await steps_until(line, emu, at + 8000 + FRAME_SAMPLES)
            assert [e.kind for e in events if isinstance(e, Tone)] == [kind]
            assert np.abs(got[-4000:]).max() > 1000  # the tone itself is in rx audio
    go(body)


# ---------------------------------------------------------------- flash, dial

@pytest.mark.parametrize("personality, country, flash_cmd, dial_sample", [
    ("usr5637", "US", "ATD!;", "AT+VTS=[697,1209,10],[0,0,10]"),
    ("cx93010", "UK", "AT+VTS=!", "AT+VTS={1,10}")])
def test_flash_and_dial_for_a_transfer(personality: str, country: str, flash_cmd: str,
                                       dial_sample: str) -> None:
    async def body() -> None:
        async with modem(personality, country=country) as (line, emu):
            await _answer(line, emu)
            for _ in range(3):
                await line.rx()
            await line.flash()
            await line.flash(300)
            await line.dial("123#")
            assert emu.flashes == [line.flash_ms, 300]
            assert line.flash_ms == (500 if country == "US" else 100)
            assert flash_cmd in emu.commands
            assert any(c.startswith(dial_sample) for c in emu.commands)
            assert emu.dialled == "123#"
            frame = await line.rx()  # back to recording after the transfer commands
            assert len(frame) == FRAME_SAMPLES and emu.rx_sessions == 2
    go(body)


def test_modem_tone_generator_beeps_between_recordings() -> None:
    async def body() -> None:
        async with modem("cx93010") as (line, emu):
            await _answer(line, emu)
            await line.rx()
            await line.play_tone(1000, 0, 400)
            await line.rx()
            assert "AT+VTS=[1000,0,40]" in emu.commands and emu.tones == [(1000, 0, 400)]
            assert emu.rx_sessions == 2
    go(body)


def test_unknown_country_and_commands_outside_a_call_are_errors() -> None:
    with pytest.raises(Exception, match="unknown country"):
        ModemLine("/dev/null", country="XX")

    async def body() -> None:
        async with modem("usr5637") as (line, _):
            with pytest.raises(LineError, match="not in a call"):
                await line.rx()
            with pytest.raises(LineError, match="not in a call"):
                await line.dial("1")
    go(body)


# ---------------------------------------------------------------- faults and recovery

def test_dropped_and_garbled_results_are_retried() -> None:
    async def body() -> None:
        async with modem("usr5637") as (line, emu):
            emu.send_ring()
            await until_event(line, Ring)
            emu.drop_results(1)  # +VGT's OK is lost: sent again
            await line.answer()
            assert emu.commands.count("AT+VGT=128") == 2
            frame = await line.rx()
            assert len(frame) == FRAME_SAMPLES
            await line.flash()
            emu.garble_results(1)  # S29's OK is garbage: sent again
            await line.flash()
            assert emu.commands.count("ATS29=50") == 4 and emu.flashes == [500, 500]
            emu.drop_results(2)  # no answer twice: the call is lost, the modem reset
            with pytest.raises(LineError, match="stopped answering"):
                await line.dial("1")
            await until_event(line, LineStatus, "ready")
            assert line.stats["resets"] == 1 and not line.in_call
    go(body)


def test_a_silent_modem_is_reset() -> None:
    async def body() -> None:
        async with modem("usr5637", health_interval_s=0.05) as (line, emu):
            before = len(emu.commands)
            emu.freeze()
            status = await until_event(line, LineStatus, "resetting")
            assert "stopped answering" in status.detail  # type: ignore[attr-defined]
            await until_event(line, LineStatus, "ready")
            assert "ATZ" in emu.commands[before:]
            assert line.stats["resets"] == 1
            await _answer(line, emu)  # and it works again
            assert emu.off_hook
    go(body)


def test_modem_that_stops_mid_call_ends_the_call_and_is_reset() -> None:
    async def body() -> None:
        async with modem("cx93010", audio_timeout_s=0.3) as (line, emu):
            await _answer(line, emu)
            await line.rx()
            emu.freeze()
            with pytest.raises(LineError, match="stopped sending audio"):
                for _ in range(100):
                    await line.rx()
            events = line.poll_events()
            assert any(isinstance(e, Hangup) and e.cause == HangupCause.MODEM for e in events)
            assert any(isinstance(e, LineStatus) and e.state == "ready" for e in events)
    go(body)


def test_unplug_while_idle_and_replug() -> None:
    async def body() -> None:
        async with modem("cx93010") as (line, emu):
            await asyncio.get_running_loop().run_in_executor(None, emu.unplug)
            assert (await until_event(line, LineStatus)).state == "missing"  # type: ignore
            await asyncio.get_running_loop().run_in_executor(None, emu.replug)
            await until_event(line, LineStatus, "ready")
            assert line.stats["opens"] == 2
            await _answer(line, emu)
            assert emu.off_hook
    go(body)


def test_unplug_mid_call_raises_line_gone_then_recovers() -> None:
    async def body() -> None:
        async with modem("usr5637") as (line, emu):
            await _answer(line, emu)
            for _ in range(5):
                await line.rx()
            await asyncio.get_running_loop().run_in_executor(None, emu.unplug)
            with pytest.raises(LineGone):
                for _ in range(200):
                    await line.rx()
            events = line.poll_events()
            assert any(isinstance(e, Hangup) and e.cause == HangupCause.LINE_GONE
                       for e in events)
            assert any(isinstance(e, LineStatus) and e.state == "missing" for e in events)
            with pytest.raises(LineGone):
                await line.tx(np.zeros(FRAME_SAMPLES, np.int16))
            await line.hangup()
            await asyncio.get_running_loop().run_in_executor(None, emu.replug)
            await until_event(line, LineStatus, "ready")
            await _answer(line, emu)
            await line.rx()
    go(body)


@pytest.mark.parametrize("state", ["rx", "tx"])
def test_close_hangs_up_from_any_state(state: str) -> None:
    async def body() -> None:
        async with modem("usr5637") as (line, emu):
            await _answer(line, emu)
            if state == "tx":
                await line.tx(np.zeros(FRAME_SAMPLES, np.int16))
            await line.rx()
            assert emu.off_hook
            await line.close()
            assert not emu.off_hook and emu.commands[-1] == "ATH0"
            if state == "tx":
                assert emu.tx_sessions[-1].ended == "abort"
    go(body)
