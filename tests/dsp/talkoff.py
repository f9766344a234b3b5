"""Talk-off material: speech and music that contain no DTMF key, as 8 kHz int16 audio.

API:
    read_8k(path) -> int16               any sound file, mono, resampled to 8 kHz
    espeak(text, voice, speed, pitch)    espeak-ng speech -> int16 8 kHz
    english_speech() / mandarin_speech() long varied texts in several voices (cached)
    sox_music(seed, seconds)             melodies and chords from sox `synth` (plucks,
                                         saw/square/trapezium chords, vibrato, reverb)
    recorded_speech() / recorded_music() / mandarin_syllables()
                                         files from Debian packages when installed:
                                         asterisk-core-sounds-en-wav (real voice prompts),
                                         asterisk-moh-opsound-wav (real music on hold),
                                         gcin-voice (recorded Mandarin syllables)
    corpus(max_files=None) -> dict[name, int16]   all of the above, for tests and bench

Used by tests/dsp/test_dtmf_talkoff.py and bench/dtmf_bench.py. Synthetic material is
generated independently of our own tone code (espeak-ng and sox), so it cannot share a
blind spot with the detector.
"""

from __future__ import annotations

import functools
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 8000
SPEECH_LEVEL_DBFS = -12.0  # peak level speech and music are normalised to

ENGLISH_TEXTS = (
    "Thank you for calling the office of Doctor Margaret Ellison. Our hours are Monday "
    "through Friday, eight thirty in the morning until five in the afternoon. If this is "
    "a medical emergency, please hang up and dial nine one one.",
    "I was wondering whether you could tell me the opening times on Saturday, because my "
    "sister is flying in from Seattle and we would like to stop by before lunch. Oh, and "
    "could you check whether the order number four seven two eight is ready?",
    "Yeah, hi, it's Bob again. Um, listen, the plumber didn't show up this morning, so "
    "I'm going to need somebody to call me back at your earliest convenience. My number "
    "is five five five, zero one nine nine. Thanks a lot, bye bye!",
    "The quick brown fox jumps over the lazy dog. She sells seashells by the seashore. "
    "Peter Piper picked a peck of pickled peppers. How much wood would a woodchuck chuck?",
    "Hello? Hello? Is anybody there? I can hardly hear you, the line is really bad. "
    "Ahhh, oooh, eeee, mmmm. Can you hear me now? Yes! Wonderful, wonderful.",
    "Good evening. This message is for Mister Jonathan Whitaker regarding the invoice "
    "dated the twenty third of November. Please press any key... no, wait, just call us "
    "back between nine and noon, Pacific time. Have a lovely weekend.",
)

MANDARIN_TEXTS = (
    "您好，欢迎致电我们公司。我们的营业时间是星期一到星期五，上午九点到下午六点。"
    "如果您需要帮助，请留下您的姓名和电话号码，我们会尽快给您回电。",
    "喂，你好，我想问一下明天下午还有没有空位。我姓王，电话是零九一二三四五六七八。"
    "麻烦你帮我查一下，谢谢你，再见。",
    "今天天气很好，我们一起去公园散步吧。春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "请问这个包裹是寄到台北还是高雄？运费大概多少钱？我下个星期三要出差，"
    "所以最好在星期二以前送到。啊，对了，发票要开公司的抬头。",
)

ENGLISH_VOICES = ("en", "en-us", "en+f3", "en-us+m3", "en-gb-scotland", "en+f5")
MANDARIN_VOICES = ("cmn", "cmn+f3", "cmn+m2")

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_MOH = Path("/usr/share/asterisk/moh")
GCIN_VOICE = Path("/usr/share/gcin-voice/ogg")

_NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_INSTRUMENTS = ("pluck", "pluck", "sawtooth", "square", "trapezium", "triangle")


def read_8k(path: str | Path) -> npt.NDArray[np.int16]:
    """A sound file as mono int16 at 8 kHz (soundfile to read, soxr to resample)."""
    import soundfile as sf
    import soxr

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if rate != RATE:
        mono = soxr.resample(mono, rate, RATE)
    return np.clip(np.round(mono * 32767.0), -32768, 32767).astype(np.int16)


def _normalise(x: npt.NDArray[np.int16], peak_dbfs: float) -> npt.NDArray[np.int16]:
    peak = float(np.max(np.abs(x.astype(np.int32)))) if x.size else 0.0
    if peak == 0.0:
        return x
    gain = 32767.0 * 10.0 ** (peak_dbfs / 20.0) / peak
    return np.clip(np.round(x * gain), -32768, 32767).astype(np.int16)


