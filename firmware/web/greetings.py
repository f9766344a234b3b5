"""Turning an owner's upload, browser recording or typed text into a prompt recording.

API:
    Limits(max_bytes, max_seconds)
    receive(upload, dest_dir, limits) -> Path     copy an upload to disk, refusing it past
                                                  `max_bytes` (raises UploadRejected)
    prepare(path, limits) -> int16                decode any format, check the length,
                                                  trim silence, normalise loudness
    Previews(greetings_dir)
        .put(audio, text=None) -> token           a preview the owner listens to first
        .path(token) -> Path / .text(token) -> str | None
        .take(token, final_name) -> Path          the preview becomes the saved greeting
        .drop(token)

A rejected file gets an `UploadRejected` whose message says why (too big, too long, not
audio ivrbox can read, silent). Previews live in `greetings/previews/` under random
tokens, so the owner's page can only ever name a preview it was given.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from firmware.dsp.audiofile import probe, read_audio, write_wav
from firmware.dsp.loudness import normalise, trim_silence
from firmware.errors import AudioFormatError, UploadRejected

CHUNK_BYTES = 256 * 1024
MIN_SPEECH_S = 0.3  # shorter than this after trimming: nothing was said
RATE = 8000
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_seconds: float


async def receive(upload: Any, dest_dir: Path, limits: Limits) -> Path:
    """Stream an UploadFile to a temp file in `dest_dir`, at most `max_bytes`."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".bin", dir=dest_dir)
    total = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(CHUNK_BYTES):
                total += len(chunk)
                if total > limits.max_bytes:
                    raise UploadRejected(
                        f"the file is larger than {limits.max_bytes // (1024 * 1024)} MB")
                out.write(chunk)
        if total == 0:
            raise UploadRejected("the file is empty")
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def prepare(path: Path, limits: Limits) -> npt.NDArray[np.int16]:
    """8 kHz mono, trimmed and normalised; UploadRejected with the reason otherwise."""
    try:
        info = probe(path)
    except AudioFormatError as exc:
        raise UploadRejected(f"this is not an audio file ivrbox can read ({_short(exc)})") from None
    if info.duration_s > limits.max_seconds:
        raise UploadRejected(f"the recording is {info.duration_s / 60:.1f} minutes long; "
                             f"at most {limits.max_seconds / 60:.0f} minutes are allowed")
    try:
        audio = read_audio(path)
    except AudioFormatError as exc:
        raise UploadRejected(f"this is not an audio file ivrbox can read ({_short(exc)})") from None
    if len(audio) / RATE > limits.max_seconds:
        raise UploadRejected(f"the recording is longer than {limits.max_seconds / 60:.0f} minutes")
    trimmed = trim_silence(audio)
    if len(trimmed) < MIN_SPEECH_S * RATE:
        raise UploadRejected("the recording is silent (nothing louder than background noise)")
    return normalise(trimmed)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[-1][:200]


class Previews:
    def __init__(self, greetings_dir: Path):
        self.dir = Path(greetings_dir) / "previews"

    def put(self, audio: npt.NDArray[np.int16], text: str | None = None) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        write_wav(self.dir / f"{token}.wav", audio)
        if text is not None:
            (self.dir / f"{token}.txt").write_text(text, encoding="utf-8")
        return token

    def _checked(self, token: str) -> str:
        if not _TOKEN.match(token or ""):
            raise UploadRejected("that preview does not exist (it may have been saved already)")
        return token

    def path(self, token: str) -> Path:
        path = self.dir / f"{self._checked(token)}.wav"
        if not path.is_file():
            raise UploadRejected("that preview does not exist (it may have been saved already)")
        return path

    def text(self, token: str) -> str | None:
        path = self.dir / f"{self._checked(token)}.txt"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def take(self, token: str, final: Path) -> Path:
        source = self.path(token)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, final)
        (self.dir / f"{token}.txt").unlink(missing_ok=True)
        return final

    def drop(self, token: str) -> None:
        self._checked(token)
        for suffix in (".wav", ".txt"):
            (self.dir / f"{token}{suffix}").unlink(missing_ok=True)
