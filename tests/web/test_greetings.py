"""Greetings: upload any format -> preview -> save publishes; rejections say why; revert."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from firmware.dsp.audiofile import read_audio, write_wav
from firmware.settings import load
from firmware.web.context import LANG_COOKIE
from tests.web.conftest import csrf_of, post


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("speech") / "hello.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), "Hello, this is Lin Dental."], check=True)
    return path


def _upload(client, name, content, prompt="welcome", lang="en"):
    return client.post(f"/greetings/{prompt}/{lang}/upload", data={"csrf": csrf_of(client)},
                       files={"file": (name, content, "application/octet-stream")}, follow_redirects=False)


def test_upload_preview_save_publishes_a_recording(client: TestClient, services, speech, tmp_path) -> None:
    mp3 = tmp_path / "hello.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech), "-ar", "44100", "-ac", "2", str(mp3)], check=True)
    r = _upload(client, "hello.mp3", mp3.read_bytes())
    assert r.status_code == 303, r.text
    preview_url = r.headers["location"]
    token = re.search(r"token=([0-9a-f]{32})", preview_url).group(1)
    page = client.get(preview_url).text
    assert f"/greetings/preview/{token}.wav" in page
    wav = client.get(f"/greetings/preview/{token}.wav")
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    r = post(client, "/greetings/welcome/en/save", {"token": token})
    assert r.status_code == 303 and "notice=greeting" in r.headers["location"]
    settings = load(services.config_path)
    rel = settings.prompts["welcome"].file["en"]
    assert rel.startswith("greetings/welcome-en-") and rel.endswith(".wav")
    saved = read_audio(services.store.data.absolute(rel))
    assert len(saved) < 8000 * 4  # trimmed, 8 kHz
    assert "Recording" in client.get("/greetings").text
    # what callers hear now is the recording
    now = client.get("/greetings/audio/welcome/en")
    assert now.status_code == 200 and len(now.content) > 44


def test_rejected_uploads_say_why(client: TestClient, services, tmp_path) -> None:
    r = _upload(client, "notes.txt", b"this is not audio at all" * 10)
    assert r.status_code == 422 and "This is not a sound file the box can read. Try a WAV" in r.text
    assert "no audio stream" not in r.text
    silent = tmp_path / "silent.wav"
    write_wav(silent, np.zeros(16000, dtype=np.int16))
    r = _upload(client, "silent.wav", silent.read_bytes())
    assert r.status_code == 422 and "silent" in r.text
    r = _upload(client, "empty.wav", b"")
    assert r.status_code == 422 and "no file" in r.text or "empty" in r.text


def test_size_and_length_limits(tmp_path, clock) -> None:
    from tests.web.conftest import do_setup, make_services
    from firmware.web import create_app

    services = make_services(tmp_path / "d", clock, max_upload_bytes=50_000, max_upload_s=2.0)
    c = TestClient(create_app(services), base_url="http://ivrbox.local")
    do_setup(c)
    long = tmp_path / "long.wav"
    t = np.arange(8000 * 3) / 8000
    write_wav(long, (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))  # 3 s, 48 kB
    r = _upload(c, "long.wav", long.read_bytes())
    assert r.status_code == 422 and "minutes are allowed" in r.text
    r = _upload(c, "big.wav", b"RIFF" + b"\0" * 60_000)
    assert r.status_code == 422 and "larger than" in r.text
    services.store.close()


def test_text_to_speech_preview_then_save_and_revert(client: TestClient, services, speech) -> None:
    r = post(client, "/greetings/goodbye/en/speak", {"text": "Thanks for calling Lin Dental. Bye!"})
    assert r.status_code == 303
    token = re.search(r"token=([0-9a-f]{32})", r.headers["location"]).group(1)
    assert "Thanks for calling Lin Dental" in client.get(r.headers["location"]).text
    post(client, "/greetings/goodbye/en/save", {"token": token})
    assert load(services.config_path).prompts["goodbye"].en == "Thanks for calling Lin Dental. Bye!"
    # a recording, then revert to the text
    r = _upload(client, "hello.wav", speech.read_bytes(), prompt="goodbye")
    token = re.search(r"token=([0-9a-f]{32})", r.headers["location"]).group(1)
    post(client, "/greetings/goodbye/en/save", {"token": token})
    assert "en" in load(services.config_path).prompts["goodbye"].file
    post(client, "/greetings/goodbye/en/revert")
    assert "en" not in load(services.config_path).prompts["goodbye"].file


def test_unknown_prompt_language_and_token_are_refused(client: TestClient) -> None:
    assert _upload(client, "x.wav", b"RIFF", prompt="nope").status_code == 404
    assert _upload(client, "x.wav", b"RIFF", lang="fr").status_code == 404
    assert client.get("/greetings/preview/../../ivrbox.db.wav").status_code == 404
    assert client.get("/greetings/preview/" + "0" * 32 + ".wav").status_code == 404
    assert post(client, "/greetings/welcome/en/save", {"token": "../../etc/passwd"}).status_code == 404


def test_refusals_are_said_in_the_page_language_and_typed_text_is_not_called_a_file(
        client: TestClient) -> None:
    """Empty words to speak are not "a file"; in zh-TW a refused upload is said in Chinese,
    and the page keeps its own title."""
    r = post(client, "/greetings/info/en/speak", {"text": "  "})
    assert r.status_code == 422 and "Write the words to speak (1 to 2000 characters)." in r.text
    assert "file was not accepted" not in r.text and "<title>Greetings ·" in r.text
    client.cookies.set(LANG_COOKIE, "zh-TW")
    r = _upload(client, "notes.txt", b"this is not audio at all" * 10)
    assert r.status_code == 422 and "這不是本機能讀取的聲音檔" in r.text
    assert "not an audio file" not in r.text
    r = _upload(client, "empty.wav", b"")
    assert r.status_code == 422 and ("請先選擇檔案" in r.text or "檔案是空的" in r.text)
