"""SoundDevicePort with a fake `sounddevice` module: PortAudio cannot open hardware here,
so a fake stream calls the callback from its own thread, as PortAudio would."""

from __future__ import annotations

import asyncio
import sys
import threading
import types
from typing import Any

import numpy as np
import pytest

from firmware.errors import LineError, LineGone
from firmware.line.audioport import (CAPTURE_BACKLOG_BLOCKS, PLAYBACK_LIMIT_BLOCKS, AudioPort,
                                     RateEdge, SoundDevicePort)

DEVICES = [
    {"name": "bcm2835 Headphones: - (hw:0,0)", "max_input_channels": 0, "max_output_channels": 2},
    {"name": "USB Audio Device: - (hw:1,0)", "max_input_channels": 1, "max_output_channels": 2},
]


class Flags:
    def __init__(self, overflow: bool = False, underflow: bool = False) -> None:
        self.input_overflow = overflow
        self.output_underflow = underflow


class FakeStream:
    def __init__(self, sd: FakeSoundDevice, **kw: Any) -> None:
        self.sd, self.kw = sd, kw
        self.started = self.closed = False
        sd.streams.append(self)

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def cycle(self, indata: np.ndarray, flags: Flags | None = None) -> np.ndarray:
        """One PortAudio period, run on a thread of its own: input in, output out."""
        ins, outs = self.kw["channels"]
        out = np.full((len(indata), outs), 12345, dtype=np.int16)  # garbage until filled
        frames = np.repeat(indata.reshape(-1, 1), ins, axis=1)
        t = threading.Thread(target=self.kw["callback"],
                             args=(frames, out, len(indata), None, flags or Flags()))
        t.start()
        t.join()
        self.last_out = out
        return out[:, 0].copy()


class FakeSoundDevice(types.ModuleType):
    def __init__(self, rates: set[int]) -> None:
        super().__init__("sounddevice")
        self.rates = rates
        self.streams: list[FakeStream] = []

    def query_devices(self) -> list[dict[str, Any]]:
        return DEVICES

    out_channels = {1, 2}

    def check_input_settings(self, device: int, channels: int, dtype: str, samplerate: int) -> None:
        if samplerate not in self.rates:
            raise RuntimeError(f"Invalid sample rate [PaErrorCode -9997] ({samplerate})")

    def check_output_settings(self, device: int, channels: int, dtype: str, samplerate: int) -> None:
        self.check_input_settings(device, channels, dtype, samplerate)
        if channels not in self.out_channels:
            raise RuntimeError(f"Invalid number of channels [PaErrorCode -9998] ({channels})")

    def Stream(self, **kw: Any) -> FakeStream:  # noqa: N802 - sounddevice's name
        return FakeStream(self, **kw)


@pytest.fixture
def sd(monkeypatch: pytest.MonkeyPatch) -> FakeSoundDevice:
    fake = FakeSoundDevice({44100, 48000})
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    return fake


def tone(hz: float, n: int, rate: int, amp: float = 8000.0) -> np.ndarray:
    return np.round(amp * np.sin(2 * np.pi * hz * np.arange(n) / rate)).astype(np.int16)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def run(body: Any) -> Any:
    return asyncio.run(asyncio.wait_for(body(), 20))


def test_is_an_audio_port() -> None:
    assert isinstance(SoundDevicePort("USB"), AudioPort)


def test_picks_the_duplex_device_by_name_and_a_rate_it_offers(sd: FakeSoundDevice) -> None:
    async def body() -> None:
        port = SoundDevicePort("usb audio")
        await port.start()
        (stream,) = sd.streams
        assert stream.kw["device"] == (1, 1) and stream.started
        assert port.device_rate == 48000 == stream.kw["samplerate"]
        assert stream.kw["blocksize"] == 960 and stream.kw["dtype"] == "int16"
        await port.stop()
        assert stream.closed
        with pytest.raises(LineError):
            await port.read()
    run(body)


def test_falls_back_through_the_rates(sd: FakeSoundDevice) -> None:
    async def body() -> tuple[int, int]:
        sd.rates = {44100}
        a = SoundDevicePort("hw:1")
        await a.start()
        sd.rates = {8000}
        b = SoundDevicePort("hw:1")
        await b.start()
        await a.stop()
        await b.stop()
        return a.device_rate, b.device_rate
    assert run(body) == (44100, 8000)


def test_a_stereo_only_card_gets_the_line_on_both_channels(sd: FakeSoundDevice) -> None:
    async def body() -> FakeStream:
        sd.out_channels = {2}
        port = SoundDevicePort("USB")
        await port.start()
        stream = sd.streams[0]
        for _ in range(5):
            port.write(tone(1000.0, 160, 8000))
        stream.cycle(np.zeros(960, np.int16))
        await port.stop()
        return stream
    stream = run(body)
    assert stream.kw["channels"] == (1, 2)
    assert np.any(stream.last_out[:, 0]) and np.array_equal(stream.last_out[:, 0], stream.last_out[:, 1])


