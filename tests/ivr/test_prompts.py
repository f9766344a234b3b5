"""Prompt resolution and its memory cache: owner's file before text, a changed file heard
at once, a byte-bounded cache, read-out words from the shipped vocabulary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware.appliance import find_audio_dir
from firmware.dsp.audiofile import write_wav
from firmware.dsp.tones import sine_mix
from firmware.ivr.prompts import Prompts, TextToSpeech


class CountingTts(TextToSpeech):
    """Text-to-speech stand-in: a tone whose length follows the text; counts calls."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent"))
        self.spoken: list[str] = []

    def speak(self, text: str, language: str) -> np.ndarray:
        self.spoken.append(text)
        return sine_mix([440], 100 * len(text), -12)


def test_owner_file_wins_and_a_new_upload_is_heard_at_once(tmp_path) -> None:
    tts = CountingTts()
    prompts = Prompts(tts, find_audio_dir())
    file = tmp_path / "greeting.wav"
    write_wav(file, np.full(800, 1000, dtype=np.int16))
    first = prompts.render("Hello", "en", file)
    assert len(first) == 800 and tts.spoken == []
    write_wav(file, np.full(1600, 2000, dtype=np.int16))
    import os
    os.utime(file, ns=(os.stat(file).st_atime_ns, os.stat(file).st_mtime_ns + 10**9))
    assert len(prompts.render("Hello", "en", file)) == 1600
    file.unlink()
    assert len(prompts.render("Hello", "en", file)) == 100 * 5 * 8  # back to the text
    assert tts.spoken == ["Hello"]


def test_memory_cache_is_bounded_by_bytes_and_arrays_are_read_only(tmp_path) -> None:
    tts = CountingTts()
    prompts = Prompts(tts, find_audio_dir(), memory_bytes=200_000)
    for i in range(40):
        audio = prompts.render(f"prompt number {i:02d}", "en")  # 1.6 s = 25.6 kB each
        assert not audio.flags.writeable
    assert prompts.cached_bytes <= 200_000
    spoken = len(tts.spoken)
    prompts.render("prompt number 39", "en")  # the newest stays cached
    assert len(tts.spoken) == spoken
    prompts.render("prompt number 00", "en")  # the oldest was dropped
    assert len(tts.spoken) == spoken + 1


def test_words_come_from_the_shipped_vocabulary() -> None:
    tts = CountingTts()
    prompts = Prompts(tts, find_audio_dir())
    audio = prompts.words(["you-have", "num-3", "new-messages"], "zh-TW")
    assert len(audio) > 8000 and tts.spoken == []
    assert prompts.word("num-3", "zh-TW") is prompts.word("num-3", "zh-TW")
