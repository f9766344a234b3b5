"""The contract rig for the simulated line: a SimCaller on a SimLine's exchange.

API:
    make_rig(country="us", **line_options) -> SimRig      (see tests/line/rig.py)
    SimRig.caller                                          the SimCaller of the last ring()
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from firmware.dsp.callerid import CallerIdInfo
from firmware.line.sim import HangUp, Press, SimCaller, SimLine, Speak, Step, Wait


class SimRig:
    """Far end of a SimLine, stepping in the line's own clock."""

    hangup_styles = ("loop_drop", "reorder", "dial_tone")

    def __init__(self, country: str = "us", **line_options: object) -> None:
        self.country = country
        self.line = SimLine(country, **line_options)  # type: ignore[arg-type]
        self.caller: SimCaller | None = None

    @property
    def is_off_hook(self) -> bool:
        return self.line.exchange.box_off_hook

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def ring(self, count: int, caller_id: CallerIdInfo | None = None,
                   standard: str | None = None) -> bool:
        self.caller = SimCaller(caller_id=caller_id, cid_standard=standard, max_rings=count)
        self.line.incoming(self.caller)
        return await self.caller.wait_connected()

    async def _do(self, step: Step) -> None:
        assert self.caller is not None, "ring() first"
        self.caller.enqueue([step])
        await self.caller.wait_idle()

    async def wait(self, ms: float) -> None:
        await self._do(Wait(ms))

    async def press(self, digits: str, on_ms: float = 100.0, off_ms: float = 100.0,
                    dbm0: float = -10.0) -> None:
        await self._do(Press(digits, on_ms, off_ms, dbm0))

    async def speak(self, samples: npt.NDArray[np.int16]) -> None:
        await self._do(Speak(np.asarray(samples, dtype=np.int16)))

    async def hang_up(self, style: str = "loop_drop") -> None:
        await self._do(HangUp(style))

    def heard(self) -> npt.NDArray[np.int16]:
        return self.caller.heard() if self.caller is not None else np.zeros(0, np.int16)


def make_rig(country: str = "us", **line_options: object) -> SimRig:
    return SimRig(country, **line_options)


# -- helpers for the sim tests: the box's side, reduced to what a test needs -----------

async def ring_and_answer(line: SimLine, caller: SimCaller, rings: int = 1) -> list:
    """Open the line, let `caller` ring, answer after ring `rings`; the events seen."""
    from firmware.line.base import Ring

    if not line.is_open:
        await line.open()
    line.incoming(caller)
    events = []
    while True:
        event = await line.next_event()
        events.append(event)
        if isinstance(event, Ring) and event.count >= rings:
            break
    await line.answer()
    return events


async def exchange_audio(line: SimLine, ms: float,
                         send: npt.NDArray[np.int16] | None = None,
                         until=None) -> tuple[npt.NDArray[np.int16], list]:
    """Step the line for `ms` (sending `send` from the start); rx audio and events.

    `until(events_so_far) -> bool` stops early.
    """
    from firmware.line.base import FRAME_SAMPLES, frames_of, ms_to_samples

    out_frames = frames_of(send) if send is not None and len(send) else []
    received, events = [], []
    for i in range(max(1, ms_to_samples(ms) // FRAME_SAMPLES)):
        if i < len(out_frames):
            await line.tx(out_frames[i])
        received.append(await line.rx())
        events += line.poll_events()
        if until is not None and until(events):
            break
    return np.concatenate(received), events
