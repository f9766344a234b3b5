"""Audio files made by sox and ffmpeg in many formats and rates -> 8 kHz mono int16."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from firmware.dsp import audiofile
from firmware.dsp.audiofile import probe, read_audio, write_wav
from firmware.errors import AudioFormatError

pytestmark = pytest.mark.skipif(not (shutil.which("sox") and shutil.which("ffmpeg")),
                                reason="needs sox and ffmpeg")

AMPLITUDE = 0.5  # sox "gain -6.02" of a full-scale sine


def sox(out: Path, rate: int, channels: int, *extra: str, seconds: float = 1.0,
        hz: float = 1000.0) -> Path:
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), *extra, str(out),
                    "synth", str(seconds), "sine", str(hz), "gain", "-6.02"],
                   check=True, capture_output=True)
    return out


def ffmpeg(out: Path, rate: int, channels: int, *codec: str, seconds: float = 1.0) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=1000:duration={seconds}:sample_rate={rate}",
                    "-af", "volume=1.0", "-ac", str(channels), *codec, str(out)],
                   check=True, capture_output=True)
    return out


def dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x.astype(float) * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / 8000)[np.argmax(spec)])


def peak(x: np.ndarray) -> float:
    core = x[len(x) // 4: 3 * len(x) // 4].astype(float)  # away from codec edges
    return float(np.abs(core).max()) / 32768.0


def rms(x: np.ndarray) -> float:
    core = x[len(x) // 4: 3 * len(x) // 4].astype(float)
    return float(np.sqrt(np.mean(core * core)))


def native_rms(path: Path) -> float:
    """Level of the file as its codec decodes it (ffmpeg, native rate, first channel)."""
    out = path.with_name("native.wav")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(path), "-c:a",
                    "pcm_f32le", str(out)], check=True, capture_output=True)
    data, _ = soundfile.read(str(out), always_2d=True)
    return rms(data[:, 0] * 32768.0)


MAKERS = {
    "mp3-44k1-stereo": lambda d: sox(d / "a.mp3", 44100, 2),
    "flac-48k": lambda d: sox(d / "a.flac", 48000, 1),
    "wav-ulaw-8k": lambda d: sox(d / "a.wav", 8000, 1, "-e", "u-law"),
    "wav-alaw-8k": lambda d: sox(d / "a.wav", 8000, 1, "-e", "a-law"),
    "wav-24bit-16k-stereo": lambda d: sox(d / "a.wav", 16000, 2, "-b", "24"),
    "ogg-22k05": lambda d: sox(d / "a.ogg", 22050, 1),
    "aiff-11k025": lambda d: sox(d / "a.aiff", 11025, 1),
    "m4a-aac-44k1-stereo": lambda d: ffmpeg(d / "a.m4a", 44100, 2, "-c:a", "aac", "-b:a", "128k"),
    "opus-48k": lambda d: ffmpeg(d / "a.opus", 48000, 1, "-c:a", "libopus"),
    "mp3-ffmpeg-32k": lambda d: ffmpeg(d / "a.mp3", 32000, 1, "-c:a", "libmp3lame"),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_formats_become_8k_mono_int16(tmp_path: Path, name: str) -> None:
    path = MAKERS[name](tmp_path)
    x = read_audio(path)
    assert x.dtype == np.int16 and x.ndim == 1
    assert abs(len(x) - 8000) <= 0.06 * 8000  # 1 s (MP3/AAC add encoder delay padding)
    assert dominant_hz(x) == pytest.approx(1000.0, abs=5.0)
    if name.startswith(("flac", "wav", "aiff")):  # lossless: the level sox wrote
        assert peak(x) == pytest.approx(AMPLITUDE, rel=0.03 if "law" not in name else 0.05)
    else:  # lossy: the level the codec itself decodes to
        assert rms(x) == pytest.approx(native_rms(path), rel=0.03)
    info = probe(path)
    assert info.duration_s == pytest.approx(1.0, abs=0.07)
    assert info.channels == (2 if "stereo" in name else 1)


def test_probe_reports_rate_and_channels(tmp_path: Path) -> None:
    info = probe(sox(tmp_path / "a.mp3", 44100, 2, seconds=2.5))
    assert (info.rate, info.channels) == (44100, 2)
    assert info.duration_s == pytest.approx(2.5, abs=0.07)
    m4a = probe(ffmpeg(tmp_path / "a.m4a", 48000, 1, "-c:a", "aac"))  # via ffprobe
    assert (m4a.rate, m4a.channels) == (48000, 1) and "mp4" in m4a.format


def test_channels_are_averaged(tmp_path: Path) -> None:
    out = tmp_path / "lr.wav"
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "2", str(out), "synth", "1", "sine", "500",
                    "gain", "-6.02", "remix", "1", "0"], check=True, capture_output=True)
    assert soundfile.info(str(out)).channels == 2
    assert peak(read_audio(out)) == pytest.approx(AMPLITUDE / 2, rel=0.03)


def test_resampling_keeps_the_band_and_rejects_aliases(tmp_path: Path) -> None:
    inband = read_audio(sox(tmp_path / "a.wav", 44100, 1, hz=3400))
    assert peak(inband) == pytest.approx(AMPLITUDE, rel=0.03)
    alias = read_audio(sox(tmp_path / "b.wav", 44100, 1, hz=4600))  # would fold to 3400 Hz
    assert peak(alias) < AMPLITUDE * 10 ** (-50 / 20)


def test_overload_is_clipped_not_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "hot.wav"
    t = np.arange(8000) / 8000
    soundfile.write(str(path), 1.5 * np.sin(2 * np.pi * 300 * t), 8000, subtype="FLOAT")
    x = read_audio(path)
    assert x.max() == 32767 and x.min() == -32768
    assert np.all(x[1:12] > 0)  # the first half-cycle (13 samples) stays positive


def test_write_wav_round_trip(tmp_path: Path) -> None:
    x = (np.random.default_rng(2).standard_normal(4000) * 3000).astype(np.int16)
    path = tmp_path / "out.wav"
    write_wav(path, x)
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (8000, 1, "PCM_16", "WAV")
    assert np.array_equal(read_audio(path), x)
    write_wav(path, np.array([0.4, 40000.0, -1e6]))  # floats: rounded and clipped
    assert read_audio(path).tolist() == [0, 32767, -32768]


@pytest.mark.parametrize("case,match", [
    ("missing", "no such file"),
    ("directory", "not a file"),
    ("zero-bytes", "the file is empty"),
    ("text", "not an audio file"),
    ("no-samples", "no audio samples"),
])
def test_bad_files_raise_audio_format_error(tmp_path: Path, case: str, match: str) -> None:
    path = tmp_path / "x.wav"
    if case == "directory":
        path.mkdir()
    elif case == "zero-bytes":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is a greeting, honest\n" * 20)
    elif case == "no-samples":
        soundfile.write(str(path), np.zeros(0, dtype=np.int16), 8000, subtype="PCM_16")
    with pytest.raises(AudioFormatError, match=match):
        read_audio(path)
    with pytest.raises(AudioFormatError, match=match):
        probe(path)


def test_without_ffmpeg_says_what_to_install(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = ffmpeg(tmp_path / "a.m4a", 44100, 1, "-c:a", "aac")
    monkeypatch.setattr(audiofile.shutil, "which", lambda name: None)
    with pytest.raises(AudioFormatError, match="install ffmpeg"):
        read_audio(path)
