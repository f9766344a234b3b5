"""Engine fixtures: a Box on a temp data dir, and a Phone that places simulated calls.

`phone` runs the shipped default config; `make_phone(overrides)` runs
tests/ivr/flows/base.yaml (a small English-first flow reaching every node type) with
parts replaced. Every call is a SimCaller on a SimLine driven by the real Engine: keys
are DTMF audio through the detector, time is the line's sample clock.

Text-to-speech is slow next to a simulated call, so one Prompts object (with its disk
cache kept in pytest's cache dir between runs) serves the whole session; it records
which texts were rendered in which language, so tests can ask what a caller was told.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource, find_audio_dir
from firmware.dsp.callerid import CallerIdInfo
from firmware.dsp.tones import sine_mix
from firmware.ivr.engine import CallSummary
from firmware.ivr.prompts import Audio, Prompts, TextToSpeech
from firmware.line.sim import SimCaller, SimLine, SimParty
from firmware.settings import load

TAIPEI = dt.timezone(dt.timedelta(hours=8))
OPEN = dt.datetime(2026, 11, 24, 10, 0, tzinfo=TAIPEI)  # a Tuesday morning
CLOSED = dt.datetime(2026, 11, 24, 20, 0, tzinfo=TAIPEI)
LUNCH = dt.datetime(2026, 11, 24, 12, 30, tzinfo=TAIPEI)
HOLIDAY = dt.datetime(2026, 10, 10, 10, 0, tzinfo=TAIPEI)  # National Day (annual)
BASE_FLOW = Path(__file__).parent / "flows" / "base.yaml"
UNKNOWN = "0223456789"  # no rule matches: "unknown" class
KNOWN = "202"  # a configured person's number: "known"
DELETE = object()  # in config overrides: remove this key


class SpyPrompts(Prompts):
    """Prompts that remember every text rendered, with its language."""

    def __init__(self, tts: TextToSpeech, vocabulary_dir: Path):
        super().__init__(tts, vocabulary_dir)
        self.tts = tts
        self.rendered: list[tuple[str, str]] = []
        self.spoken_words: list[tuple[str, str]] = []
        self.files: list[Path] = []

    def render(self, text: str, language: str, file: Path | None = None) -> Audio:
        self.rendered.append((text, language))
        if file is not None:
            self.files.append(Path(file))
        return super().render(text, language, file)

    def words(self, ids: list[str], language: str) -> Audio:
        self.spoken_words += [(i, language) for i in ids]
        return super().words(ids, language)


def voice(seconds: float, level_db: float = -18.0) -> np.ndarray:
    """A voice-like signal: a few harmonics, loud enough not to count as silence."""
    return sine_mix([180, 360, 540, 900], seconds * 1000,
                    [level_db, level_db - 4, level_db - 8, level_db - 12])


class Phone:
    """Places calls into one Box and keeps the transcript of the last one."""

    def __init__(self, box: Box, prompts: SpyPrompts):
        self.box = box
        self.prompts = prompts
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.line: SimLine | None = None
        self.dialled: list[str] = []
        box.prompts = prompts
        box.services.prompts = prompts

    def speech(self, text: str, language: str = "en") -> np.ndarray:
        """Real speech (espeak-ng, cached) for a caller or a person to say."""
        return self.prompts.tts.speak(text, language)

    @property
    def store(self):
        return self.box.store

    def call(self, script: Any, *, number: str | None = None, parties: dict | None = None,
             when: dt.datetime = OPEN, setup: Callable[[SimLine], None] | None = None,
             three_way_transfer: bool | None = None, name: str | None = None,
             caller: SimCaller | None = None) -> tuple[CallSummary, SimCaller]:
        self.events = []
        self.dialled = []
        self.prompts.rendered.clear()
        self.prompts.spoken_words.clear()
        self.prompts.files.clear()
        self.box.services.now_ms = lambda: int(when.timestamp() * 1000)
        self.box.store.db.now_ms = self.box.services.now_ms  # messages, lockouts
        if caller is None:
            cid = CallerIdInfo(number=number, name=name) if (number or name) else None
            caller = SimCaller(script, caller_id=cid)
        summary = asyncio.run(self._run(caller, parties or {}, setup, three_way_transfer))
        return summary, caller

    async def _run(self, caller: SimCaller, parties: dict[str, SimParty],
                   setup: Callable[[SimLine], None] | None,
                   three_way: bool | None) -> CallSummary:
        settings = self.box.config.current()
        if three_way is None:
            three_way = settings.line.transfer == "transfer"
        line = SimLine(country=settings.business.country, parties=parties,
                       three_way_transfer=three_way)
        self.line = line
        dial = line.dial

        async def recording_dial(digits: str) -> None:
            self.dialled.append(digits)
            await dial(digits)

        line.dial = recording_dial  # type: ignore[method-assign]
        engine = self.box.engine(line, on_event=lambda k, d: self.events.append((k, d)),
                                 ring_gap_s=30.0)
        await line.open()
        try:
            if setup is not None:
                setup(line)
            line.incoming(caller)
            summary = await engine.handle_call()
        finally:
            await line.close()
        assert summary is not None
        return summary

    # -- the transcript ------------------------------------------------------------------
    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for k, d in self.events if k == kind]

    def first(self, kind: str) -> dict[str, Any]:
        found = self.of(kind)
        assert found, f"no {kind!r} event in {self.kinds()}"
        return found[0]

    def prompts_played(self) -> list[str]:
        """The configured prompts heard (the `prompt` events the call log keeps too)."""
        return [d["prompt"] for d in self.of("prompt") if "prompt" in d]

    def phrases_played(self) -> list[str]:
        """The built-in sentences heard (transcript-only `prompt` events)."""
        return [d["phrase"] for d in self.of("prompt") if "phrase" in d]

    def texts(self, language: str | None = None) -> list[str]:
        return [t for t, lang in self.prompts.rendered if language in (None, lang)]

    def publish(self, overrides: dict[str, Any]) -> None:
        """Write a new config file (as the web page publishes one)."""
        write_config(self.box.config.path, overrides)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `overrides` into a copy of `base`; the value DELETE removes a key."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write_config(path: Path, overrides: dict[str, Any]) -> None:
    doc = merge(yaml.safe_load(BASE_FLOW.read_text(encoding="utf-8")), overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tmp.replace(path)


@pytest.fixture(scope="session")
def session_prompts(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> SpyPrompts:
    store = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    cache = Path(store.mkdir("ivrbox-tts")) if store else tmp_path_factory.mktemp("tts")
    return SpyPrompts(TextToSpeech(cache), find_audio_dir())


@pytest.fixture
def phone(tmp_path: Path, session_prompts: SpyPrompts) -> Phone:
    box = Box(tmp_path / "data", ConfigSource(tmp_path / "data" / "config" / "current.yaml",
                                               fallback=DEFAULT_CONFIG))
    yield Phone(box, session_prompts)
    box.close()


@pytest.fixture
def make_phone(tmp_path: Path, session_prompts: SpyPrompts):
    boxes: list[Box] = []

    def make(overrides: dict[str, Any] | None = None) -> Phone:
        data = tmp_path / f"data{len(boxes)}"
        path = data / "config" / "current.yaml"
        write_config(path, overrides or {})
        load(path)  # a broken test config fails here, with every problem listed
        box = Box(data, ConfigSource(path, fallback=None))
        boxes.append(box)
        return Phone(box, session_prompts)

    yield make
    for box in boxes:
        box.close()
