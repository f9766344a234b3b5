"""Settings -> Integrations: webhooks (generic, LINE, Telegram) published as config versions
with the config check's messages beside their fields; secrets and tokens never shown
after saving; "send a test event" against a real HTTP receiver on 127.0.0.1 (answering,
failing, down); failed deliveries per hook; the page address; /voicemail/<id>."""

from __future__ import annotations

import asyncio
import html as htmllib
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient

from firmware.notify.outbox import DeliveryFailed
from firmware.notify.webhook import WEBHOOK_KIND, WebhookSender, make_event, verify_signature
from firmware.settings import EVENTS, load
from tests.notify.receiver import Receiver, Reply
from tests.web.conftest import csrf_of, post

LINE_ID = "U" + "0123456789abcdef" * 2
TG_TOKEN = "123456789:AAbbCCddEEffGGhhIIjjKKll"


def field_error(html: str, name: str) -> str:
    m = re.search(rf'id="err-{re.escape(name)}" role="alert">([^<]*)<', html)
    return htmllib.unescape(m.group(1)) if m else ""


def hook_form(**over) -> dict:
    form = {"key": "", "name": "", "preset": "generic", "url": "", "secret": "", "token": "", "target": "",
            "events": list(EVENTS), "enabled": "1", "language": ""}
    form.update(over)
    return form


def add(client: TestClient, **over):
    return post(client, "/settings/integrations/hook", hook_form(**over))


