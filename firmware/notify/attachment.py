"""A voicemail recording made ready to attach to an e-mail, in the format the owner chose.

WAV plays everywhere but is 960 kB a minute at 8 kHz; MP3 (16 kbit/s, 1/8 of that, plays
on every phone) and Opus in Ogg (12 kbit/s, 1/11, best for speech, not on older
iPhones) keep a mailbox on a phone small. Both come from libsndfile through soundfile when the
libsndfile on the box was built with them (the soundfile wheels are; an old system
libsndfile may not be): `available_formats()` tries each once, and a format the box
cannot write falls back to WAV with the reason, so a message is never lost for it.

Encoding takes CPU seconds for a long message (a laptop core: ~0.3 s a minute of message
for MP3, ~1.2 s for Opus; `bench/attachment_bench.py`), several times that on a Pi: call
`encode_recording` in a worker thread (libsndfile runs without the GIL), never on the
call loop.

API:
    FORMATS                                  "wav", "mp3", "opus"
    available_formats() -> tuple[str, ...]   what this box can write (WAV always)
    encode_recording(wav_path, fmt) -> Attachment
                                             raises OSError/AudioFormatError if unreadable
    Attachment(data, subtype, extension, fmt, fallback_reason)
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

RATE = 8000
# format name -> (libsndfile major format, subtype, file extension, audio/<subtype>, options)
_CODECS: dict[str, tuple[str, str, str, str, dict[str, Any]]] = {
    "wav": ("WAV", "PCM_16", "wav", "wav", {}),
    # LAME at a constant 16 kbit/s (0.9 on libsndfile's scale); its default VBR spends ~31
    "mp3": ("MP3", "MPEG_LAYER_III", "mp3", "mpeg", {"bitrate_mode": "CONSTANT",
                                                     "compression_level": 0.9}),
    # libsndfile maps 0..1 onto 256..6 kbit/s for Opus: 0.976 is ~12 kbit/s, clear speech
    "opus": ("OGG", "OPUS", "opus", "ogg", {"compression_level": 0.976}),
}
FORMATS = tuple(_CODECS)


@dataclass(frozen=True)
class Attachment:
    data: bytes
    subtype: str  # MIME audio/<subtype>
    extension: str
    fmt: str  # the format written (WAV when the chosen one is not available)
    fallback_reason: str | None = None


def _write(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    major, subtype, _, _, options = _CODECS[fmt]
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=major, subtype=subtype, **options)
    return buffer.getvalue()


@functools.cache
def available_formats() -> tuple[str, ...]:
    """Formats whose encoder works here: a tenth of a second is written and read back."""
    probe = np.zeros(RATE // 10, dtype=np.int16)
    found = []
    for fmt in FORMATS:
        try:
            data = _write(probe, RATE, fmt)
            soundfile.info(io.BytesIO(data))
        except (soundfile.LibsndfileError, ValueError, TypeError, RuntimeError):
            continue
        found.append(fmt)
    return tuple(found)


def encode_recording(wav_path: Path | str, fmt: str) -> Attachment:
    """The file as `fmt`; WAV is sent as it is on disk (no re-encoding, nothing lost)."""
    path = Path(wav_path)
    reason = None
    if fmt not in FORMATS:
        reason = f"unknown format {fmt!r}"
    elif fmt not in available_formats():
        reason = f"{fmt.upper()} cannot be written on this box (libsndfile without it)"
    if reason is not None or fmt == "wav":
        return _as_wav(path, reason)
    try:
        samples, rate = soundfile.read(path, dtype="int16", always_2d=False)
        data = _write(samples, rate, fmt)
    except soundfile.LibsndfileError as exc:  # the WAV as it is beats no recording at all
        return _as_wav(path, f"it could not be converted to {fmt.upper()}: {exc}")
    _, _, extension, subtype, _ = _CODECS[fmt]
    return Attachment(data, subtype, extension, fmt)


def _as_wav(path: Path, reason: str | None) -> Attachment:
    _, _, extension, subtype, _ = _CODECS["wav"]
    return Attachment(path.read_bytes(), subtype, extension, "wav", reason)
