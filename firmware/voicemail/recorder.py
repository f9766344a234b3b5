"""Crash-safe WAV recording (8 kHz, 16-bit, mono): a power cut loses at most ~1 s of a message.

API index:
    WavRecorder(path, meta=None, flush_samples=FLUSH_SAMPLES)
      .write(frame)                append int16 samples (any length; calls send 160)
      .samples / .duration_ms      recorded so far (including samples not yet on disk)
      .flush()                     force everything written so far onto the disk
      .finish(trim_end_samples=0) -> Recording    trim the tail, finalise, rename
      .abort()                     throw the recording away
    Recording(path, samples, meta)  a finished file; .duration_ms; .settle() once it is in
                                    the db (removes its "not yet listed" marker)
    recover(directory) -> list[Recording]   at start-up: recordings a crash cut short
    wav_header(data_bytes) -> bytes          the 44-byte PCM header
    read_wav_samples(path) -> int16 array    for tests and the web player

How it survives a crash: while recording, audio goes to `<name>.wav.part`, which starts
with a complete header; every `flush_samples` samples (1 s of audio, counted in samples,
not wall time) the buffered audio is appended, the header's sizes are rewritten and the
file is fsynced. A sidecar `<name>.wav.json` (written atomically before the first sample)
holds the caller's metadata (mailbox, caller ID) and marks the recording as "not yet in
the database"; it is removed by `Recording.settle()` after the message row is committed.
`recover()` fixes the header of every `.part` from its real length, renames it, and returns
it together with finished recordings whose marker is still there, so nothing is lost
between the file and the row.

The file I/O is synchronous and small (16 kB per flush); the caller may run `write` in a
thread if its disk is slow.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from firmware.errors import AudioFormatError, StoreError, UsageError
from firmware.store.files import atomic_write, fsync_dir

SAMPLE_RATE = 8000  # Hz
SAMPLE_BYTES = 2  # 16-bit
HEADER_BYTES = 44
FLUSH_SAMPLES = SAMPLE_RATE  # fsync every 1 s of audio: the most a crash may lose
PART_SUFFIX = ".part"
MARKER_SUFFIX = ".json"


def wav_header(data_bytes: int) -> bytes:
    """A canonical 44-byte RIFF/WAVE header for 8 kHz 16-bit mono PCM."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE",
        b"fmt ", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * SAMPLE_BYTES, SAMPLE_BYTES, 16,
        b"data", data_bytes,
    )


def read_wav_samples(path: Path | str) -> npt.NDArray[np.int16]:
    """Samples of a WAV file this module wrote (checks the header agrees with the file)."""
    raw = Path(path).read_bytes()
    if len(raw) < HEADER_BYTES or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise AudioFormatError(f"{path} is not a WAV file")
    (data_bytes,) = struct.unpack_from("<I", raw, 40)
    if raw[:HEADER_BYTES] != wav_header(data_bytes) or len(raw) != HEADER_BYTES + data_bytes:
        raise AudioFormatError(f"{path}: header does not match the file (unfinished recording?)")
    return np.frombuffer(raw, dtype="<i2", offset=HEADER_BYTES).astype(np.int16)


def _marker_of(wav: Path) -> Path:
    return wav.with_name(wav.name + MARKER_SUFFIX)


