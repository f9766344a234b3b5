"""The Line interface: what every phone-line backend offers the call engine.

Contents: the audio format constants and sample-clock helpers; the frozen event
dataclasses a line reports (`Ring`, `CallerId`, `Hangup`, `HardwareDtmf`, `Tone`,
`ExtensionOffHook`, `LineStatus`); and the `Line` protocol itself.

Audio above this interface is always 8 kHz mono int16 numpy, in frames of 160 samples
(20 ms). Each backend converts its native format (modem u-law or 8-bit, a 48 kHz sound
card) at its own edge.

The call loop drives a line one 20 ms step at a time::

    await line.tx(frame)        # zero or one frame to send in this step
    frame = await line.rx()     # the frame received in this step; clock += 160
    for event in line.poll_events(): ...

`rx()` is what advances the line's sample clock, and the clock is the only time a call
knows: timeouts, cadences and recording lengths are counted in samples, so a simulated
line runs calls faster than real time and a real one in real time, with the same code.
A step in which `tx` was not called sends silence. A half-duplex backend (a voice modem
while it plays) returns silent frames from `rx()` in step with what it sends, and
reports the caller's keys as `HardwareDtmf` events instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FRAME_MS = 20

Frame = npt.NDArray[np.int16]


def ms_to_samples(ms: float) -> int:
    """Milliseconds to a whole number of samples at 8 kHz (rounded)."""
    return int(round(ms * SAMPLE_RATE / 1000.0))


def samples_to_ms(samples: int) -> float:
    return samples * 1000.0 / SAMPLE_RATE


def silence_frame() -> Frame:
    return np.zeros(FRAME_SAMPLES, dtype=np.int16)


def frames_of(samples: npt.NDArray[np.int16]) -> list[Frame]:
    """Split audio into 20 ms frames, padding the last one with silence."""
    samples = np.asarray(samples, dtype=np.int16)
    pad = (-len(samples)) % FRAME_SAMPLES
    if pad:
        samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
    return [samples[i : i + FRAME_SAMPLES] for i in range(0, len(samples), FRAME_SAMPLES)]


class HangupCause(str, Enum):
    """Why a line reported the far end gone (DESIGN.md, "Far-end hang-up")."""

    LOOP_DROP = "loop_drop"  # loop current dropped (FXO sense input, modem 'h'/'H')
    POLARITY = "polarity"  # line polarity reversal
    TONE = "tone"  # busy / reorder / dial tone from the exchange
    SILENCE = "silence"  # the exchange said nothing at all (last resort)
    MODEM = "modem"  # the modem reported it (NO CARRIER, DLE h)
    LOCAL = "local"  # we hung up
    LINE_GONE = "line_gone"  # the hardware vanished mid-call


@dataclass(frozen=True, kw_only=True)
class LineEvent:
    """Base of line events; `at` is the line's sample clock when it happened."""

    at: int


@dataclass(frozen=True, kw_only=True)
class Ring(LineEvent):
    """One ring burst ended (or began, for backends that only see the start).

    `count` is 1 for the first ring of a call; `cadence_ms` is the measured on/off
    pattern of this ring (e.g. (400, 200, 400) for a UK double ring), empty if unknown.
    """

    count: int
    cadence_ms: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CallerId(LineEvent):
    """Caller identity, whichever way it arrived (FSK, DTMF, a modem's own decoder).

    `when` is the transmitted "MMDDhhmm" (caller ID carries no year). `number_absent`
    and `name_absent` carry the reason a field is withheld: "O" out of area, "P"
    private. `standard` names how it was sent (e.g. "bell202-mdmf", "etsi-v23",
    "dtmf", "modem").
    """

    number: str | None = None
    name: str | None = None
    when: str | None = None
    number_absent: str | None = None
    name_absent: str | None = None
    standard: str = ""
    checksum_ok: bool = True


@dataclass(frozen=True, kw_only=True)
class Hangup(LineEvent):
    cause: HangupCause


@dataclass(frozen=True, kw_only=True)
class HardwareDtmf(LineEvent):
    """A key the hardware detected itself (a modem while it cannot send us audio)."""

    digit: str


@dataclass(frozen=True, kw_only=True)
class Tone(LineEvent):
    """A call-progress signal reported by the hardware: "busy", "dial", "ringback",
    "reorder", "silence", "quiet", "fax_cng", "fax_ced"."""

    kind: str


@dataclass(frozen=True, kw_only=True)
class ExtensionOffHook(LineEvent):
    """Another phone on the same line was picked up: the office takes the call."""


@dataclass(frozen=True, kw_only=True)
class LineStatus(LineEvent):
    """The backend's own health: "ready", "missing" (device unplugged), "resetting",
    "error". Shown on the dashboard; the engine does not answer while not ready."""

    state: str
    detail: str = ""


@runtime_checkable
class Line(Protocol):
    """A telephone line as the engine sees it. All methods run on the event loop."""

    name: str

    @property
    def clock(self) -> int:
        """Samples since the line was opened; advanced by `rx()` during a call."""
        ...

    @property
    def full_duplex(self) -> bool:
        """False when received audio is silent while we transmit (voice modems)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None:
        """Release the line; always leaves the phone line on-hook."""
        ...

    async def next_event(self) -> LineEvent:
        """Wait for the next event (used while idle: rings, caller ID, status)."""
        ...

    def poll_events(self) -> list[LineEvent]:
        """Take every queued event without waiting (used once per step in a call)."""
        ...

    async def answer(self) -> None:
        """Go off-hook and start exchanging audio frames."""
        ...

    async def hangup(self) -> None:
        """Go on-hook; the call's audio stops."""
        ...

    async def flash(self, ms: int | None = None) -> None:
        """Hook flash of `ms` milliseconds (the country's default when None)."""
        ...

    async def dial(self, digits: str) -> None:
        """Send digits (0-9 * # A-D, ',' = 1 s pause) on the line while off-hook."""
        ...

    async def rx(self) -> Frame:
        """The next 20 ms of received audio; advances the clock by one frame."""
        ...

    async def tx(self, frame: Frame) -> None:
        """Send 20 ms of audio in the current step."""
        ...
