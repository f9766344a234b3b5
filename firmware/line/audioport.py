"""Audio in and out of an FXO board: the sound card behind a small, testable seam.

API:
    AudioPort               protocol the FXO line uses: 8 kHz int16 in and out
        .device_rate            the rate the hardware really runs at (48000 typical)
        .counters               PortCounters (overflows, underflows, dropped, starved...)
        await .start() / await .stop()
        await .read() -> int16  the next captured block at 8 kHz (any length, >= 1 sample)
        .write(int16)           queue 8 kHz audio for playback (never blocks)
        .clear_playback()       drop what is queued (barge-in, hang-up)
    PortCounters            the counters above, as a dataclass
    RateEdge(device_rate)   streaming soxr conversion device rate <-> 8 kHz, both ways
    SoundDevicePort(device, *, rates=(48000, 44100, 16000), blocksize_ms=20)
                            the real port over python-sounddevice (PortAudio/ALSA)
    find_device(sd, name)   index of the first duplex device whose name contains `name`
                            (mono preferred; a stereo-only card gets the line on both)

Why convert here: many USB sound cards refuse 8 kHz on ALSA `hw:` devices, so we capture
at a rate the card offers and resample at this edge; everything above it is 8 kHz.
soxr runs in its variable-rate mode (`vr=True`): its fixed-rate recipes hand out audio
in bursts (HQ: ~145 ms, MQ: ~64 ms at a time), which would jitter every timing derived
from the sample clock; the variable-rate engine streams block by block with about one
block of delay, is flat to 3.8 kHz and rejects aliases above 4.2 kHz by over 110 dB.

The callback discipline (python-sounddevice's real-time contract): the PortAudio
callback only copies the captured block into a bounded deque, fills the output from a
deque of ready blocks, turns status flags into counters, and pokes the event loop with
`call_soon_threadsafe`. It never resamples, never blocks, and never raises into
PortAudio's thread. Resampling runs on the event loop. `sounddevice` is imported only
inside this module's functions, so the package imports without PortAudio.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from firmware.errors import LineError, LineGone

LINE_RATE = 8000
RESAMPLE_QUALITY = "HQ"  # with vr=True: see the module docstring
DEFAULT_RATES = (48000, 44100, 16000)  # tried in order; 8 kHz is the last resort
CAPTURE_BACKLOG_BLOCKS = 50  # ~1 s at 20 ms blocks before the callback drops audio
PLAYBACK_LIMIT_BLOCKS = 200  # ~2-4 s queued: more is a caller bug, the oldest is dropped

Samples = npt.NDArray[np.int16]


@dataclass
class PortCounters:
    """What went wrong at the sound card edge, counted rather than raised."""

    overflows: int = 0  # PortAudio: input overflow (the card had nowhere to put audio)
    underflows: int = 0  # PortAudio: output underflow (the card ran dry)
    dropped: int = 0  # captured blocks we dropped because the loop fell behind
    starved: int = 0  # playback ran dry after audio had been playing (1 per gap)
    callback_errors: int = 0  # exceptions caught in the callback (loop closed, ...)
    trimmed: int = 0  # playback blocks dropped because too much was queued


@runtime_checkable
class AudioPort(Protocol):
    """An 8 kHz mono int16 view of a duplex audio device."""

    device_rate: int
    counters: PortCounters

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def read(self) -> Samples:
        """The next captured audio at 8 kHz; waits until there is some."""
        ...

    def write(self, samples: Samples) -> None:
        """Queue 8 kHz audio for playback, behind what is already queued."""
        ...

    def clear_playback(self) -> None: ...


class RateEdge:
    """Streaming conversion between the device rate and 8 kHz, both directions.

    Each direction is a `soxr.ResampleStream`, so block boundaries leave no clicks;
    at 8 kHz device rate it is a pass-through.
    """

    def __init__(self, device_rate: int, quality: str = RESAMPLE_QUALITY) -> None:
        import soxr

        self.device_rate = device_rate
        self._passthrough = device_rate == LINE_RATE
        self._down = soxr.ResampleStream(device_rate, LINE_RATE, 1, dtype="int16",
                                         quality=quality, vr=True)
        self._up = soxr.ResampleStream(LINE_RATE, device_rate, 1, dtype="int16",
                                       quality=quality, vr=True)

    def to_line(self, block: npt.ArrayLike) -> Samples:
        """Device-rate capture -> 8 kHz (may return fewer samples, or none, for now)."""
        x = np.ascontiguousarray(block, dtype=np.int16).reshape(-1)
        return x.copy() if self._passthrough else self._down.resample_chunk(x)

    def to_device(self, samples: npt.ArrayLike) -> Samples:
        """8 kHz playback -> device rate (streaming, like `to_line`)."""
        x = np.ascontiguousarray(samples, dtype=np.int16).reshape(-1)
        return x.copy() if self._passthrough else self._up.resample_chunk(x)

    def reset_playback(self) -> None:
        """Forget playback history (after clearing the queue: no tail of old audio)."""
        self._up.clear()


def find_device(sd: Any, name: str) -> int:
    """Index of the first device whose name contains `name` (case-insensitive) and that
    can both capture and play. Raises LineGone listing what there is otherwise."""
    devices = list(sd.query_devices())
    wanted = name.lower()
    for index, dev in enumerate(devices):
        if (wanted in str(dev["name"]).lower() and dev["max_input_channels"] >= 1
                and dev["max_output_channels"] >= 1):
            return index
    seen = ", ".join(f"'{d['name']}'" for d in devices) or "none"
    raise LineGone(f"no duplex sound card matching '{name}' (found: {seen}); "
                   "check the USB cable and the `line.device` setting")


def _settings(sd: Any, index: int, rates: tuple[int, ...]) -> tuple[int, int, int]:
    """(rate, input channels, output channels) the device accepts for 16-bit audio: the
    first rate of `rates` (then 8 kHz), mono where possible. Many USB cards play only
    stereo on `hw:`; we then send the line's audio on both channels."""
    def accepts(check: Any, rate: int, channels: int) -> bool:
        try:
            check(device=index, channels=channels, dtype="int16", samplerate=rate)
        except Exception:  # PortAudioError or ValueError, depending on the host API
            return False
        return True

    for rate in (*rates, LINE_RATE):
        ins = [c for c in (1, 2) if accepts(sd.check_input_settings, rate, c)]
        outs = [c for c in (1, 2) if accepts(sd.check_output_settings, rate, c)]
        if ins and outs:
            return rate, ins[0], outs[0]
    raise LineError(f"sound card #{index} accepts none of {rates} Hz, mono or stereo, 16-bit")


