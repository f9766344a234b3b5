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
