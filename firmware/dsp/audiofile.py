"""Audio files in and out: anything people upload becomes 8 kHz mono int16.

API:
    read_audio(path) -> int16 ndarray       8 kHz mono, whatever the file's format
    write_wav(path, samples, rate=8000)     16-bit PCM WAV
    probe(path) -> AudioInfo                duration, rate, channels, format; no decoding
    AudioInfo(duration_s, rate, channels, format)

libsndfile (through soundfile) reads WAV, FLAC, OGG/Vorbis, Opus and, from version
1.1, MP3. What it cannot read (M4A/AAC, WMA, video files) is decoded by `ffmpeg` when
it is on PATH. Channels are averaged, the rate converted with soxr at high quality,
and the result rounded and clipped to int16. Every failure a person can cause (missing
file, not audio, no samples) raises `AudioFormatError` with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from firmware.errors import AudioFormatError

TARGET_RATE = 8000
RESAMPLE_QUALITY = "HQ"  # soxr: high quality, linear phase
FFMPEG_TIMEOUT_S = 120.0  # decoding a long upload on a Pi Zero


@dataclass(frozen=True)
class AudioInfo:
    duration_s: float
    rate: int
    channels: int
    format: str


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise AudioFormatError(f"{p}: no such file")
    if not p.is_file():
        raise AudioFormatError(f"{p}: not a file")
    if p.stat().st_size == 0:
        raise AudioFormatError(f"{p}: the file is empty")
    return p


def _reason(message: str) -> str:
    """A decoder's complaint without the file name it repeats ("x.wav: bad" -> "bad")."""
    return message.strip().rsplit(": ", 1)[-1].rstrip(".") or "unknown error"


def _no_decoder(p: Path, why: str) -> AudioFormatError:
    hint = "" if shutil.which("ffmpeg") else " (install ffmpeg to read M4A/AAC and similar)"
    return AudioFormatError(f"{p}: not an audio file ivrbox can read: {why}{hint}")


def _ffmpeg_to_wav(p: Path, out: Path) -> str | None:
    """Decode with ffmpeg into a float WAV; None on success, else ffmpeg's complaint."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return "ffmpeg is not installed"
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(p), "-vn", "-map", "0:a:0",
           "-c:a", "pcm_f32le", "-f", "wav", str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "ffmpeg took too long"
    if done.returncode != 0 or not out.exists():
        lines = (done.stderr or "").strip().splitlines()
        return lines[-1] if lines else f"ffmpeg exited with {done.returncode}"
    return None


def _decode(p: Path) -> tuple[npt.NDArray[np.float64], int]:
    """(frames x channels float in [-1, 1], rate) by libsndfile, else by ffmpeg."""
    import soundfile

    try:
        data, rate = soundfile.read(str(p), dtype="float64", always_2d=True)
        return data, int(rate)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        sf_error = f"libsndfile: {_reason(str(exc))}"
    with tempfile.TemporaryDirectory(prefix="ivrbox-decode-") as tmp:
        out = Path(tmp) / "decoded.wav"
        ff_error = _ffmpeg_to_wav(p, out)
        if ff_error is not None:
            raise _no_decoder(p, f"{sf_error}; ffmpeg: {_reason(ff_error)}")
        data, rate = soundfile.read(str(out), dtype="float64", always_2d=True)
        return data, int(rate)


def read_audio(path: str | Path) -> npt.NDArray[np.int16]:
    """The file as 8 kHz mono int16 (channels averaged, soxr-resampled, clipped)."""
    p = _existing(path)
    data, rate = _decode(p)
    if data.size == 0 or rate <= 0:
        raise AudioFormatError(f"{p}: the file holds no audio samples")
    mono = data.mean(axis=1)
    if rate != TARGET_RATE:
        import soxr

        mono = soxr.resample(mono, rate, TARGET_RATE, quality=RESAMPLE_QUALITY)
    scaled = np.round(mono * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def write_wav(path: str | Path, samples: npt.ArrayLike, rate: int = TARGET_RATE) -> None:
    """16-bit PCM WAV, mono (or one column per channel for a 2-D array)."""
    import soundfile

    x = np.asarray(samples)
    if x.dtype != np.int16:
        x = np.clip(np.round(x.astype(np.float64)), -32768, 32767).astype(np.int16)
    if not Path(path).parent.is_dir():
        raise AudioFormatError(f"{path}: cannot write: no directory {Path(path).parent}")
    try:
        soundfile.write(str(path), x, rate, subtype="PCM_16", format="WAV")
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFormatError(f"{path}: cannot write: {_reason(str(exc))}") from None


def _ffprobe(p: Path) -> AudioInfo:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise _no_decoder(p, "libsndfile does not know the format")
    cmd = [ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
           "stream=sample_rate,channels,duration:format=duration,format_name", "-of", "json",
           str(p)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S)
        info = json.loads(done.stdout or "{}") if done.returncode == 0 else {}
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        info = {}
    streams = info.get("streams") or []
    if not streams:
        raise _no_decoder(p, "no audio stream found")
    stream, fmt = streams[0], info.get("format", {})
    duration = float(stream.get("duration") or fmt.get("duration") or 0.0)
    return AudioInfo(duration, int(stream.get("sample_rate") or 0),
                     int(stream.get("channels") or 0), str(fmt.get("format_name", "?")))


def probe(path: str | Path) -> AudioInfo:
    """Duration, rate and channels from the header, for validating an upload cheaply."""
    import soundfile

    p = _existing(path)
    try:
        info = soundfile.info(str(p))
        result = AudioInfo(float(info.frames) / info.samplerate, int(info.samplerate),
                           int(info.channels), str(info.format))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        result = _ffprobe(p)
    if result.duration_s <= 0.0 or result.rate <= 0 or result.channels <= 0:
        raise AudioFormatError(f"{p}: the file holds no audio samples")
    return result