@dataclass(frozen=True)
class Recording:
    path: Path
    samples: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_ms(self) -> int:
        return self.samples * 1000 // SAMPLE_RATE

    def settle(self) -> None:
        """The recording is now listed in the db: drop the marker that made recover() see it."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_marker_of(self.path))
        fsync_dir(self.path.parent)

    def discard(self) -> None:
        """Remove the file and its marker (a message too short to keep)."""
        for p in (self.path, _marker_of(self.path)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
        fsync_dir(self.path.parent)


class WavRecorder:
    """Records one message. Not thread-safe; one recorder per call."""

    def __init__(self, path: Path | str, meta: dict[str, Any] | None = None,
                 flush_samples: int = FLUSH_SAMPLES):
        self.path = Path(path)
        if self.path.suffix.lower() != ".wav":
            raise UsageError(f"recording name must end in .wav: {self.path.name}")
        if flush_samples < 1:
            raise UsageError("flush_samples must be at least 1")
        self.part_path = self.path.with_name(self.path.name + PART_SUFFIX)
        self.meta = dict(meta or {})
        self.flush_samples = flush_samples
        self._buffer = bytearray()
        self._on_disk = 0  # samples
        self._closed = False
        try:
            atomic_write(_marker_of(self.path), json.dumps(self.meta, sort_keys=True))
            self._f: BinaryIO = open(self.part_path, "xb")  # noqa: SIM115 - kept open
            self._f.write(wav_header(0))
            self._f.flush()
            os.fsync(self._f.fileno())
            fsync_dir(self.path.parent)
        except FileExistsError as exc:
            raise StoreError(f"a recording named {self.part_path} already exists") from exc
        except OSError as exc:
            raise StoreError(f"cannot start recording {self.path}: {exc.strerror or exc}") from exc

    @property
    def samples(self) -> int:
        return self._on_disk + len(self._buffer) // SAMPLE_BYTES

    @property
    def duration_ms(self) -> int:
        return self.samples * 1000 // SAMPLE_RATE

    def write(self, frame: npt.ArrayLike) -> None:
        if self._closed:
            raise UsageError("recording already finished")
        samples = np.asarray(frame)
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise UsageError(f"recorder takes 1-D int16 samples, got {samples.dtype} {samples.shape}")
        self._buffer += samples.astype("<i2", copy=False).tobytes()
        if len(self._buffer) >= self.flush_samples * SAMPLE_BYTES:
            self.flush()

    def flush(self) -> None:
        """Append the buffer, rewrite the header's sizes, fsync: all so far is now safe."""
        if self._closed:
            return
        try:
            self._f.seek(0, os.SEEK_END)
            self._f.write(self._buffer)
            self._on_disk += len(self._buffer) // SAMPLE_BYTES
            self._buffer.clear()
            self._write_header()
        except OSError as exc:
            raise StoreError(f"cannot write recording {self.part_path}: {exc.strerror or exc}") from exc

    def _write_header(self) -> None:
        self._f.seek(0)
        self._f.write(wav_header(self._on_disk * SAMPLE_BYTES))
        self._f.flush()
        os.fsync(self._f.fileno())

    def finish(self, trim_end_samples: int = 0) -> Recording:
        """Drop the last `trim_end_samples` (the exchange's tone after a hang-up), write the
        final header, and give the file its real name."""
        if trim_end_samples < 0:
            raise UsageError("trim_end_samples must be >= 0")
        self.flush()
        keep = max(0, self._on_disk - trim_end_samples)
        try:
            if keep != self._on_disk:
                self._f.truncate(HEADER_BYTES + keep * SAMPLE_BYTES)
                self._on_disk = keep
            self._write_header()
            self._f.close()
            self._closed = True
            os.replace(self.part_path, self.path)
            fsync_dir(self.path.parent)
        except OSError as exc:
            raise StoreError(f"cannot finish recording {self.path}: {exc.strerror or exc}") from exc
        return Recording(self.path, keep, self.meta)

    def abort(self) -> None:
        if not self._closed:
            self._f.close()
            self._closed = True
        for p in (self.part_path, _marker_of(self.path)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
        fsync_dir(self.path.parent)


def _read_marker(wav: Path) -> dict[str, Any]:
    try:
        meta = json.loads(_marker_of(wav).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _repair(part: Path) -> Recording | None:
    """Fix a cut-short `.part`'s header from its real length and rename it; None if empty."""
    wav = part.with_name(part.name[: -len(PART_SUFFIX)])
    size = part.stat().st_size
    samples = max(0, size - HEADER_BYTES) // SAMPLE_BYTES
    if samples == 0:
        for p in (part, _marker_of(wav)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
        return None
    with open(part, "r+b") as f:
        f.truncate(HEADER_BYTES + samples * SAMPLE_BYTES)
        f.seek(0)
        f.write(wav_header(samples * SAMPLE_BYTES))
        f.flush()
        os.fsync(f.fileno())
    if wav.exists():  # should not happen; never overwrite a finished message
        taken = wav
        wav = wav.with_name(f"{wav.stem}-recovered{wav.suffix}")
        atomic_write(_marker_of(wav), json.dumps(_read_marker(taken), sort_keys=True))
    os.replace(part, wav)
    fsync_dir(wav.parent)
    return Recording(wav, samples, _read_marker(wav))


def recover(directory: Path | str) -> list[Recording]:
    """Recordings under `directory` (recursively) not yet in the db, repaired; oldest first.

    Call once at start-up, before any new recording starts.
    """
    root = Path(directory)
    if not root.is_dir():
        return []
    found: list[Recording] = []
    try:
        for part in sorted(root.rglob(f"*.wav{PART_SUFFIX}")):
            rec = _repair(part)
            if rec is not None:
                found.append(rec)
        seen = {r.path for r in found}
        for marker in sorted(root.rglob(f"*.wav{MARKER_SUFFIX}")):
            wav = marker.with_name(marker.name[: -len(MARKER_SUFFIX)])
            if wav in seen:
                continue
            if not wav.exists():
                marker.unlink()
                continue
            try:
                samples = len(read_wav_samples(wav))
            except AudioFormatError:
                continue
            found.append(Recording(wav, samples, _read_marker(wav)))
    except OSError as exc:
        raise StoreError(f"cannot recover recordings in {root}: {exc.strerror or exc}") from exc
    found.sort(key=lambda r: (r.meta.get("received_ms", 0), str(r.path)))
    return found
