"""Voicemail inbox, call log (filters, CSV, caller rules) and callbacks."""

from __future__ import annotations

import csv
import io

import numpy as np
from fastapi.testclient import TestClient

from firmware.dsp.audiofile import write_wav
from firmware.settings import load
from tests.web.conftest import csrf_of, post


def _message(services, mailbox="general", number="0912345678", seconds=1.0):
    rec = services.voicemail.start_recording(mailbox, caller_number=number)
    rec.write(np.zeros(int(8000 * seconds), dtype=np.int16))
    return services.voicemail.save(rec.finish())


def test_inbox_lists_plays_downloads_and_marks(client: TestClient, services) -> None:
    m = _message(services)
    html = client.get("/voicemail?box=general").text
    assert "0912345678" in html and f'/voicemail/{m.id}/audio' in html and "0:01" in html
    r = client.get(f"/voicemail/{m.id}/audio")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav" and r.content[:4] == b"RIFF"
    r = client.get(f"/voicemail/{m.id}/audio?download=1")
    assert "attachment" in r.headers["content-disposition"] and "0912345678" in r.headers["content-disposition"]
    assert post(client, f"/voicemail/{m.id}/heard").status_code == 303
    assert services.voicemail.get(m.id).heard


def test_delete_with_undo(client: TestClient, services) -> None:
    m = _message(services)
    r = post(client, f"/voicemail/{m.id}/delete")
    assert f"undo={m.id}" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "Message deleted." in page and f"/voicemail/{m.id}/undelete" in page
    assert "0912345678" not in page.split("<main")[1].split("Undo")[1]
    post(client, f"/voicemail/{m.id}/undelete")
    assert not services.voicemail.get(m.id).deleted


def test_voicemail_api(client: TestClient, services) -> None:
    m = _message(services, "support")
    data = client.get("/api/voicemail?box=support").json()
    assert data["mailboxes"]["support"]["new"] == 1 and data["messages"][0]["id"] == m.id
    r = client.post(f"/api/voicemail/{m.id}/delete", headers={"X-CSRF-Token": csrf_of(client)})
    assert r.json()["deleted"] is True
    assert client.post(f"/api/voicemail/{m.id}/heard").status_code == 403  # no CSRF token


def test_stored_path_outside_the_data_dir_is_refused(client: TestClient, services, tmp_path) -> None:
    secret = tmp_path / "secret.wav"
    write_wav(secret, np.zeros(800, dtype=np.int16))
    m = services.store.messages.add("general", path="../secret.wav", duration_ms=100)
    r = client.get(f"/voicemail/{m.id}/audio")
    assert r.status_code == 404 and b"RIFF" not in r.content
    assert client.get("/voicemail/999/audio").status_code == 404
    assert client.get("/voicemail/..%2F..%2Fetc%2Fpasswd/audio").status_code in (404, 422)


def _calls(services, clock):
    store = services.store
    day = 86_400_000
    for i, (number, outcome) in enumerate([("0911000001", "voicemail"), ("0911000002", "forwarded"),
                                           ("=cmd|' /C calc'!A0", "missed"), ("0911000001", "hung_up")]):
        cid = store.calls.start("line1", caller_number=number, started_ms=clock.ms - i * day)
        store.calls.finish(cid, outcome, ended_ms=clock.ms - i * day + 30_000)


def test_call_log_filters(client: TestClient, services, clock) -> None:
    _calls(services, clock)
    html = client.get("/calls").text
    assert "Calls found: 4" in html
    html = client.get("/calls?caller=0911000001").text
    assert "Calls found: 2" in html
    html = client.get("/calls?outcome=forwarded").text
    assert "Calls found: 1" in html and "0911000002" in html
    html = client.get("/calls?from=2026-05-27&to=2026-05-28").text
    assert "Calls found: 2" in html
    r = client.get("/calls?from=yesterday")
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    api = client.get("/api/calls?outcome=missed").json()
    assert api["total"] == 1


def test_csv_export_is_safe_in_spreadsheets(client: TestClient, services, clock) -> None:
    _calls(services, clock)
    r = client.get("/calls.csv")
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:2] == ["started", "caller_number"] and len(rows) == 5
    assert any(row[1].startswith("'=") for row in rows[1:])
    assert len(list(csv.reader(io.StringIO(client.get("/calls.csv?outcome=voicemail").text)))) == 2


def test_block_vip_allow_from_a_row(client: TestClient, services, clock) -> None:
    _calls(services, clock)
    r = post(client, "/calls/rule", {"number": "0911000002", "rule": "block", "back": "/calls"})
    assert r.status_code == 303 and "notice=rule" in r.headers["location"]
    assert "0911000002" in load(services.config_path).caller_rules.block
    assert "Remove rule" in client.get("/calls").text
    post(client, "/calls/rule", {"number": "0911000002", "rule": "vip"})
    rules = load(services.config_path).caller_rules
    assert "0911000002" not in rules.block and rules.vip[0].match == "0911000002"
    post(client, "/calls/rule", {"number": "0911000002", "rule": "none"})
    rules = load(services.config_path).caller_rules
    assert not rules.vip and not rules.block
    assert [v.note for v in services.store.configs.list()][:1] == ["caller 0911000002: none"]
    r = post(client, "/calls/rule", {"number": "not a number", "rule": "block"})
    assert r.status_code == 422 and "phone number" in r.text


def test_callbacks_pending_and_done(client: TestClient, services) -> None:
    cb = services.store.callbacks.request("0922333444", name="Mrs Wang")
    html = client.get("/callbacks").text
    assert "0922333444" in html and 'href="tel:0922333444"' in html
    assert client.get("/api/callbacks").json()["pending"][0]["number"] == "0922333444"
    post(client, f"/callbacks/{cb}/done", {"note": "called, all fine"})
    assert services.store.callbacks.open() == []
    assert "called, all fine" in client.get("/callbacks").text
    assert post(client, "/callbacks/999/done").status_code == 404
