"""Settings -> Integrations, "send again" against the engine's outbox on the same SQLite
file (two Store instances, as the page and the engine are two processes on the Box):
a delivery the engine is sending right now is neither listed nor sent again, and the
receiver gets it exactly once; "send all again" reaches every failed delivery of a hook,
not only the 20 the page lists, against a real receiver on 127.0.0.1 that is down, then back."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from firmware.notify.outbox import SEND_AGAIN_NOW
from firmware.notify.webhook import DELIVERY_HEADER, enqueue_event, make_event
from firmware.store import Store
from firmware.web.routes.settings_deliveries import SHOWN_PER_HOOK
from tests.notify.receiver import Receiver, Reply, Seen
from tests.web.conftest import csrf_of, post
from tests.web.test_resend import RETRY_MS, outbox_for, page, row_state, rx  # noqa: F401 - fixtures

GUARD_S = 10  # a hung test fails after this; nothing waits on it when things work


def _section(html: str, hook: str = "crm") -> str:
    return html.split(f'id="hook-{hook}"')[1].split("</section>")[0]


def _wait_until(check, what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_send_again_leaves_a_delivery_the_engine_is_sending_right_now(
        page: TestClient, services, clock, rx: Receiver, tmp_path: Path) -> None:
    engine_store = Store(tmp_path / "data", clock_ms=clock)  # the engine's own, on the same file
    try:
        engine = outbox_for(services)
        engine.jobs = engine_store.jobs
        settings = services.settings()
        rx.stop()
        [job] = enqueue_event(engine, settings, make_event("voicemail", settings, {"message_id": 7}, clock.ms))
        asyncio.run(engine.deliver_due())  # refused: failed once, retried in 30 s
        assert services.store.jobs.get(job).last_error and [j.id for j in services.store.jobs.undelivered(
            "webhook")] == [job]
        rx.start()
        release = threading.Event()

        def blocking(seen: Seen) -> Reply:
            release.wait(GUARD_S)
            return Reply(200, '{"ok": true}')

        rx.handler = blocking
        clock.ms += RETRY_MS
        worker = threading.Thread(target=lambda: asyncio.run(engine.deliver_due()))
        worker.start()
        try:
            _wait_until(lambda: len(rx.requests) == 1, "the engine's attempt to reach the receiver")
            leased = services.store.jobs.get(job)
            assert leased.state == "pending" and leased.leased(clock.ms) and leased.attempts == 2
            # The page: not listed as failed, and neither "send again" nor "send all again" sends it.
            assert "No failed deliveries." in _section(page.get("/settings/integrations").text)
            r = post(page, "/settings/integrations/crm/resend", {"job": str(job)})
            assert r.status_code == 409 and "Traceback" not in r.text
            assert "That delivery is being sent right now." in r.text
            api = page.post("/api/settings/webhooks/crm/resend", json={}, headers={"X-CSRF-Token": csrf_of(page)})
            assert api.status_code == 200 and api.json() == {"deliveries": []}
            single = page.post("/api/settings/webhooks/crm/resend", json={"job": job},
                               headers={"X-CSRF-Token": csrf_of(page)})
            assert single.status_code == 409 and "being sent right now" in single.text
            assert asyncio.run(services.outbox.send_again([job])) == []  # the page's outbox itself
            assert asyncio.run(services.outbox.deliver_due()) == 0  # nor a second worker
            assert len(rx.requests) == 1 and services.store.jobs.get(job).attempts == 2  # nothing reset
        finally:
            release.set()
            worker.join(GUARD_S)
        assert not worker.is_alive()
        done = services.store.jobs.get(job)
        assert (done.state, done.attempts, done.sending_until) == ("done", 2, None)
        assert len(rx.requests) == 1  # exactly one delivery reached the receiver
        html = page.get("/settings/integrations").text
        assert "No failed deliveries." in _section(html)
        assert post(page, "/settings/integrations/crm/resend", {"job": str(job)}).status_code == 404
        assert len(rx.requests) == 1
    finally:
        engine_store.close()


def test_send_all_again_sends_every_failed_delivery_not_only_those_shown(
        page: TestClient, services, clock, rx: Receiver) -> None:
    many = SHOWN_PER_HOOK + 5
    engine = outbox_for(services)
    settings = services.settings()
    rx.stop()
    jobs = [enqueue_event(engine, settings, make_event("voicemail", settings, {"message_id": n}, clock.ms))[0]
            for n in range(many)]
    asyncio.run(engine.deliver_due())
    clock.ms += RETRY_MS
    asyncio.run(engine.deliver_due())
    assert {services.store.jobs.get(j).state for j in jobs} == {"dead"}
    # The page lists the newest 20 and says there are 5 more; "send all again" counts all.
    section = _section(page.get("/settings/integrations").text)
    listed = [int(i) for i in re.findall(r'<tr data-job="(\d+)">', section)]
    assert listed == list(reversed(jobs))[:SHOWN_PER_HOOK]
    assert f"Failed deliveries ({many})" in section and f"Send all again ({many})" in section
    assert f"Showing the newest {SHOWN_PER_HOOK}; 5 older ones are not listed." in section
    page.cookies.set("ivrbox_lang", "zh-TW", domain="ivrbox.local")
    assert f"只列出最新的 {SHOWN_PER_HOOK} 筆，另有 5 筆較舊的未列出" in page.get("/settings/integrations").text
    page.cookies.set("ivrbox_lang", "en", domain="ivrbox.local")
    # Still down: the oldest is tried and fails; every other one waits for its retry time.
    r = post(page, "/settings/integrations/crm/resend", {})
    assert r.status_code == 303 and rx.requests == []
    first = services.store.jobs.get(jobs[0])
    assert (first.state, first.attempts, first.due_ms) == ("pending", 1, clock.ms + RETRY_MS)
    rest = [services.store.jobs.get(j) for j in jobs[1:]]
    assert {(j.state, j.attempts, j.due_ms) for j in rest} == {("pending", 0, first.due_ms)}
    assert f"Failed deliveries ({many})" in _section(page.get("/settings/integrations").text)
    # Back up: the page sends the oldest 20 itself, the other 5 are due now for the worker.
    rx.start()
    r = post(page, "/settings/integrations/crm/resend", {})
    assert r.status_code == 303
    states = [services.store.jobs.get(j).state for j in jobs]
    assert states == ["done"] * SEND_AGAIN_NOW + ["pending"] * (many - SEND_AGAIN_NOW)
    assert all(services.store.jobs.get(j).due_ms == clock.ms for j in jobs[SEND_AGAIN_NOW:])
    html = page.get(r.headers["location"]).text
    assert "Sent again: not all delivered yet." in html
    assert row_state(html, jobs[0]) == "delivered" and row_state(html, jobs[-1]) == "queued"
    assert "Waiting to be sent (within a minute)" in html
    worker = outbox_for(services)  # the engine's worker, on its next look at the queue
    assert asyncio.run(worker.deliver_due()) == many - SEND_AGAIN_NOW
    assert {services.store.jobs.get(j).state for j in jobs} == {"done"}
    sent = [s.headers[DELIVERY_HEADER] for s in rx.requests]
    assert sent == [services.store.jobs.get(j).payload["delivery"] for j in jobs]  # each once, oldest first
    assert "No failed deliveries." in _section(page.get("/settings/integrations").text)
