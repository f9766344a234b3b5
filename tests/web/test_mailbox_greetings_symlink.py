"""A phone greeting in the data dir that is a symlink out of it (put there by hand, or by
a restore gone wrong) is never served, and the greetings page still answers: the row
says the recording is not played, with no raw error and no server path shown, in English
and zh-TW; its audio is a friendly 404; the JSON answers too."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from firmware.web.context import LANG_COOKIE
from firmware.web.services import WebServices


def test_a_symlinked_phone_greeting_is_refused_and_the_page_still_works(
        client: TestClient, services: WebServices, tmp_path: Path) -> None:
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF not yours")
    greetings = Path(services.store.data.greetings)
    greetings.mkdir(parents=True, exist_ok=True)
    (greetings / "mailbox-general-busy.wav").symlink_to(secret)
    page = client.get("/greetings")
    assert page.status_code == 200, page.text[-500:]
    assert "points outside the data folder, so it is never played" in page.text
    assert str(tmp_path) not in page.text and "Traceback" not in page.text
    audio = client.get("/greetings/mailbox/general/busy/audio")
    assert audio.status_code == 404 and b"not yours" not in audio.content
    assert str(tmp_path) not in audio.text
    api = client.get("/api/greetings/mailboxes")
    assert api.status_code == 200 and str(tmp_path) not in api.text
    general = next(m for m in api.json()["mailboxes"] if m["id"] == "general")
    assert [g["source"] for g in general["playing"] if g["kind"] == "busy"] == ["outside"]
    client.cookies.set(LANG_COOKIE, "zh-TW")
    assert "指向資料資料夾之外" in client.get("/greetings").text
