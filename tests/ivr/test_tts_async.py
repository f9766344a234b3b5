"""Text-to-speech off the call path (QA I3): on a cache miss espeak-ng runs in a worker
thread while the call keeps stepping, so the line (and every other line, and the web
page on the same loop) never freezes for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from firmware.appliance import find_audio_dir
from firmware.ivr.prompts import Audio, TextToSpeech
from firmware.line.base import ms_to_samples
from tests.ivr.conftest import KNOWN, SpyPrompts

SLOW_TEXT = "Main menu. Press one to nine."
WORKER_LIMIT_S = 3.0  # the worker gives up waiting after this much wall time


class SlowTts(TextToSpeech):
    """espeak-ng that, for one text, does not finish until the line has run 1 s on:
    only possible if the call keeps stepping while it synthesises."""

    def __init__(self, cache: Path, phone) -> None:
        super().__init__(cache)
        self.phone = phone
        self.advanced_ms: float | None = None

    def _synthesise(self, text: str, language: str) -> Audio:
        if text == SLOW_TEXT and threading.current_thread() is not threading.main_thread():
            start = self.phone.line.clock
            deadline = time.monotonic() + WORKER_LIMIT_S
            while self.phone.line.clock - start < ms_to_samples(1000) and time.monotonic() < deadline:
                time.sleep(0.002)
            self.advanced_ms = (self.phone.line.clock - start) / 8
        elif text == SLOW_TEXT:
            self.advanced_ms = 0.0  # synthesised on the event loop: the line stood still
        return super()._synthesise(text, language)


def test_a_tts_cache_miss_does_not_stop_the_line(make_phone, tmp_path: Path) -> None:
    phone = make_phone()
    tts = SlowTts(tmp_path / "cold-cache", phone)
    phone.prompts = phone.box.services.prompts = SpyPrompts(tts, find_audio_dir())
    summary, _ = phone.call("wait 3; press 66; wait 5", number=KNOWN)
    assert tts.advanced_ms is not None and tts.advanced_ms >= 1000
    assert "bye" in summary.path  # and the call went on normally once it was ready


def test_a_new_config_is_spoken_into_the_cache_once_off_the_call_path(make_phone,
                                                                     tmp_path: Path) -> None:
    import asyncio

    from firmware.line.sim import SimLine

    phone = make_phone()
    tts = TextToSpeech(tmp_path / "cold-cache")
    phone.box.services.prompts = SpyPrompts(tts, find_audio_dir())
    settings = phone.box.config.current()

    async def run() -> tuple[bool, bool]:
        engine = phone.box.engine(SimLine())
        task = engine.prerender(settings)
        assert task is not None
        await task
        return engine.prerender(settings) is None, True

    once, _ = asyncio.run(run())
    assert once  # the same settings object is not rendered twice
    for prompt in settings.prompts.values():
        for language in settings.business.languages:
            if prompt.text(language):
                assert tts.is_cached(prompt.text(language), language)