def test_pages_need_login_and_csrf(fresh: TestClient, client: TestClient) -> None:
    client.cookies.clear()
    r = client.get("/settings/integrations", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/settings/webhooks").status_code == 401
    assert client.get("/voicemail/1", follow_redirects=False).status_code == 303


def test_without_csrf_nothing_is_saved(client: TestClient, services) -> None:
    before = services.store.configs.latest()
    for url in ("/settings/integrations/hook", "/settings/integrations/page_url",
                "/settings/integrations/x/test", "/settings/integrations/x/delete"):
        r = client.post(url, data=hook_form(url="https://crm.example.com/h"), follow_redirects=False)
        assert r.status_code == 403, url
    assert services.store.configs.latest() == before


def test_generic_hook_refusals_sit_beside_their_fields(client: TestClient, services) -> None:
    before = services.store.configs.latest().version
    r = add(client, name="crm", url="ftp://crm.example.com")
    assert r.status_code == 422
    assert "http://" in field_error(r.text, "url-new")
    r = add(client, name="crm", url="https://crm.example.com/h", secret="short")
    assert "at least 16" in field_error(r.text, "secret-new")
    assert 'value="short"' not in r.text  # a typed secret is not echoed either
    r = add(client, name="9lives", url="https://crm.example.com/h")
    assert "Start with a letter" in field_error(r.text, "name-new")
    r = add(client, name="crm", url="https://crm.example.com/h", events=[])
    assert "at least one event" in field_error(r.text, "events-new")
    r = add(client, name="crm", url="https://user:pw@crm.example.com/h")
    assert "no user name or password" in field_error(r.text, "url-new")
    assert services.store.configs.latest().version == before  # nothing published


def test_generated_secret_is_shown_once_then_only_set(client: TestClient, services) -> None:
    r = add(client, name="crm", url="https://crm.example.com/h", events=["voicemail", "callback"])
    assert r.status_code == 303 and "reveal=" in r.headers["location"]
    hook = load(services.config_path).webhooks["crm"]
    assert hook.secret and len(hook.secret) >= 40 and hook.events == ("voicemail", "callback")
    assert services.store.configs.latest().note == "webhook crm"
    page = client.get(r.headers["location"]).text
    assert hook.secret in page and "not shown again" in page
    again = client.get(r.headers["location"]).text  # the one-time token is spent
    assert hook.secret not in again
    assert hook.secret not in client.get("/settings/integrations").text
    assert hook.secret not in client.get("/api/settings/webhooks").text
    assert ">set<" in again
    # Saving with an empty secret keeps it; all events checked means "all" (none listed).
    r = add(client, key="crm", url="https://crm.example.com/v2")
    assert r.status_code == 303 and "reveal=" not in r.headers["location"]
    kept = load(services.config_path).webhooks["crm"]
    assert kept.secret == hook.secret and kept.url == "https://crm.example.com/v2" and kept.events == ()
    # Rotate: a new secret, shown once.
    r = add(client, key="crm", url="https://crm.example.com/v2", rotate_secret="1")
    rotated = load(services.config_path).webhooks["crm"].secret
    assert rotated != hook.secret and rotated in client.get(r.headers["location"]).text
    # One typed by the owner is used as is and never shown.
    typed = "my own secret of many letters"
    r = add(client, key="crm", url="https://crm.example.com/v2", secret=typed)
    assert r.status_code == 303 and load(services.config_path).webhooks["crm"].secret == typed
    assert typed not in client.get(r.headers["location"]).text
    r = add(client, name="crm", url="https://crm.example.com/h")
    assert "already" in field_error(r.text, "name-new")


def test_line_and_telegram_presets(client: TestClient, services) -> None:
    r = add(client, name="staff", preset="line", token="line-channel-token-xyz", target="U123")
    assert r.status_code == 422 and "LINE" in field_error(r.text, "target-new")
    assert "line-channel-token-xyz" not in r.text
    r = add(client, name="staff", preset="line", token="", target=LINE_ID)
    assert "token" in field_error(r.text, "token-new").lower()
    r = add(client, name="staff", preset="line", token="line-channel-token-xyz", target=LINE_ID, language="zh-TW",
            enabled="")
    assert r.status_code == 303
    hook = load(services.config_path).webhooks["staff"]
    assert (hook.preset, hook.token, hook.target, hook.language, hook.enabled) == (
        "line", "line-channel-token-xyz", LINE_ID, "zh-TW", False)
    page = client.get("/settings/integrations").text
    assert "line-channel-token-xyz" not in page and LINE_ID in page
    r = add(client, key="staff", preset="line", target=LINE_ID, enabled="1")  # empty token keeps it
    assert r.status_code == 303 and load(services.config_path).webhooks["staff"].token == "line-channel-token-xyz"

    r = add(client, name="tg", preset="telegram", token="not a token", target="-1001234567890")
    assert r.status_code == 422 and "Telegram bot token" in field_error(r.text, "token-new")
    r = add(client, name="tg", preset="telegram", token=TG_TOKEN, target="bad chat")
    assert "chat id" in field_error(r.text, "target-new")
    r = add(client, name="tg", preset="telegram", token=TG_TOKEN, target="-1001234567890")
    assert r.status_code == 303 and load(services.config_path).webhooks["tg"].target == "-1001234567890"
    assert TG_TOKEN not in client.get("/settings/integrations").text


def test_zh_tw_messages(client: TestClient) -> None:
    post(client, "/lang", {"lang": "zh-TW", "next": "/"})
    r = add(client, name="staff", preset="line", token="tok", target="U123")
    assert "不是 LINE" in field_error(r.text, "target-new")
    assert "整合" in client.get("/settings/integrations").text


def test_remove_a_hook(client: TestClient, services) -> None:
    add(client, name="crm", url="https://crm.example.com/h")
    assert post(client, "/settings/integrations/nope/delete").status_code == 404
    r = post(client, "/settings/integrations/crm/delete")
    assert r.status_code == 303 and "crm" not in load(services.config_path).webhooks


def test_send_test_event_shows_what_the_receiver_said(client: TestClient, services) -> None:
    with Receiver([Reply(200, '{"received": true}'), Reply(500, "receiver exploded")]) as rx:
        add(client, name="crm", url=rx.url + "/hooks/ivrbox", secret="s" * 20)
        r = post(client, "/settings/integrations/crm/test")
        assert r.status_code == 200
        result = r.text.split('class="notice ok test-result"')[1][:600]
        assert "HTTP 200" in result and "received" in htmllib.unescape(result) and "Delivered." in result
        seen = rx.requests[0]
        assert seen.path == "/hooks/ivrbox" and seen.json()["event"] == "test"
        assert verify_signature("s" * 20, seen.body, seen.headers["X-Ivrbox-Timestamp"],
                                seen.headers["X-Ivrbox-Signature"], now_s=int(seen.headers["X-Ivrbox-Timestamp"]))
        r = post(client, "/settings/integrations/crm/test")
        result = r.text.split('class="notice bad test-result"')[1][:600]
        assert "HTTP 500" in result and "receiver exploded" in result and "Not delivered." in result
        r = client.post("/api/settings/webhooks/crm/test", headers={"X-CSRF-Token": csrf_of(client)})
        assert r.json()["status"] == 500 and r.json()["ok"] is False
        rx.stop()
        r = post(client, "/settings/integrations/crm/test")  # the receiver is down
        result = r.text.split('class="notice bad test-result"')[1][:600]
        assert "cannot reach 127.0.0.1" in result
    assert post(client, "/settings/integrations/nope/test").status_code == 404


def test_line_preset_test_event_has_the_push_format(client: TestClient, services) -> None:
    with Receiver([Reply(200, "{}")]) as rx:
        add(client, name="staff", preset="line", token="chan-token", target=LINE_ID)

        def api_base(data):
            data["webhooks"]["staff"]["api_base"] = rx.url
        client.app.state.web.publisher.edit(api_base, "test api base")
        r = post(client, "/settings/integrations/staff/test")
        assert "HTTP 200" in r.text
        seen = rx.requests[0]
        assert seen.path == "/v2/bot/message/push" and seen.headers["Authorization"] == "Bearer chan-token"
        assert seen.json()["to"] == LINE_ID and seen.json()["messages"][0]["type"] == "text"
        # Editing it again keeps its api_base (set in YAML, not on the page).
        add(client, key="staff", preset="line", target=LINE_ID)
        assert load(services.config_path).webhooks["staff"].api_base == rx.url


def test_failed_deliveries_are_listed_under_their_hook(client: TestClient, services) -> None:
    with Receiver([Reply(400, "bad signature")]) as rx:
        add(client, name="crm", url=rx.url, secret="s" * 20)
        settings = load(services.config_path)
        event = make_event("voicemail", settings, {"message_id": 3}, services.clock_ms())
        job = services.store.jobs.add(WEBHOOK_KIND, {"hook": "crm", "delivery": "d1", "event": event})
        with pytest.raises(DeliveryFailed) as failed:
            asyncio.run(WebhookSender(lambda: settings)({"hook": "crm", "delivery": "d1", "event": event}))
        services.store.jobs.begin_attempt(job)
        services.store.jobs.dead(job, str(failed.value))
    page = client.get("/settings/integrations").text
    section = page.split('id="hook-crm"')[1].split("</section>")[0]
    assert "Failed deliveries (1)" in section and "voicemail" in section and "bad signature" in section
    api = client.get("/api/settings/webhooks").json()["webhooks"][0]
    assert api["failed"][0]["event"] == "voicemail" and "secret" not in api


def test_page_address(client: TestClient, services) -> None:
    r = post(client, "/settings/integrations/page_url", {"page_url": "ivrbox.local"})
    assert r.status_code == 422 and "http://" in field_error(r.text, "page_url")
    r = post(client, "/settings/integrations/page_url", {"page_url": "http://ivrbox.local:8080/"})
    assert r.status_code == 303 and load(services.config_path).page_url == "http://ivrbox.local:8080"
    r = post(client, "/settings/integrations/page_url", {"page_url": ""})
    assert r.status_code == 303 and load(services.config_path).page_url is None


def test_the_message_a_webhook_links_to(client: TestClient, services) -> None:
    rec = services.voicemail.start_recording("general", caller_number="0912345678")
    rec.write(np.zeros(8000, dtype=np.int16))
    message = services.voicemail.save(rec.finish())
    page = client.get(f"/voicemail/{message.id}")
    assert page.status_code == 200 and f'src="/voicemail/{message.id}/audio"' in page.text
    assert "0912345678" in page.text
    assert client.get(f"/voicemail/{message.id}/audio").status_code == 200
    assert client.get("/voicemail/99999").status_code == 404
    text = services.voicemail.add_text("general", "HELLO GA")
    assert "HELLO GA" in client.get(f"/voicemail/{text.id}").text