def espeak(text: str, voice: str = "en", speed: int = 160, pitch: int = 50
           ) -> npt.NDArray[np.int16]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch),
                        "-w", str(out), text], check=True, capture_output=True)
        return _normalise(read_8k(out), SPEECH_LEVEL_DBFS)


def _speech(texts: tuple[str, ...], voices: tuple[str, ...]) -> npt.NDArray[np.int16]:
    parts = []
    for i, text in enumerate(texts):
        for j, voice in enumerate(voices):
            speed = 120 + 25 * ((i + j) % 4)
            pitch = 20 + 20 * ((i * 3 + j) % 4)
            parts.append(espeak(text, voice, speed, pitch))
    return np.concatenate(parts)


@functools.lru_cache(maxsize=1)
def english_speech() -> npt.NDArray[np.int16]:
    return _speech(ENGLISH_TEXTS, ENGLISH_VOICES)


@functools.lru_cache(maxsize=1)
def mandarin_speech() -> npt.NDArray[np.int16]:
    return _speech(MANDARIN_TEXTS, MANDARIN_VOICES)


def _chord(rng: random.Random) -> list[str]:
    """One sox `synth` chain: 1-4 notes of one instrument, a duration, a fade."""
    dur = rng.choice((0.12, 0.18, 0.25, 0.35, 0.5, 0.8))
    inst = rng.choice(_INSTRUMENTS)
    root = rng.randrange(12 * 3, 12 * 6)  # C3..B5
    shape = rng.choice(((0,), (0, 4, 7), (0, 3, 7), (0, 7, 12), (0, 4, 7, 11), (0, 12),
                        (0, 5, 9), (0, 4, 10)))
    args = ["synth", f"{dur}"]
    for step in shape:
        n = root + step
        args += [inst, f"{_NOTES[n % 12]}{n // 12}"]
    args += ["fade", "q", "0.005", f"{dur}", f"{min(0.1, dur / 3):.3f}"]
    return args


def sox_music(seed: int, seconds: float = 30.0) -> npt.NDArray[np.int16]:
    """A random tune: a sequence of chords, then vibrato/reverb/overdrive on some."""
    rng = random.Random(seed)
    chains: list[str] = []
    total = 0.0
    while total < seconds:
        args = _chord(rng)
        total += float(args[1])
        chains += (args if not chains else [":", *args])
    effects = rng.choice(([], ["reverb", "50"], ["tremolo", "6", "40"],
                          ["overdrive", "10"], ["chorus", "0.7", "0.9", "55", "0.4",
                                                "0.25", "2", "-t"]))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "music.wav"
        subprocess.run(["sox", "-n", "-r", str(RATE), "-b", "16", "-c", "1", str(out),
                        *chains], check=True, capture_output=True)
        if effects:
            fx = Path(tmp) / "fx.wav"
            subprocess.run(["sox", str(out), str(fx), *effects], check=True,
                           capture_output=True)
            out = fx
        return _normalise(read_8k(out), SPEECH_LEVEL_DBFS)


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.rglob(pattern)) if folder.is_dir() else []


def recorded_speech() -> list[Path]:
    return _files(ASTERISK_SOUNDS, "*.wav")


def recorded_music() -> list[Path]:
    return _files(ASTERISK_MOH, "*.wav")


def mandarin_syllables() -> list[Path]:
    return _files(GCIN_VOICE, "*.ogg")


def have_tools() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def corpus(max_files: int | None = None) -> dict[str, npt.NDArray[np.int16]]:
    """Every talk-off recording available, keyed by a short name; recorded material is
    joined into one buffer per source (syllables with 50 ms of silence between them)."""
    out = {"espeak-en": english_speech(), "espeak-cmn": mandarin_speech()}
    for seed in range(6):
        out[f"sox-music-{seed}"] = sox_music(seed)
    gap = np.zeros(RATE // 20, dtype=np.int16)
    for name, files in (("asterisk-prompts", recorded_speech()),
                        ("asterisk-moh", recorded_music()),
                        ("gcin-mandarin", mandarin_syllables())):
        chosen = files[:max_files] if max_files else files
        if chosen:
            out[name] = np.concatenate([np.concatenate([read_8k(f), gap]) for f in chosen])
    return out
