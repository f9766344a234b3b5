"""Voicemail e-mailed as MP3 or Opus (a fraction of the WAV's size, for owners who read
mail on a phone), through the outbox to a real SMTP server; decoded again on arrival."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from firmware.notify import EMAIL_KIND, EmailNotifier, Outbox, voicemail_job
from firmware.notify import attachment as attachment_module
from firmware.notify.attachment import available_formats, encode_recording
from firmware.notify.notifier import smtp_config
from firmware.settings import parse, problems
from firmware.store import Store
from firmware.voicemail.recorder import WavRecorder
from tests.notify.test_email import RECEIVED_MS, Sink, config, notice, smtp_server
from tests.settings.conftest import MINIMAL, one

TONE_HZ = 440.0
SECONDS = 12


@pytest.fixture
def voice_like(tmp_path: Path) -> Path:
    """12 s of a 440 Hz tone swelling and fading like syllables: a lossy codec keeps its
    pitch and length, which is what the test checks after decoding."""
    t = np.arange(SECONDS * 8000) / 8000.0
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * t)
    samples = (9000 * envelope * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.int16)
    rec = WavRecorder(tmp_path / "m.wav")
    for start in range(0, len(samples), 160):
        rec.write(samples[start:start + 160])
    return rec.finish().path


def _deliver(tmp_path: Path, wav: Path, attach_as: str) -> tuple[object, str]:
    """Through the outbox and EmailNotifier, as the engine sends it: (attachment, body)."""
    store = Store(tmp_path / "data", clock_ms=lambda: RECEIVED_MS)
    sink = Sink()
    try:
        with smtp_server(sink) as port:
            outbox = Outbox(store.jobs, {EMAIL_KIND: EmailNotifier(
                lambda: config(port, attach_as=attach_as))})

            async def scenario() -> str:
                job = outbox.enqueue(EMAIL_KIND, voicemail_job(notice(wav), ["owner@x.example"]))
                await outbox.deliver_due()
                return store.jobs.get(job).state

            assert asyncio.run(scenario()) == "done"
    finally:
        store.close()
    (got,) = sink.messages()
    (att,) = list(got.iter_attachments())
    return att, got.get_body(("plain",)).get_content()


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1.0 / rate)[int(np.argmax(spectrum))])


def test_the_soundfile_wheel_writes_mp3_and_opus() -> None:
    # the product's pinned soundfile bundles a libsndfile with both; a box whose system
    # libsndfile lacks them still mails WAV (test below)
    assert available_formats() == ("wav", "mp3", "opus")


@pytest.mark.parametrize(("fmt", "mime", "extension"), [("mp3", "audio/mpeg", ".mp3"),
                                                        ("opus", "audio/ogg", ".opus")])
def test_a_message_mailed_compressed_decodes_to_the_same_sound(
        tmp_path: Path, voice_like: Path, fmt: str, mime: str, extension: str) -> None:
    att, body = _deliver(tmp_path, voice_like, fmt)
    assert att.get_content_type() == mime
    assert att.get_filename().endswith(extension)
    assert f"The recording is attached ({fmt.upper()})." in body
    data = att.get_content()
    assert len(data) < voice_like.stat().st_size / 5  # the point of it
    decoded, rate = soundfile.read(io.BytesIO(data), dtype="int16")
    assert rate == 8000
    # nothing cut; MP3 pads to whole 72 ms frames plus the encoder's delay (a blink of silence)
    assert SECONDS - 0.02 < len(decoded) / rate < SECONDS + 0.25
    assert abs(_dominant_hz(decoded, rate) - TONE_HZ) < 2.0


def test_wav_is_mailed_byte_for_byte(tmp_path: Path, voice_like: Path) -> None:
    att, body = _deliver(tmp_path, voice_like, "wav")
    assert att.get_content_type() == "audio/wav"
    assert att.get_content() == voice_like.read_bytes()
    assert "The recording is attached (WAV)." in body


def test_a_box_without_the_encoder_mails_the_wav_and_says_why(
        tmp_path: Path, voice_like: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a system libsndfile built without MP3 (the edge this box cannot have: simulated)
    monkeypatch.setattr(attachment_module, "available_formats", lambda: ("wav",))
    att, body = _deliver(tmp_path, voice_like, "mp3")
    assert att.get_content() == voice_like.read_bytes()
    assert "It is a WAV file because MP3 cannot be written on this box" in body


def test_a_recording_that_cannot_be_decoded_is_still_attached_as_it_is(tmp_path: Path) -> None:
    broken = tmp_path / "cut.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    got = encode_recording(broken, "mp3")
    assert got.fmt == "wav" and got.data == broken.read_bytes()
    assert "could not be converted to MP3" in (got.fallback_reason or "")


def test_the_format_is_checked_in_the_config() -> None:
    smtp = "smtp:\n  host: mail.example\n  sender: box@office.example\n  attach_as: {}\n"
    assert problems(MINIMAL + smtp.format("opus")) == []
    line, path, message = one(MINIMAL + smtp.format("flac"))
    assert (line, path) == (MINIMAL.count("\n") + 4, "smtp.attach_as")
    assert "'wav'" in message and "'mp3'" in message
    # and the engine's SMTP config carries it to the e-mail worker
    assert smtp_config(parse(MINIMAL + smtp.format("opus"), "x.yaml")).attach_as == "opus"
