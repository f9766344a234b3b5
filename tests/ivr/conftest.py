"""Engine fixtures: a Box on a temp data dir with the shipped default config, and a
helper that places one simulated call (keys as DTMF audio) at a chosen wall time."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource, simulated_call
from firmware.dsp.callerid import CallerIdInfo
from firmware.line.sim import SimCaller

TAIPEI = dt.timezone(dt.timedelta(hours=8))
OPEN = dt.datetime(2026, 11, 24, 10, 0, tzinfo=TAIPEI)  # a Tuesday morning
CLOSED = dt.datetime(2026, 11, 24, 20, 0, tzinfo=TAIPEI)


class Phone:
    """Places calls into one Box and keeps the transcript of the last one."""

    def __init__(self, box: Box):
        self.box = box
        self.events: list[tuple[str, dict[str, Any]]] = []

    def call(self, script: str, *, number: str | None = None, parties: dict | None = None,
             when: dt.datetime = OPEN) -> tuple[Any, SimCaller]:
        self.events = []
        self.box.services.now_ms = lambda: int(when.timestamp() * 1000)
        caller = SimCaller(script, caller_id=CallerIdInfo(number=number) if number else None)
        summary = asyncio.run(simulated_call(
            self.box, caller, parties=parties,
            on_event=lambda kind, detail: self.events.append((kind, detail))))
        return summary, caller

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]

    def first(self, kind: str) -> dict[str, Any]:
        return next(d for k, d in self.events if k == kind)


@pytest.fixture
def phone(tmp_path: Path) -> Phone:
    box = Box(tmp_path / "data", ConfigSource(tmp_path / "data" / "config" / "current.yaml",
                                               fallback=DEFAULT_CONFIG))
    yield Phone(box)
    box.close()