class SoundDevicePort:
    """A duplex sound card through python-sounddevice, seen at 8 kHz.

    `device` is a substring of the ALSA/PortAudio device name ("USB Audio", "hw:1").
    """

    def __init__(self, device: str, *, rates: tuple[int, ...] = DEFAULT_RATES,
                 blocksize_ms: float = 20.0) -> None:
        self.device = device
        self.rates = rates
        self.blocksize_ms = blocksize_ms
        self.device_rate = 0
        self.counters = PortCounters()
        self._stream: Any = None
        self._edge: RateEdge | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Filled by the PortAudio thread, emptied on the loop (deque ops are atomic).
        self._captured: deque[Samples] = deque()
        self._playback: deque[Samples] = deque()
        # Touched only by the callback: the block it is part-way through.
        self._playing: Samples | None = None
        self._playing_pos = 0
        self._was_playing = False
        self._ready: list[Samples] = []  # 8 kHz audio waiting for read()
        self._wake = asyncio.Event()

    # -- the PortAudio thread ---------------------------------------------------------
    def _callback(self, indata: Any, outdata: Any, frames: int, time: Any, status: Any) -> None:
        try:
            if status.input_overflow:
                self.counters.overflows += 1
            if status.output_underflow:
                self.counters.underflows += 1
            if len(self._captured) >= CAPTURE_BACKLOG_BLOCKS:
                self.counters.dropped += 1
            else:
                self._captured.append(indata[:, 0].copy())
            self._fill(outdata[:, 0], frames)
            if outdata.shape[1] > 1:  # a stereo-only card: the line on both channels
                outdata[:, 1:] = outdata[:, :1]
            loop = self._loop
            if loop is not None:
                loop.call_soon_threadsafe(self._drain)
        except Exception:  # never raise into PortAudio's thread
            self.counters.callback_errors += 1

    def _fill(self, out: Any, frames: int) -> None:
        """Copy queued playback into `out`; silence (and a count) when it runs dry."""
        pos = 0
        while pos < frames:
            if self._playing is None:
                if not self._playback:
                    out[pos:] = 0
                    if self._was_playing:
                        self.counters.starved += 1
                    self._was_playing = False
                    return
                self._playing, self._playing_pos = self._playback.popleft(), 0
            block = self._playing
            n = min(frames - pos, len(block) - self._playing_pos)
            out[pos : pos + n] = block[self._playing_pos : self._playing_pos + n]
            pos += n
            self._playing_pos += n
            self._was_playing = True
            if self._playing_pos >= len(block):
                self._playing = None

    # -- the event loop ---------------------------------------------------------------
    def _drain(self) -> None:
        """Resample everything the callback captured and wake a waiting `read()`."""
        edge = self._edge
        while self._captured and edge is not None:
            out = edge.to_line(self._captured.popleft())
            if len(out):
                self._ready.append(out)
        if self._ready:
            self._wake.set()

    async def start(self) -> None:
        import sounddevice as sd

        if self._stream is not None:
            return
        self._loop = asyncio.get_running_loop()
        try:
            index = find_device(sd, self.device)
            self.device_rate, ins, outs = _settings(sd, index, self.rates)
            self._edge = RateEdge(self.device_rate)
            self._stream = sd.Stream(
                device=(index, index), samplerate=self.device_rate, channels=(ins, outs),
                dtype="int16", blocksize=int(self.device_rate * self.blocksize_ms / 1000),
                latency="low", callback=self._callback)
            self._stream.start()
        except (LineError, LineGone):
            raise
        except Exception as exc:  # PortAudioError: the card vanished or is busy
            self._stream = None
            raise LineGone(f"cannot open sound card '{self.device}': {exc}") from exc

    async def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()
        self._loop = None
        self._captured.clear()
        self.clear_playback()

    async def read(self) -> Samples:
        while not self._ready:
            if self._stream is None:
                raise LineError("sound card is not started")
            self._wake.clear()
            await self._wake.wait()
        # Taken synchronously after the wait: cancelling a read loses nothing.
        blocks, self._ready = self._ready, []
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)

    def write(self, samples: Samples) -> None:
        if self._edge is None:
            raise LineError("sound card is not started")
        out = self._edge.to_device(samples)
        if not len(out):
            return
        while len(self._playback) >= PLAYBACK_LIMIT_BLOCKS:
            try:
                self._playback.popleft()
            except IndexError:  # the callback took it meanwhile
                break
            self.counters.trimmed += 1
        self._playback.append(out)

    def clear_playback(self) -> None:
        self._playback.clear()
        if self._edge is not None:
            self._edge.reset_playback()
