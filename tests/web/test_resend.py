"""Settings -> Integrations: a failed webhook delivery sent again from the page, against a
real HTTP receiver on 127.0.0.1 that is down, then back. The engine's outbox fails the
delivery (connection refused, then gives up); the owner presses "send again" and the
page's outbox tries it at once: while the receiver is still down it fails again and is
retried on the normal schedule; once it is up the same event arrives, with the same
delivery id and a valid HMAC signature. Also: "send all again", CSRF, refusals, zh-TW,
and a page without an outbox of its own (the job is queued for the engine's worker)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from firmware.notify.outbox import Backoff, Outbox
from firmware.notify.webhook import (DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WEBHOOK_KIND,
                                     WebhookSender, enqueue_event, make_event, verify_signature)
from firmware.web import create_app
from tests.notify.receiver import Receiver, Reply
from tests.web.conftest import csrf_of, do_setup, post

SECRET = "s" * 24
RETRY_MS = 30_000


def outbox_for(services) -> Outbox:
    """An outbox like the Box's: gives up after the second failed attempt (to keep it short)."""
    return Outbox(services.store.jobs, {WEBHOOK_KIND: WebhookSender(services.settings)},
                  backoff=Backoff(first_ms=RETRY_MS, jitter=0.0, max_attempts=2),
                  clock_ms=services.clock_ms)


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver([Reply(200, '{"ok": true}')]) as receiver:
        yield receiver


@pytest.fixture
def page(services, rx: Receiver) -> Iterator[TestClient]:
    services.outbox = outbox_for(services)  # the page's own, as web_services() hands it the Box's
    with TestClient(create_app(services), base_url="http://ivrbox.local") as client:
        do_setup(client)
        r = post(client, "/settings/integrations/hook",
                 {"key": "", "name": "crm", "preset": "generic", "url": rx.url + "/hooks", "secret": SECRET,
                  "token": "", "target": "", "events": ["voicemail", "callback"], "enabled": "1", "language": ""})
        assert r.status_code == 303, r.text
        yield client


def failed_delivery(services, clock, rx: Receiver, event: str = "voicemail") -> int:
    """An event the engine's outbox could not deliver: two attempts while the receiver is
    down, then given up (dead)."""
    engine = outbox_for(services)
    settings = services.settings()
    [job] = enqueue_event(engine, settings, make_event(event, settings, {"message_id": 7}, clock.ms))
    was_up = rx._server is not None
    rx.stop()
    asyncio.run(engine.deliver_due())
    clock.ms += RETRY_MS
    asyncio.run(engine.deliver_due())
    if was_up:
        rx.start()
    stored = services.store.jobs.get(job)
    assert stored.state == "dead" and "cannot reach 127.0.0.1" in stored.last_error
    return job


def row_state(html: str, job: int) -> str:
    m = re.search(rf'<li data-job="{job}" data-state="([a-z]+)">', html)
    return m.group(1) if m else ""


def test_send_again_while_down_then_when_back(page: TestClient, services, clock, rx: Receiver) -> None:
    rx.stop()
    job = failed_delivery(services, clock, rx)
    html = page.get("/settings/integrations").text
    section = html.split('id="hook-crm"')[1].split("</section>")[0]
    assert "Failed deliveries (1)" in section and f'name="job" value="{job}"' in section
    assert ">Send again</button>" in section and "Send all again" not in section  # one: no "all"
    payload = services.store.jobs.get(job).payload
    # Still down: tried at once, fails again, and is retried on the normal schedule.
    r = post(page, "/settings/integrations/crm/resend", {"job": str(job)})
    assert r.status_code == 303 and r.headers["location"] == f"/settings/integrations?resent={job}#hook-crm"
    stored = services.store.jobs.get(job)
    assert (stored.state, stored.attempts, stored.due_ms) == ("pending", 1, clock.ms + RETRY_MS)
    html = page.get(r.headers["location"]).text
    assert "Sent again: not all delivered yet." in html and row_state(html, job) == "retrying"
    assert "Failed; next try at" in html
    # Back up: sent again, it arrives signed, with the same body and delivery id.
    rx.start()
    started = time.time()
    r = post(page, "/settings/integrations/crm/resend", {"job": str(job)})
    assert services.store.jobs.get(job).state == "done"
    [seen] = rx.requests
    assert seen.path == "/hooks" and seen.json() == payload["event"]
    assert seen.headers[DELIVERY_HEADER] == payload["delivery"]
    assert abs(int(seen.headers[TIMESTAMP_HEADER]) - started) <= 2  # signed now, not when it failed
    assert verify_signature(SECRET, seen.body, seen.headers[TIMESTAMP_HEADER], seen.headers[SIGNATURE_HEADER],
                            now_s=time.time())
    assert not verify_signature("x" * 24, seen.body, seen.headers[TIMESTAMP_HEADER],
                                seen.headers[SIGNATURE_HEADER], now_s=time.time())
    html = page.get(r.headers["location"]).text
    assert "Sent again: delivered." in html and row_state(html, job) == "delivered"
    assert "No failed deliveries." in html.split('id="hook-crm"')[1].split("</section>")[0]
    # Delivered jobs are no longer waiting: pressing again is refused, nothing is sent.
    assert post(page, "/settings/integrations/crm/resend", {"job": str(job)}).status_code == 404
    assert len(rx.requests) == 1