def test_no_usable_device_or_rate(sd: FakeSoundDevice) -> None:
    async def body() -> None:
        with pytest.raises(LineGone, match="Headphones"):  # lists what there is
            await SoundDevicePort("Headphones").start()  # output only: not duplex
        sd.rates = set()
        with pytest.raises(LineError, match="accepts none"):
            await SoundDevicePort("USB").start()
    run(body)


def test_capture_is_resampled_on_the_loop_not_in_the_callback(sd: FakeSoundDevice,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[int] = set()
    original = RateEdge.to_line

    def spy(self: RateEdge, block: Any) -> np.ndarray:
        threads.add(threading.get_ident())
        return original(self, block)
    monkeypatch.setattr(RateEdge, "to_line", spy)

    async def body() -> np.ndarray:
        port = SoundDevicePort("USB")
        await port.start()
        stream = sd.streams[0]
        signal = tone(1000.0, 48000, 48000)
        for i in range(0, len(signal), 960):
            stream.cycle(signal[i : i + 960])
            await asyncio.sleep(0)  # the loop runs the hand-off
        out = await port.read()  # everything resampled so far, in one piece
        await port.stop()
        return out

    out = run(body)
    assert threads == {threading.get_ident()}  # asyncio.run's loop runs on this thread
    assert 8000 - 320 <= len(out) <= 8000  # less what the filter still holds (<= 40 ms)
    steady = out[800:]
    assert abs(peak_hz(steady, 8000) - 1000.0) < 5
    level_db = 20 * np.log10(np.sqrt(2) * np.std(steady) / 8000.0)
    assert abs(level_db) < 0.1


def test_flags_and_backlog_become_counters(sd: FakeSoundDevice) -> None:
    async def body() -> SoundDevicePort:
        port = SoundDevicePort("USB")
        await port.start()
        stream = sd.streams[0]
        stream.cycle(np.zeros(960, np.int16), Flags(overflow=True))
        stream.cycle(np.zeros(960, np.int16), Flags(underflow=True))
        await asyncio.sleep(0)  # drained
        # The loop never gets to run here: the callback keeps queueing, then drops.
        port._loop = None  # no hand-off, as if the loop were stuck
        for _ in range(CAPTURE_BACKLOG_BLOCKS + 5):
            stream.cycle(np.zeros(960, np.int16))
        await port.stop()
        return port
    c = run(body).counters
    assert (c.overflows, c.underflows, c.dropped, c.callback_errors) == (1, 1, 5, 0)


def test_a_closed_loop_is_counted_not_raised(sd: FakeSoundDevice) -> None:
    holder: dict[str, Any] = {}

    async def body() -> None:
        port = SoundDevicePort("USB")
        await port.start()
        holder["port"], holder["stream"] = port, sd.streams[0]
    run(body)  # the loop is closed now, the stream (in this fake) still cycles
    holder["stream"].cycle(np.zeros(960, np.int16))
    assert holder["port"].counters.callback_errors == 1


def test_playback_is_upsampled_and_a_gap_is_counted(sd: FakeSoundDevice) -> None:
    async def body() -> tuple[np.ndarray, SoundDevicePort]:
        port = SoundDevicePort("USB")
        await port.start()
        stream = sd.streams[0]
        for i in range(0, 1600, 160):  # 200 ms of 1 kHz, frame by frame
            port.write(tone(1000.0, 1600, 8000)[i : i + 160])
        out = np.concatenate([stream.cycle(np.zeros(960, np.int16)) for _ in range(14)])
        await port.stop()
        return out, port
    out, port = run(body)
    played = out[out != 0]
    # 200 ms at 48 kHz, less what the streaming filter still holds (~30 ms)
    assert 9600 - 1920 <= len(played) <= 9600
    assert abs(peak_hz(played[480:-480], 48000) - 1000.0) < 5
    assert np.all(out[-960:] == 0)  # silence once it ran dry, never stale garbage
    assert port.counters.starved == 1 and port.counters.underflows == 0


def test_clear_playback_and_the_queue_limit(sd: FakeSoundDevice) -> None:
    async def body() -> tuple[np.ndarray, SoundDevicePort]:
        port = SoundDevicePort("USB")
        await port.start()
        for _ in range(PLAYBACK_LIMIT_BLOCKS + 10):
            port.write(tone(1000.0, 160, 8000))
        assert port.counters.trimmed >= 9
        port.clear_playback()
        out = sd.streams[0].cycle(np.zeros(960, np.int16))
        await port.stop()
        return out, port
    out, _ = run(body)
    assert np.all(out == 0)


def test_rate_edge_is_a_passthrough_at_8k() -> None:
    edge = RateEdge(8000)
    x = tone(697.0, 160, 8000)
    assert np.array_equal(edge.to_line(x), x) and np.array_equal(edge.to_device(x), x)
