"""Debian's minimodem as the independent TTY/TDD peer, at 45.45 or 50 baud.

API:
    available() -> bool
    mode(baud) -> list[str]                minimodem's arguments for TDD at that rate
    transmit(text, baud) -> int16 8 kHz    what a minimodem TTY sends
    receive(audio, baud) -> str            what a minimodem TTY prints

Its "tdd" keyword is 45.45 baud only; 50 baud (European TTYs) is the same framing
spelled out: Baudot, 2 stop bits, mark 1400 Hz, space 1800 Hz.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from firmware.dsp.baudot import MARK_HZ, SPACE_HZ, TTY_BAUD_US

RATE = 8000


def available() -> bool:
    return shutil.which("minimodem") is not None


def mode(baud: float) -> list[str]:
    if baud == TTY_BAUD_US:
        return ["tdd"]
    return ["--baudot", "--stopbits", "2.0", "-M", f"{MARK_HZ:g}", "-S", f"{SPACE_HZ:g}",
            f"{baud:g}"]


def transmit(text: str, baud: float) -> npt.NDArray[np.int16]:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "tx.wav"
        subprocess.run(["minimodem", "--tx", "-f", str(wav), "-R", "48000", *mode(baud)],
                       input=text.encode(), check=True, capture_output=True)
        data, rate = sf.read(wav, dtype="float64")
    return np.clip(soxr.resample(data, rate, RATE) * 32767, -32768, 32767).astype(np.int16)


def receive(audio: npt.ArrayLike, baud: float) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "rx.wav"
        sf.write(wav, np.asarray(audio, dtype=np.int16), RATE, subtype="PCM_16")
        out = subprocess.run(["minimodem", "--rx", "-f", str(wav), *mode(baud)],
                             check=True, capture_output=True, text=True)
    return out.stdout
