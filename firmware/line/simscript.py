"""What a simulated far end does, step by step, in line time: the script language.

API:
    Wait(ms)                     say nothing for `ms` (still listening)
    Silence(ms)                  the same, named for scripts that read better so
    Press(digits, on_ms=100, off_ms=100, dbm0=-10, twist_db=0, snr_db=None)
                                 keys as DTMF audio (`snr_db`: white noise that far
                                 below the tones' power, for the whole step)
    Speak(samples, label="")     8 kHz int16 audio as the far end's voice
    HangUp(style="loop_drop")    leave: "loop_drop" (loop current drops), "reorder",
                                 "dial_tone" or "busy" (no drop; the exchange plays
                                 that tone; many exchanges play busy)
    WaitForBeep(timeout_ms)      wait until a steady single tone is heard (a record beep)
    WaitForSilence(ms, timeout_ms)   wait until `ms` of quiet is heard (a prompt ended)
    Step                         the union of the above
    parse_script(text, base_dir=None) -> list[Step]
        "wait 1; press 2; wait 6; speak msg.wav; hangup" -- `wait`/`silence` in seconds,
        `press DIGITS`, `speak FILE` (any format soundfile reads; resampled to 8 kHz),
        `hangup [drop|reorder|dial]`, `waitbeep [SECONDS]`, `waitsilence [SECONDS]`
    load_audio(path) -> int16    a sound file as 8 kHz mono int16

Durations are milliseconds in the step objects (the sample clock is what runs them) and
seconds in the text form, which is what a person types after `ivrbox call --script`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from firmware.dsp.tones import DTMF_KEYS
from firmware.errors import AudioFormatError, UsageError

SAMPLE_RATE = 8000
HANGUP_STYLES = ("loop_drop", "reorder", "dial_tone", "busy")
_STYLE_WORDS = {"drop": "loop_drop", "loop_drop": "loop_drop", "reorder": "reorder", "busy": "busy",
                "dial": "dial_tone", "dial_tone": "dial_tone"}
DEFAULT_WAIT_FOR_TIMEOUT_MS = 30_000.0
DEFAULT_QUIET_MS = 1000.0


@dataclass(frozen=True)
class Wait:
    ms: float


@dataclass(frozen=True)
class Silence:
    ms: float


@dataclass(frozen=True)
class Press:
    digits: str
    on_ms: float = 100.0
    off_ms: float = 100.0
    dbm0: float = -10.0
    twist_db: float = 0.0
    snr_db: float | None = None

    def __post_init__(self) -> None:
        bad = [d for d in self.digits.upper() if d not in DTMF_KEYS and d != ","]
        if bad or not self.digits:
            raise UsageError(f"press: {self.digits!r} is not a string of DTMF keys "
                             "(0-9, *, #, A-D, ',' for a pause)")


@dataclass(frozen=True)
class Speak:
    samples: npt.NDArray[np.int16] = field(repr=False)
    label: str = ""


@dataclass(frozen=True)
class HangUp:
    style: str = "loop_drop"

    def __post_init__(self) -> None:
        if self.style not in HANGUP_STYLES:
            raise UsageError(f"hang-up style {self.style!r}: use one of {HANGUP_STYLES}")


@dataclass(frozen=True)
class WaitForBeep:
    timeout_ms: float = DEFAULT_WAIT_FOR_TIMEOUT_MS


@dataclass(frozen=True)
class WaitForSilence:
    ms: float = DEFAULT_QUIET_MS
    timeout_ms: float = DEFAULT_WAIT_FOR_TIMEOUT_MS


Step = Wait | Silence | Press | Speak | HangUp | WaitForBeep | WaitForSilence


def load_audio(path: str | Path) -> npt.NDArray[np.int16]:
    """A sound file as 8 kHz mono int16 (mixed down and resampled as needed)."""
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioFormatError(f"{path}: cannot read audio ({exc})") from exc
    mono = data.mean(axis=1)
    if rate != SAMPLE_RATE:
        import soxr

        mono = soxr.resample(mono, rate, SAMPLE_RATE)
    return np.clip(np.round(mono * 32767.0), -32768, 32767).astype(np.int16)


def _seconds(word: str, where: str) -> float:
    try:
        value = float(word)
    except ValueError:
        raise UsageError(f"{where}: {word!r} is not a number of seconds") from None
    if not np.isfinite(value) or value < 0:
        raise UsageError(f"{where}: seconds must be zero or more, not {word!r}")
    return value


def _parse_one(words: list[str], where: str, base_dir: Path | None) -> Step:
    verb, args = words[0].lower(), words[1:]
    arity = {"wait": (1, 1), "silence": (1, 1), "press": (1, 1), "speak": (1, 1),
             "hangup": (0, 1), "waitbeep": (0, 1), "waitsilence": (0, 1)}
    if verb not in arity:
        raise UsageError(f"{where}: unknown step {verb!r} (use wait, silence, press, "
                         "speak, hangup, waitbeep, waitsilence)")
    low, high = arity[verb]
    if not low <= len(args) <= high:
        raise UsageError(f"{where}: '{verb}' takes {low if low == high else f'{low}-{high}'}"
                         f" argument(s), got {len(args)}")
    if verb in ("wait", "silence"):
        ms = _seconds(args[0], where) * 1000.0
        return Wait(ms) if verb == "wait" else Silence(ms)
    if verb == "press":
        return Press(args[0])
    if verb == "speak":
        path = Path(args[0])
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        return Speak(load_audio(path), label=str(path))
    if verb == "hangup":
        word = args[0].lower() if args else "drop"
        if word not in _STYLE_WORDS:
            raise UsageError(f"{where}: hang-up style {word!r}: use drop, reorder or dial")
        return HangUp(_STYLE_WORDS[word])
    timeout = _seconds(args[0], where) * 1000.0 if args else DEFAULT_WAIT_FOR_TIMEOUT_MS
    return WaitForBeep(timeout) if verb == "waitbeep" else WaitForSilence(timeout_ms=timeout)


def parse_script(text: str, base_dir: str | Path | None = None) -> list[Step]:
    """Steps from the CLI text form; `;` or newlines separate steps (`#` is a DTMF key,
    so there are no comments). Sound files are read now, so a missing file is reported
    before the call starts."""
    base = Path(base_dir) if base_dir is not None else None
    steps: list[Step] = []
    for n, line in enumerate(text.splitlines(), start=1):
        for part in line.split(";"):
            words = part.split()
            if not words:
                continue
            where = f"script line {n} ('{part.strip()}')"
            try:
                steps.append(_parse_one(words, where, base))
            except UsageError as exc:  # a step's own check: say where it was
                if str(exc).startswith(where):
                    raise
                raise UsageError(f"{where}: {exc}") from None
    return steps