def test_send_all_again(page: TestClient, services, clock, rx: Receiver) -> None:
    jobs = [failed_delivery(services, clock, rx, event) for event in ("voicemail", "callback")]
    html = page.get("/settings/integrations").text
    assert "Send all again (2)" in html
    r = post(page, "/settings/integrations/crm/resend", {})
    assert r.status_code == 303
    assert [services.store.jobs.get(j).state for j in jobs] == ["done", "done"]
    assert [s.json()["event"] for s in rx.requests] == ["voicemail", "callback"]  # oldest first
    html = page.get(r.headers["location"]).text
    assert "Sent again: delivered." in html and [row_state(html, j) for j in jobs] == ["delivered"] * 2
    api = page.post("/api/settings/webhooks/crm/resend", json={}, headers={"X-CSRF-Token": csrf_of(page)})
    assert api.status_code == 200 and api.json() == {"deliveries": []}


def test_send_all_again_stops_trying_when_the_receiver_is_still_down(page, services, clock, rx) -> None:
    jobs = [failed_delivery(services, clock, rx, event) for event in ("voicemail", "callback")]
    rx.stop()
    r = page.post("/api/settings/webhooks/crm/resend", json={}, headers={"X-CSRF-Token": csrf_of(page)})
    states = [(d["id"], d["state"], d["attempts"]) for d in r.json()["deliveries"]]
    assert states == [(jobs[0], "retrying", 1), (jobs[1], "retrying", 0)]  # the second was not tried
    assert services.store.jobs.get(jobs[1]).due_ms == services.store.jobs.get(jobs[0]).due_ms


def test_csrf_and_refusals(page: TestClient, services, clock, rx: Receiver) -> None:
    job = failed_delivery(services, clock, rx)
    r = page.post("/settings/integrations/crm/resend", data={"job": str(job)}, follow_redirects=False)
    assert r.status_code == 403 and services.store.jobs.get(job).state == "dead"
    assert post(page, "/settings/integrations/crm/resend", {"job": "999"}).status_code == 404
    assert post(page, "/settings/integrations/crm/resend", {"job": "x"}).status_code == 404
    assert post(page, "/settings/integrations/nope/resend", {"job": str(job)}).status_code == 404
    bad = page.post("/api/settings/webhooks/crm/resend", json={"job": "7"}, headers={"X-CSRF-Token": csrf_of(page)})
    assert bad.status_code == 422 and "job" in bad.text

    def off(data: dict) -> None:
        data["webhooks"]["crm"]["enabled"] = False
    page.app.state.web.publisher.edit(off, "hook off")
    r = post(page, "/settings/integrations/crm/resend", {"job": str(job)})
    assert r.status_code == 409 and "Turn it on" in r.text and "Traceback" not in r.text
    assert services.store.jobs.get(job).state == "dead" and rx.requests == []


def test_zh_tw(page: TestClient, services, clock, rx: Receiver) -> None:
    job = failed_delivery(services, clock, rx)
    page.cookies.set("ivrbox_lang", "zh-TW", domain="ivrbox.local")
    html = page.get("/settings/integrations").text
    assert "重新傳送</button>" in html and "失敗" in html
    r = post(page, "/settings/integrations/crm/resend", {"job": str(job)})
    assert "已重新傳送：送達。" in page.get(r.headers["location"]).text


def test_without_an_outbox_the_job_waits_for_the_engines_worker(page: TestClient, services, clock, rx) -> None:
    job = failed_delivery(services, clock, rx)
    services.outbox = None
    r = post(page, "/settings/integrations/crm/resend", {"job": str(job)})
    stored = services.store.jobs.get(job)
    assert (stored.state, stored.attempts, stored.due_ms) == ("pending", 0, clock.ms)
    html = page.get(r.headers["location"]).text
    assert row_state(html, job) == "queued" and "Waiting to be sent (within a minute)" in html
    assert rx.requests == []
    asyncio.run(outbox_for(services).deliver_due())  # the engine's worker on its next look
    assert services.store.jobs.get(job).state == "done" and len(rx.requests) == 1
