"""Crash-safe WAV recorder: real crashes (SIGKILL of a recording process), then recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from firmware.errors import AudioFormatError, UsageError
from firmware.voicemail.recorder import (
    FLUSH_SAMPLES,
    HEADER_BYTES,
    WavRecorder,
    read_wav_samples,
    recover,
)

REPO = Path(__file__).resolve().parents[2]
FRAME = 160


def pattern(n: int, start: int = 0) -> np.ndarray:
    """Distinct, deterministic samples, so any lost or shifted byte shows."""
    i = np.arange(start, start + n, dtype=np.int64)
    return (((i * 7919) % 65536) - 32768).astype(np.int16)


def record(rec: WavRecorder, n_samples: int) -> None:
    for start in range(0, n_samples, FRAME):
        rec.write(pattern(min(FRAME, n_samples - start), start))


def test_finished_recording_is_a_standard_wav(tmp_path: Path) -> None:
    rec = WavRecorder(tmp_path / "m.wav", meta={"mailbox": "100"})
    record(rec, 3 * 8000 + 480)
    assert rec.samples == 24480 and rec.duration_ms == 3060
    done = rec.finish()
    assert done.path == tmp_path / "m.wav" and done.samples == 24480
    assert not (tmp_path / "m.wav.part").exists()
    with wave.open(str(done.path)) as w:  # independent readers agree
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()) == (8000, 2, 1, 24480)
    data, rate = sf.read(done.path, dtype="int16")
    assert rate == 8000 and np.array_equal(data, pattern(24480))
    assert np.array_equal(read_wav_samples(done.path), pattern(24480))
    # The marker stays until the message is in the db.
    assert json.loads((tmp_path / "m.wav.json").read_text()) == {"mailbox": "100"}
    done.settle()
    assert not (tmp_path / "m.wav.json").exists()


def test_finish_trims_the_tail(tmp_path: Path) -> None:
    rec = WavRecorder(tmp_path / "m.wav")
    record(rec, 20_000)
    done = rec.finish(trim_end_samples=4000)  # e.g. reorder tone after the hang-up
    assert done.samples == 16_000
    assert np.array_equal(read_wav_samples(done.path), pattern(16_000))
    rec2 = WavRecorder(tmp_path / "short.wav")
    record(rec2, 800)
    assert rec2.finish(trim_end_samples=5000).samples == 0
    assert read_wav_samples(tmp_path / "short.wav").size == 0


def test_flushes_every_second_of_audio_counted_in_samples(tmp_path: Path) -> None:
    rec = WavRecorder(tmp_path / "m.wav")
    part = tmp_path / "m.wav.part"
    record(rec, FLUSH_SAMPLES - FRAME)
    assert part.stat().st_size == HEADER_BYTES  # still buffered
    rec.write(pattern(FRAME, FLUSH_SAMPLES - FRAME))
    assert part.stat().st_size == HEADER_BYTES + 2 * FLUSH_SAMPLES
    # The on-disk header already describes what is on disk: a valid WAV at every flush.
    with wave.open(str(part)) as w:
        assert w.getnframes() == FLUSH_SAMPLES
    rec.abort()
    assert list(tmp_path.iterdir()) == []


def test_bad_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        WavRecorder(tmp_path / "m.mp3")
    rec = WavRecorder(tmp_path / "m.wav")
    with pytest.raises(UsageError):
        rec.write(np.zeros(160, dtype=np.float32))
    with pytest.raises(UsageError):
        rec.finish(trim_end_samples=-1)
    rec.finish()
    with pytest.raises(UsageError):
        rec.write(np.zeros(160, dtype=np.int16))
    (tmp_path / "junk.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(AudioFormatError):
        read_wav_samples(tmp_path / "junk.wav")


CHILD = """
import sys
import numpy as np
sys.path.insert(0, {repo!r})
from firmware.voicemail.recorder import WavRecorder
from tests.voicemail.test_recorder import pattern
rec = WavRecorder({path!r}, meta={{"mailbox": "100", "caller_number": "5551234"}})
n = {n}
for start in range(0, n, 160):
    rec.write(pattern(160, start))
print("recorded", rec.samples, flush=True)
sys.stdin.read()  # wait here, mid-message, until killed
"""


def crash_while_recording(path: Path, n_samples: int) -> None:
    code = CHILD.format(repo=str(REPO), path=str(path), n=n_samples)
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().split() == ["recorded", str(n_samples)]
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()
        child.stdout.close()


@pytest.mark.parametrize("seconds", [0.3, 2.7, 5.02])
def test_killed_recorder_loses_at_most_one_second(tmp_path: Path, seconds: float) -> None:
    n = int(seconds * 8000) // FRAME * FRAME
    box = tmp_path / "100"
    box.mkdir()
    crash_while_recording(box / "m.wav", n)
    assert (box / "m.wav.part").exists()
    found = recover(tmp_path)
    if n < FLUSH_SAMPLES:  # nothing reached the disk: nothing to list, nothing left over
        assert found == []
        assert list(box.iterdir()) == []
        return
    (rec,) = found
    assert rec.path == box / "m.wav"
    assert n - FLUSH_SAMPLES < rec.samples <= n
    assert rec.samples % FLUSH_SAMPLES == 0
    assert rec.meta == {"mailbox": "100", "caller_number": "5551234"}
    assert np.array_equal(read_wav_samples(rec.path), pattern(rec.samples))
    assert not (box / "m.wav.part").exists()
    # Until settled (listed in the db), a second start-up finds it again, unchanged.
    (again,) = recover(tmp_path)
    assert again.path == rec.path and again.samples == rec.samples
    again.settle()
    assert recover(tmp_path) == []


def test_recover_repairs_torn_tail_and_stale_markers(tmp_path: Path) -> None:
    rec = WavRecorder(tmp_path / "a.wav", meta={"received_ms": 2})
    record(rec, 8000)
    rec._f.close()  # simulate a crash: the process is gone, the file stays
    with open(tmp_path / "a.wav.part", "ab") as f:
        f.write(b"\x01")  # half a sample written when the power went
    done = WavRecorder(tmp_path / "b.wav", meta={"received_ms": 1})
    record(done, 4000)
    done.finish()  # finished, but crashed before the db row
    (tmp_path / "gone.wav.json").write_text("{}")  # marker whose file vanished
    found = recover(tmp_path)
    assert [(r.path.name, r.samples) for r in found] == [("b.wav", 4000), ("a.wav", 8000)]
    assert not (tmp_path / "gone.wav.json").exists()
    assert np.array_equal(read_wav_samples(tmp_path / "a.wav"), pattern(8000))
