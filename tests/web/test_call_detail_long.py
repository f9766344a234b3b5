"""The call detail page for a call that logged thousands of events (a caller pressing
keys for an hour): the page and its JSON stay bounded, keep the first and the last steps
and say how many were left out; an engine end cause is said in the page's language."""

from __future__ import annotations

from fastapi.testclient import TestClient

from firmware.web.context import LANG_COOKIE
from firmware.web.routes.calls import MAX_TIMELINE_ROWS
from firmware.web.services import WebServices
from tests.web.test_call_detail import rows_of

CALLER = "0912345678"


def test_a_call_with_thousands_of_events_is_clipped(client: TestClient, services: WebServices) -> None:
    calls = services.store.calls
    cid = calls.start("line1", caller_number=CALLER)
    calls.answered(cid)
    calls.event(cid, 10, "node", "main", type="menu")
    for i in range(3000):
        calls.event(cid, 100 + i, "invalid", "main", keys="7", attempt=i + 1)
    calls.event(cid, 9_000, "caller_hangup", "main", how="loop_drop")
    calls.finish(cid, "hung_up", "caller_hangup:loop_drop")
    r = client.get(f"/calls/{cid}")
    assert r.status_code == 200
    rows = rows_of(r.text)
    assert len(rows) <= MAX_TIMELINE_ROWS + 1
    assert rows[0].startswith("0:00 Step “main”")
    assert rows[-1].endswith("The caller hung up")  # how it ended is kept
    hidden = 3002 - MAX_TIMELINE_ROWS
    assert any(f"{hidden} more events of this call are not shown" in row for row in rows)
    body = client.get(f"/api/calls/{cid}").json()
    assert body["events_total"] == 3002
    assert len(body["events"]) <= MAX_TIMELINE_ROWS and len(body["timeline"]) <= MAX_TIMELINE_ROWS + 1
    client.cookies.set(LANG_COOKIE, "zh-TW")
    assert f"這通電話還有 {hidden} 個事件沒有顯示" in client.get(f"/calls/{cid}").text


def test_an_engine_end_cause_is_said_in_chinese(client: TestClient, services: WebServices) -> None:
    calls = services.store.calls
    cid = calls.start("line1", caller_number=CALLER)
    calls.answered(cid)
    calls.event(cid, 10, "node", "main", type="menu")
    calls.event(cid, 4_000, "ended", "main", cause="office_picked_up")
    calls.finish(cid, "office_picked_up", "office_picked_up")
    other = calls.start("line1", caller_number=CALLER)
    calls.answered(other)
    calls.event(other, 4_000, "ended", "main", cause="ended")
    calls.finish(other, "interrupted", "ended")
    client.cookies.set(LANG_COOKIE, "zh-TW")
    text = "\n".join(rows_of(client.get(f"/calls/{cid}").text))
    assert "辦公室有人拿起了電話。" in text and "office picked up" not in text
    page = client.get(f"/calls/{other}").text
    assert "通話結束了。" in page
    assert "The call ended" not in page and ">ended<" not in page


def test_a_refused_recording_never_shows_the_stores_error_text(client: TestClient, services: WebServices) -> None:
    """voicemail/mailbox.py refuses with an English StoreError (a file path in it, when a
    write fails); the engine logs it as record_refused's reason; the owner reads words."""
    calls = services.store.calls
    cid = calls.start("line1", caller_number=CALLER)
    calls.answered(cid)
    calls.event(cid, 100, "record_refused", "general_voicemail",
                reason="not enough free space to record (812 kB left)")
    calls.event(cid, 200, "record_refused", "general_voicemail",
                reason="cannot write /var/lib/ivrbox/voicemail/general/1.wav: Permission denied")
    calls.finish(cid, "voicemail_no_message", "goodbye")
    rows = rows_of(client.get(f"/calls/{cid}").text)
    assert rows[0].endswith("The message could not be recorded: the box's storage is full (812 kB left)")
    assert rows[1].endswith("The message could not be recorded: the box could not save it")
    assert "/var/lib" not in client.get(f"/calls/{cid}").text
    client.cookies.set(LANG_COOKIE, "zh-TW")
    zh = rows_of(client.get(f"/calls/{cid}").text)
    assert "儲存空間已滿（剩 812 kB）" in zh[0] and "not enough" not in zh[0]
