"""The far end of a line under test: what the line contract suite drives, per backend.

API:
    Rig                     protocol: the caller's side of one line backend (below)
    HANGUP_STYLES           "loop_drop", "reorder", "dial_tone"
    RIGS                    backend name -> "module:factory" of its rig
    rig_factory(name)       import a backend's `make_rig(country="us") -> Rig`
    importable_rigs()       names whose rig module imports (the contract suite runs these)
    missing_rigs()          {name: import error} for the others
    run(coro, timeout_s)    run one async test body on a fresh event loop (no plugin)

How a rig is used (the test plays the box, the rig plays the caller and the exchange)::

    rig = make_rig(country="us")
    await rig.start()                  # emulator threads, fake audio, mock pins...
    await rig.line.open()              # the box's side is the test's business
    far_end = asyncio.create_task(script(rig))   # rig.ring(...), rig.press(...), ...
    ... the box: line.next_event(), line.answer(), line.tx()/rx() per 20 ms step ...
    await rig.line.close(); assert not rig.is_off_hook
    await rig.aclose()

Every far-end step is counted in samples of *line* time (the clock `line.rx()`
advances), never in wall time: a step's coroutine returns when the line has carried
the whole step. So the box must keep stepping the line (rx/tx, or `next_event()` while
on-hook) while a step is awaited, exactly as a real call loop does.

Contract of each method:
  ring(count, caller_id, standard=None) -> bool
      Ring the line with the country's cadence, at most `count` rings; send caller ID
      as the backend would receive it (FSK/DTMF audio for sim and FXO, the modem's own
      `NMBR=` report for a modem), in the standard's place (between ring 1 and 2 for
      Bell 202; before ring 1 for ETSI/DTMF). `standard=None` picks the country's.
      Returns True as soon as the box goes off-hook (at the latest one ring period
      after ring `count`), False if it never did and the caller gave up.
  wait(ms)           the far end says nothing for `ms` of line time (it still listens).
  press(digits, on_ms, off_ms, dbm0)
      Keys as DTMF audio on the box's receive path. A half-duplex backend (a voice
      modem while it plays) reports them as `HardwareDtmf` events instead; the box
      must accept either (see `Line.full_duplex`).
  speak(samples)     8 kHz int16 audio as the caller's voice.
  hang_up(style)     the caller leaves. "loop_drop": loop current drops (the box sees
      `Hangup(cause=LOOP_DROP)` or a backend's equivalent); "reorder" / "dial_tone":
      no drop, the exchange plays that tone until the box hangs up (the box must
      detect it on rx audio, or the backend reports `Tone`/`Hangup`). A rig lists the
      styles it can produce in `hangup_styles`; returns once the caller is gone.
  heard() -> int16   everything the far end received from the box since answer,
      in line-time order (the prompt the box played, as the caller heard it).
  is_off_hook        the exchange's view of the box's hook switch (not the backend's
      own flag): the suite checks it is False after `line.close()`.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from firmware.dsp.callerid import CallerIdInfo
from firmware.line.base import Line

HANGUP_STYLES = ("loop_drop", "reorder", "dial_tone")

# Backend name -> "module:factory". Each module defines `make_rig(country="us") -> Rig`.
RIGS: dict[str, str] = {
    "sim": "tests.line.rig_sim:make_rig",
    "modem": "tests.line.rig_modem:make_rig",
    "fxo": "tests.line.rig_fxo:make_rig",
}

DEFAULT_TIMEOUT_S = 60.0

T = TypeVar("T")


@runtime_checkable
class Rig(Protocol):
    """The caller's side of one line backend (see the module docstring for semantics)."""

    line: Line
    country: str
    hangup_styles: tuple[str, ...]

    @property
    def is_off_hook(self) -> bool: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def ring(self, count: int, caller_id: CallerIdInfo | None = None,
                   standard: str | None = None) -> bool: ...

    async def wait(self, ms: float) -> None: ...

    async def press(self, digits: str, on_ms: float = 100.0, off_ms: float = 100.0,
                    dbm0: float = -10.0) -> None: ...

    async def speak(self, samples: npt.NDArray[np.int16]) -> None: ...

    async def hang_up(self, style: str = "loop_drop") -> None: ...

    def heard(self) -> npt.NDArray[np.int16]: ...


def rig_factory(name: str) -> Callable[..., Rig]:
    """The `make_rig` of backend `name`; raises ImportError if its module is missing."""
    module_name, _, attr = RIGS[name].partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _try(name: str) -> ImportError | None:
    try:
        rig_factory(name)
    except ImportError as exc:
        return exc
    return None


def importable_rigs() -> list[str]:
    return [name for name in RIGS if _try(name) is None]


def missing_rigs() -> dict[str, str]:
    return {name: str(err) for name in RIGS if (err := _try(name)) is not None}


def run(coro_fn: Callable[[], Awaitable[T]], timeout_s: float = DEFAULT_TIMEOUT_S) -> T:
    """Run an async test body with a wall-clock safety net (a hung backend fails, not
    hangs, the suite); the body itself counts time in samples."""

    async def guarded() -> T:
        return await asyncio.wait_for(coro_fn(), timeout_s)

    return asyncio.run(guarded())
