"""The simulated exchange keeps a bounded history of callers: `ivrbox run` on the sim
line answers calls for days, and every SimCaller holds all the audio it heard."""

from __future__ import annotations

import asyncio

from firmware.line.exchange import CALL_HISTORY
from firmware.line.sim import SimCaller, SimLine


async def _calls(n: int) -> SimLine:
    line = SimLine()
    await line.open()
    for i in range(n):
        line.incoming(SimCaller("wait 0.2; hangup", name=f"caller{i}"))
        while True:
            event = type(await line.next_event()).__name__
            if event == "Ring":
                break
        await line.answer()
        for _ in range(20):
            await line.rx()
        await line.hangup()
    await line.close()
    return line


def test_only_the_latest_callers_are_kept() -> None:
    line = asyncio.run(_calls(CALL_HISTORY + 5))
    names = [c.name for c in line.exchange.calls]
    assert len(names) == CALL_HISTORY
    assert names[-1] == f"caller{CALL_HISTORY + 4}"
