"""The e-mail form keeps "attach recordings as" when the browser does not send it: a box
set to MP3 (by the API, or a restored backup) whose encoder is missing here shows that
choice disabled, and a browser leaves a disabled choice out of the form; saving the form
for another reason (a new password) must not quietly turn MP3 into WAV. The API's PUT
without attach_as keeps it too."""

from __future__ import annotations

from fastapi.testclient import TestClient

from firmware.settings import load
from tests.web.conftest import csrf_of, post

FORM = {"host": "127.0.0.1", "port": "2525", "security": "none", "sender": "box@lin-dental.tw"}


def test_a_form_without_attach_as_keeps_it(client: TestClient, services) -> None:
    r = post(client, "/settings/email", {**FORM, "attach_as": "mp3"})
    assert r.status_code == 303 and load(services.config_path).smtp.attach_as == "mp3"
    r = post(client, "/settings/email", {**FORM, "username": "office"})  # attach_as not sent
    assert r.status_code == 303
    smtp = load(services.config_path).smtp
    assert smtp.username == "office" and smtp.attach_as == "mp3"
    r = client.put("/api/settings/smtp", json={**FORM, "port": 2525}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and load(services.config_path).smtp.attach_as == "mp3"
    r = post(client, "/settings/email", {**FORM, "attach_as": "wav"})
    assert r.status_code == 303 and load(services.config_path).smtp.attach_as == "wav"  # chosen: changed


def test_a_refused_form_without_attach_as_shows_the_saved_choice(client: TestClient, services) -> None:
    post(client, "/settings/email", {**FORM, "attach_as": "opus"})
    r = post(client, "/settings/email", {**FORM, "port": "0"})  # refused; attach_as not sent
    assert r.status_code == 422
    assert '<option value="opus" selected' in r.text  # not WAV, which the next save would send
