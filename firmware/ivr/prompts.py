"""Prompt audio: an owner's recording if there is one, else the text spoken by espeak-ng.

API:
    VOICES                                   language -> espeak-ng voice
    TextToSpeech(cache_dir, espeak="espeak-ng")
        .speak(text, language) -> int16      cached on disk by (engine, voice, text)
    Prompts(tts, vocabulary_dir=AUDIO_DIR, memory_bytes=MEMORY_CACHE_BYTES)
        .render(text, language, file=None) -> int16    the prompt a caller hears
        .word(id, language) / .words(ids, language) -> int16   read-outs (audio/<lang>/)
        .beep() -> int16
        .cached_bytes                                  prompt audio held in memory
        .needs_speech(text, language, file=None) -> bool   render() would run espeak-ng
        .prepare(text, language)                       speak into the disk cache only
                                                       (thread-safe: for a worker thread)

Every prompt is 8 kHz int16, loudness-normalised and trimmed, and read-only once
cached, so the call path only ever slices shared arrays. Rendering is cached twice: on disk (text-to-speech costs a second on
a Pi Zero) and in memory (the same greeting plays on every call).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import numpy.typing as npt

from firmware.dsp.audiofile import read_audio, write_wav
from firmware.dsp.loudness import normalise, trim_silence
from firmware.dsp.tones import beep, silence
from firmware.errors import AudioFormatError, UsageError

Audio = npt.NDArray[np.int16]

AUDIO_DIR = Path(__file__).resolve().parents[2] / "audio"
VOICES = {"en": "en-us", "zh-TW": "cmn"}
SPEED_WPM = {"en": 160, "zh-TW": 150}
WORD_GAP_MS = 40  # between the words of a read-out
MEMORY_CACHE_BYTES = 16 * 1024 * 1024  # ~17 minutes of 8 kHz prompts kept in memory
TTS_TIMEOUT_S = 60


class TextToSpeech:
    def __init__(self, cache_dir: Path, espeak: str = "espeak-ng"):
        self._cache_dir = Path(cache_dir)
        self._espeak = espeak

    def available(self) -> bool:
        return shutil.which(self._espeak) is not None

    def _key(self, text: str, language: str) -> str:
        voice = VOICES[language]
        raw = f"espeak-ng|{voice}|{SPEED_WPM[language]}|{text}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]

    def speak(self, text: str, language: str) -> Audio:
        if language not in VOICES:
            raise UsageError(f"no voice for language '{language}' (have: {', '.join(VOICES)})")
        cached = self._cache_dir / f"{self._key(text, language)}.wav"
        if cached.exists():
            try:
                return read_audio(cached)
            except AudioFormatError:
                cached.unlink(missing_ok=True)  # a torn write from a power cut: redo it
        audio = self._synthesise(text, language)
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{threading.get_ident()}.tmp.wav")  # threads may race
        write_wav(tmp, audio)
        tmp.replace(cached)
        return audio

    def is_cached(self, text: str, language: str) -> bool:
        return (self._cache_dir / f"{self._key(text, language)}.wav").exists()

    def _synthesise(self, text: str, language: str) -> Audio:
        if not self.available():
            raise AudioFormatError(
                f"text-to-speech needs '{self._espeak}' (apt-get install espeak-ng)"
            )
        with tempfile.TemporaryDirectory(prefix="ivrbox-tts-") as tmp:
            out = Path(tmp) / "speech.wav"
            result = subprocess.run(
                [self._espeak, "-v", VOICES[language], "-s", str(SPEED_WPM[language]),
                 "--stdin", "-w", str(out)],
                input=text.encode("utf-8"), capture_output=True, timeout=TTS_TIMEOUT_S,
            )
            if result.returncode != 0 or not out.exists():
                raise AudioFormatError(f"espeak-ng failed: {result.stderr.decode(errors='replace').strip()}")
            audio = read_audio(out)
        return normalise(trim_silence(audio))


class Prompts:
    """Prompt audio for calls. The memory cache is bounded by bytes, not entries, so a
    config with a few long greetings and one with many short prompts both fit; an
    owner's file is keyed by its mtime, so an upload or a greeting recorded by phone is
    heard on the next call (the stale entry ages out). Read-out words, a fixed set of
    about a hundred short files per language, are cached apart and never evicted."""

    def __init__(self, tts: TextToSpeech, vocabulary_dir: Path = AUDIO_DIR,
                 memory_bytes: int = MEMORY_CACHE_BYTES):
        self._tts = tts
        self._vocabulary_dir = Path(vocabulary_dir)
        self._memory: OrderedDict[tuple[str, str, str], Audio] = OrderedDict()
        self._memory_bytes = memory_bytes
        self._held = 0
        self._words: dict[tuple[str, str], Audio] = {}

    @property
    def cached_bytes(self) -> int:
        return self._held

    def _remember(self, key: tuple[str, str, str], audio: Audio) -> Audio:
        audio.setflags(write=False)  # shared by every call that plays it
        old = self._memory.pop(key, None)
        if old is not None:
            self._held -= old.nbytes
        self._memory[key] = audio
        self._held += audio.nbytes
        while self._held > self._memory_bytes and len(self._memory) > 1:
            _, dropped = self._memory.popitem(last=False)
            self._held -= dropped.nbytes
        return audio

    def render(self, text: str, language: str, file: Path | None = None) -> Audio:
        """The owner's file when it exists and reads, else the text spoken."""
        stamp = ""
        if file is not None and Path(file).exists():
            stamp = f"{file}:{Path(file).stat().st_mtime_ns}"
        key = (stamp or "tts", language, text)
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        if stamp:
            try:
                return self._remember(key, read_audio(Path(file)))  # type: ignore[arg-type]
            except AudioFormatError:
                pass  # a damaged upload must not silence the line: speak the text
        return self._remember(key, self._tts.speak(text, language))

    def needs_speech(self, text: str, language: str, file: Path | None = None) -> bool:
        """True when `render` would have to run text-to-speech (seconds on a Pi)."""
        if file is not None and Path(file).exists():
            return False
        return ("tts", language, text) not in self._memory and not self._tts.is_cached(text, language)

    def prepare(self, text: str, language: str) -> None:
        """Speak `text` into the disk cache (no memory cache: safe in a worker thread)."""
        self._tts.speak(text, language)

    def word(self, word_id: str, language: str) -> Audio:
        key = (language, word_id)
        cached = self._words.get(key)
        if cached is not None:
            return cached
        path = self._vocabulary_dir / language / f"{word_id}.wav"
        try:
            audio = read_audio(path)
        except AudioFormatError:  # not shipped (a development tree): speak its text
            from firmware.ivr.vocabulary import text_of

            audio = self._tts.speak(text_of(word_id, language), language)
        audio.setflags(write=False)
        self._words[key] = audio
        return audio

    def words(self, ids: list[str], language: str) -> Audio:
        gap = silence(WORD_GAP_MS)
        parts: list[Audio] = []
        for word_id in ids:
            parts += [self.word(word_id, language), gap]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    @staticmethod
    def beep() -> Audio:
        return beep()
