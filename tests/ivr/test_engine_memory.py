"""A box answers calls for months in one process: what a call leaves behind must not pile up.

Calls run back to back on one Engine and one SimLine, as `ivrbox engine` takes them,
straight into a voicemail node (greeting skipped by "#", beep, a short message ended by
"#", goodbye): the path that records the WAV, saves the message, logs the call and
queues its notification. The automatic cyclic GC is off while they
run, as it effectively is on a busy box between its rare full collections: anything a
finished call leaves in a reference cycle then shows up as growth, deterministically.
Growth is compared between stretches (calls 15->30, then 30->60 and 60->90), never
against an absolute byte figure: a leak grows with the number of calls, in every stretch;
a cache fills once, in one stretch (which one depends on what ran before in the process:
a one-off buffer of ~2 MB was seen in 30->60 after some other test files and never again).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import tracemalloc
from pathlib import Path

import pytest

from firmware.appliance import Box, ConfigSource, find_audio_dir
from firmware.dsp.callerid import CallerIdInfo
from firmware.ivr.call import Call
from firmware.ivr.context import CallContext
from firmware.ivr.prompts import Prompts
from firmware.line.sim import Press, SimCaller, SimLine, Speak, Wait
from tests.ivr.conftest import KNOWN, OPEN, SpyPrompts, voice, write_config

CHECKPOINTS = (15, 30, 60, 90)  # growth over 15->30 vs each later 30: a leak doubles in both
MESSAGE_S = 1.5  # the test flow's mailboxes keep messages of 1 s or more
# A leak of even one object per call adds 30 over calls 30->60; what may legitimately
# move is bounded (sqlite3's list of weak references to its cursors is pruned in batches).
OBJECT_SLACK = 200
TRACE_FROM = 8  # tracing starts here: the first reading comes after caches have settled
BEEP_WAIT_MS = 800  # the beep (400 ms) and a breath


def _caller() -> SimCaller:
    """Skips the greeting with "#", speaks after the beep, ends the message with "#"."""
    script = [Wait(500), Press("#"), Wait(BEEP_WAIT_MS), Speak(voice(MESSAGE_S), "message"),
              Press("#"), Wait(8000)]
    return SimCaller(script, caller_id=CallerIdInfo(number=KNOWN))


def _live_by_type() -> collections.Counter[str]:
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


async def _run_calls(box: Box) -> dict[int, tuple[collections.Counter[str], int]]:
    settings = box.config.current()
    line = SimLine(country=settings.business.country)
    await line.open()
    engine = box.engine(line, ring_gap_s=30.0)
    seen: dict[int, tuple[collections.Counter[str], int]] = {}
    try:
        for n in range(1, CHECKPOINTS[-1] + 1):
            line.incoming(_caller())
            summary = await engine.handle_call()
            assert summary is not None and summary.outcome == "voicemail", summary
            line.exchange.calls.clear()  # the simulated exchange's own history of callers
            if n == TRACE_FROM:
                tracemalloc.start(1)  # from here: what later calls allocate and keep
            if n in CHECKPOINTS:
                seen[n] = (_live_by_type(), tracemalloc.get_traced_memory()[0])
    finally:
        await line.close()
    return seen


@pytest.fixture
def box(tmp_path: Path, session_prompts: SpyPrompts) -> Box:
    path = tmp_path / "data" / "config" / "current.yaml"
    write_config(path, {"flow": {"entry": "support_vm"}})
    box = Box(tmp_path / "data", ConfigSource(path, fallback=None),
              now_ms=lambda: int(OPEN.timestamp() * 1000))
    box.store.db.now_ms = box.services.now_ms
    # the session's disk TTS cache, without the spy's list of every text rendered
    box.prompts = box.services.prompts = Prompts(session_prompts.tts, find_audio_dir())
    yield box
    box.close()


def test_finished_calls_leave_nothing_behind(box: Box, caplog: pytest.LogCaptureFixture) -> None:
    # pytest keeps every captured log record for its report: at INFO the engine's event
    # log (a record per prompt, key and node) would show up as growth that is pytest's,
    # not the engine's. At WARNING, what a box logs by default, a normal call logs nothing.
    caplog.set_level(logging.WARNING, logger="ivrbox")
    gc.collect()
    gc.disable()
    try:
        seen = asyncio.run(_run_calls(box))
    finally:
        tracemalloc.stop()
        gc.enable()
    (at_a, bytes_a), (at_b, bytes_b), (at_c, bytes_c), (at_d, bytes_d) = (seen[n] for n in CHECKPOINTS)

    # the call objects themselves: none of a finished call survives it
    for kind in (Call, CallContext):
        counts = [seen[n][0][kind.__qualname__] for n in CHECKPOINTS]
        assert max(counts) <= 1, f"live {kind.__qualname__} objects after calls {CHECKPOINTS}: {counts}"

    # no kind of object grows with the number of calls (in both later stretches)
    early, late, later = at_b - at_a, at_c - at_b, at_d - at_c
    growing = {k: (early[k], v, later[k]) for k, v in late.items()
               if min(v, later[k]) > OBJECT_SLACK}
    assert not growing, f"objects added over calls {CHECKPOINTS}: {growing}"
    totals = [sum(at.values()) for at in (at_b, at_c, at_d)]
    total_late = min(totals[1] - totals[0], totals[2] - totals[1])
    assert total_late <= OBJECT_SLACK, f"{total_late} more live objects after each 30 more calls"

    # the Python heap (numpy buffers included), traced from call TRACE_FROM: over each
    # later 30 calls it grows no more than over the 15 before (numpy's and sqlite3's small
    # caches still fill a little) plus one slack; a leak of B bytes a call would add 30 B
    # against 15 B in both, so anything above ~4 KiB a call fails
    early_bytes = bytes_b - bytes_a
    late_bytes = min(bytes_c - bytes_b, bytes_d - bytes_c)
    assert late_bytes <= max(early_bytes, 0) + 64 * 1024, (
        f"traced Python memory: {early_bytes / 1024:+.0f} KiB over calls {CHECKPOINTS[0]}->"
        f"{CHECKPOINTS[1]}, then {(bytes_c - bytes_b) / 1024:+.0f} and "
        f"{(bytes_d - bytes_c) / 1024:+.0f} KiB over the next two stretches of 30")
