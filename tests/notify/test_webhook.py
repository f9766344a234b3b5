"""Webhooks against a real local HTTP receiver: signing, outbox retries (down then back,
500 then 200, slow), permanent refusals, LINE and Telegram request formats, test events."""

from __future__ import annotations

import asyncio
import json
import re
import textwrap
import uuid
from pathlib import Path

import pytest

from firmware.notify.outbox import Backoff, Outbox
from firmware.notify.presets import OUTCOMES, render_text
from firmware.notify.webhook import (
    WEBHOOK_KIND,
    WebhookSender,
    enqueue_event,
    make_event,
    send_test_event,
    sign,
    verify_signature,
)
from firmware.settings import parse
from firmware.store import Store
from tests.notify.receiver import Receiver, Reply

SECRET = "s3cret-key-for-hmac-123"
LINE_ID = "U" + "4" * 32
TG_TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwx"
T0_MS = 1_790_000_000_000  # the injected clock's start (Unix ms)

BASE = """\
business: {name: Test Office, timezone: Asia/Taipei, country: tw, languages: [en, zh-TW]}
prompts:
  hello: {en: Hello, zh-TW: 您好}
flow:
  entry: bye
  nodes:
    bye: {type: hangup, prompt: hello}
page_url: http://ivrbox.local:8080
webhooks:
"""


class Clock:
    def __init__(self, t: int = T0_MS):
        self.t = t

    def __call__(self) -> int:
        return self.t


def settings_with(hooks: str):
    return parse(BASE + textwrap.indent(textwrap.dedent(hooks), "  "))


def rig(tmp_path: Path, settings, clock: Clock) -> tuple[Store, Outbox]:
    store = Store(tmp_path, clock_ms=clock)
    outbox = Outbox(store.jobs, {WEBHOOK_KIND: WebhookSender(lambda: settings, clock_ms=clock)},
                    clock_ms=clock, rand=lambda: 0.5,
                    backoff=Backoff(first_ms=30_000, factor=2, max_attempts=5))
    return store, outbox


def voicemail_event(settings) -> dict:
    data = {"message_id": 7, "mailbox": "general", "mailbox_name": "General",
            "caller": {"number": "0912345678", "name": "Ann"}, "duration_s": 42.0,
            "url": "http://ivrbox.local:8080/voicemail/7"}
    return make_event("voicemail", settings, data, T0_MS)


def test_signature_covers_timestamp_and_body() -> None:
    body = b'{"event": "test"}'
    sig = sign(SECRET, 1000, body)
    assert verify_signature(SECRET, body, "1000", sig, now_s=1100)
    assert not verify_signature(SECRET, body + b" ", "1000", sig, now_s=1100)  # body changed
    assert not verify_signature(SECRET, body, "1001", sig, now_s=1100)  # timestamp changed
    assert not verify_signature("another-secret-123456", body, "1000", sig, now_s=1100)
    assert not verify_signature(SECRET, body, "1000", sig, now_s=1000 + 301)  # replayed later
    assert not verify_signature(SECRET, body, None, sig, now_s=1000)


def test_generic_hook_is_down_then_back_and_nothing_is_lost(tmp_path: Path) -> None:
    rx = Receiver([Reply(204, "")])
    port = rx.port
    rx.stop()  # the receiver is down (connection refused)
    settings = settings_with(f"office: {{url: '{rx.url}/hooks/ivr', secret: {SECRET}}}")
    clock = Clock()
    store, outbox = rig(tmp_path, settings, clock)

    async def scenario() -> None:
        [job_id] = enqueue_event(outbox, settings, voicemail_event(settings))
        assert await outbox.deliver_due() == 1
        job = store.jobs.get(job_id)
        assert job.state == "pending" and job.attempts == 1 and "cannot reach" in job.last_error
        assert job.due_ms == T0_MS + 30_000
        assert await outbox.deliver_due() == 0  # not due yet: nothing sleeps, the clock decides
        rx.port = port
        rx.start()  # back on the same address
        clock.t += 30_000
        assert await outbox.deliver_due() == 1
        assert store.jobs.get(job_id).state == "done"

    try:
        asyncio.run(scenario())
        [seen] = rx.requests
        assert seen.method == "POST" and seen.path == "/hooks/ivr"
        assert seen.headers["Content-Type"] == "application/json"
        assert seen.headers["X-Ivrbox-Event"] == "voicemail"
        assert seen.headers["X-Ivrbox-Timestamp"] == str((T0_MS + 30_000) // 1000)
        assert verify_signature(SECRET, seen.body, seen.headers["X-Ivrbox-Timestamp"],
                                seen.headers["X-Ivrbox-Signature"], now_s=(T0_MS + 30_000) / 1000)
        event = seen.json()
        assert event["event"] == "voicemail" and event["business"] == "Test Office"
        assert event["occurred_at"].endswith("+08:00")
        assert event["data"]["url"] == "http://ivrbox.local:8080/voicemail/7"
        assert event["data"]["duration_s"] == 42.0 and event["data"]["caller"]["number"] == "0912345678"
        uuid.UUID(seen.headers["X-Ivrbox-Delivery"])
    finally:
        rx.stop()
        store.close()


def test_500_then_200_keeps_one_delivery_id(tmp_path: Path) -> None:
    with Receiver([Reply(500, "oops"), Reply(200, "ok")]) as rx:
        settings = settings_with(f"office: {{url: '{rx.url}/h', secret: {SECRET}}}")
        clock = Clock()
        store, outbox = rig(tmp_path, settings, clock)

        async def scenario() -> None:
            [job_id] = enqueue_event(outbox, settings, voicemail_event(settings))
            await outbox.deliver_due()
            job = store.jobs.get(job_id)
            assert job.state == "pending" and "HTTP 500 oops" in job.last_error
            clock.t += 30_000
            await outbox.deliver_due()
            assert store.jobs.get(job_id).state == "done"

        asyncio.run(scenario())
        first, second = rx.requests
        assert first.headers["X-Ivrbox-Delivery"] == second.headers["X-Ivrbox-Delivery"]
        assert first.body == second.body  # same event; only the timestamp/signature move
        assert first.headers["X-Ivrbox-Timestamp"] != second.headers["X-Ivrbox-Timestamp"]
        store.close()


@pytest.mark.parametrize("status, state", [(400, "dead"), (410, "dead"), (408, "pending"),
                                           (429, "pending"), (503, "pending")])
def test_4xx_is_permanent_except_408_and_429(tmp_path: Path, status: int, state: str) -> None:
    with Receiver([Reply(status, "no")]) as rx:
        settings = settings_with(f"office: {{url: '{rx.url}/h', secret: {SECRET}}}")
        store, outbox = rig(tmp_path, settings, Clock())
        [job_id] = enqueue_event(outbox, settings, voicemail_event(settings))
        asyncio.run(outbox.deliver_due())
        assert store.jobs.get(job_id).state == state
        store.close()


def test_slow_receiver_times_out_and_is_retried(tmp_path: Path) -> None:
    with Receiver([Reply(200, "late", delay_s=1.5), Reply(200, "ok")]) as rx:
        settings = settings_with(f"office: {{url: '{rx.url}/h', secret: {SECRET}, timeout_s: 0.3}}")
        clock = Clock()
        store, outbox = rig(tmp_path, settings, clock)

        async def scenario() -> float:
            [job_id] = enqueue_event(outbox, settings, voicemail_event(settings))
            loop = asyncio.get_running_loop()
            started = loop.time()
            ticks = 0

            async def ticker() -> None:  # the event loop stays free while the POST waits
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            tick_task = asyncio.create_task(ticker())
            await outbox.deliver_due()
            waited = loop.time() - started
            tick_task.cancel()
            job = store.jobs.get(job_id)
            assert job.state == "pending" and "no answer within 0.3 s" in job.last_error, job
            assert ticks >= 10
            clock.t += 30_000
            await outbox.deliver_due()
            assert store.jobs.get(job_id).state == "done"
            return waited

        waited = asyncio.run(scenario())
        assert waited < 1.2, waited  # bounded by the hook's timeout, not the slow server
        store.close()


def test_disabled_removed_and_unsubscribed_hooks(tmp_path: Path) -> None:
    with Receiver() as rx:
        settings = settings_with(f"""\
            on: {{url: '{rx.url}/a', secret: {SECRET}, events: [call_ended]}}
            off: {{url: '{rx.url}/b', secret: {SECRET}, enabled: false}}
            all: {{url: '{rx.url}/c', secret: {SECRET}}}
        """)
        store, outbox = rig(tmp_path, settings, Clock())
        jobs = enqueue_event(outbox, settings, voicemail_event(settings))
        assert [store.jobs.get(j).payload["hook"] for j in jobs] == ["all"]
        later = settings_with(f"other: {{url: '{rx.url}/d', secret: {SECRET}}}")
        outbox.handlers[WEBHOOK_KIND] = WebhookSender(lambda: later)
        asyncio.run(outbox.deliver_due())
        job = store.jobs.get(jobs[0])
        assert job.state == "dead" and "no longer configured" in job.last_error
        assert rx.requests == []
        store.close()


def test_line_preset_sends_the_push_message_format(tmp_path: Path) -> None:
    with Receiver([Reply(500, "{}"), Reply(200, "{}")]) as rx:
        settings = settings_with(f"""\
            line: {{preset: line, token: chan-token-xyz, target: {LINE_ID}, language: zh-TW,
                   api_base: '{rx.url}'}}
        """)
        clock = Clock()
        store, outbox = rig(tmp_path, settings, clock)

        async def scenario() -> None:
            [job_id] = enqueue_event(outbox, settings, voicemail_event(settings))
            await outbox.deliver_due()
            clock.t += 30_000
            await outbox.deliver_due()
            assert store.jobs.get(job_id).state == "done"

        asyncio.run(scenario())
        first, second = rx.requests
        assert first.path == "/v2/bot/message/push"
        assert first.headers["Authorization"] == "Bearer chan-token-xyz"
        assert first.headers["Content-Type"] == "application/json"
        uuid.UUID(first.headers["X-Line-Retry-Key"])
        assert second.headers["X-Line-Retry-Key"] == first.headers["X-Line-Retry-Key"]
        body = first.json()
        assert set(body) == {"to", "messages"} and body["to"] == LINE_ID
        [message] = body["messages"]
        assert set(message) == {"type", "text"} and message["type"] == "text"
        assert message["text"] == ("[Test Office] General有新留言，來自0912345678（Ann），長度 0:42。"
                                   "收聽：http://ivrbox.local:8080/voicemail/7")
        assert "X-Ivrbox-Signature" not in first.headers
        store.close()


def test_line_409_means_an_earlier_try_was_accepted(tmp_path: Path) -> None:
    with Receiver([Reply(409, '{"message": "The retry key is already accepted"}')]) as rx:
        settings = settings_with(f"line: {{preset: line, token: t, target: {LINE_ID}, api_base: '{rx.url}'}}")
        store, outbox = rig(tmp_path, settings, Clock())
        [job_id] = enqueue_event(outbox, settings, voicemail_event(settings))
        asyncio.run(outbox.deliver_due())
        assert store.jobs.get(job_id).state == "done"
        store.close()


def test_telegram_preset_sends_send_message(tmp_path: Path) -> None:
    with Receiver([Reply(200, '{"ok": true, "result": {}}')]) as rx:
        settings = settings_with(f"""\
            tg: {{preset: telegram, token: "{TG_TOKEN}", target: -1001234567890, api_base: '{rx.url}/'}}
        """)
        store, outbox = rig(tmp_path, settings, Clock())
        event = make_event("callback", settings, {"number": "0223456789",
                                                  "caller": {"number": "0223456789", "name": None}}, T0_MS)
        [job_id] = enqueue_event(outbox, settings, event)
        asyncio.run(outbox.deliver_due())
        assert store.jobs.get(job_id).state == "done"
        [seen] = rx.requests
        assert seen.path == f"/bot{TG_TOKEN}/sendMessage"
        assert seen.headers["Content-Type"] == "application/json"
        assert seen.json() == {"chat_id": -1001234567890,
                               "text": "[Test Office] 0223456789 asks to be called back at 0223456789."}
        store.close()


def test_texts_per_event_and_language() -> None:
    settings = settings_with(f"a: {{url: 'http://x.example', secret: {SECRET}}}")
    ended = make_event("call_ended", settings, {"caller": {"number": None, "name": None},
                                                "duration_s": 75, "outcome": "voicemail",
                                                "path": ["start", "main", "general_vm"]}, T0_MS)
    assert render_text(ended, "en") == ("[Test Office] Call from an unknown caller ended after 1:15: "
                                        "left a message. Path: start > main > general_vm.")
    assert "未顯示號碼的來電者的來電已結束，通話 1:15，結果：已留言" in render_text(ended, "zh-TW")
    tty = make_event("tty_message", settings, {"mailbox_name": "General", "text": "CALL ME GA",
                                               "caller": {"number": "5", "name": None}}, T0_MS)
    assert render_text(tty, "en").endswith("for General from 5: CALL ME GA")
    survey = make_event("survey", settings, {"survey": "survey", "answer": "4",
                                             "caller": {"number": "5", "name": None}}, T0_MS)
    assert render_text(survey, "zh-TW") == "[Test Office] 問卷「survey」：來電者（5）回答 4。"


def test_send_test_event_reports_status_and_body() -> None:
    with Receiver([Reply(202, '{"received": true}')]) as rx:
        settings = settings_with(f"office: {{url: '{rx.url}/h', secret: {SECRET}}}")
        result = asyncio.run(send_test_event(settings.webhooks["office"], settings,
                                             clock_ms=lambda: T0_MS))
        assert (result.ok, result.status, result.body, result.error) == (True, 202, '{"received": true}', None)
        [seen] = rx.requests
        assert seen.json()["event"] == "test"
        assert verify_signature(SECRET, seen.body, seen.headers["X-Ivrbox-Timestamp"],
                                seen.headers["X-Ivrbox-Signature"], now_s=T0_MS / 1000)
    with Receiver([Reply(401, "bad token")]) as rx:
        settings = settings_with(f"line: {{preset: line, token: t, target: {LINE_ID}, api_base: '{rx.url}'}}")
        result = asyncio.run(send_test_event(settings.webhooks["line"], settings))
        assert (result.ok, result.status, result.body, result.error) == (False, 401, "bad token", "HTTP 401")
        assert "Test message from your phone attendant" in json.loads(rx.requests[0].body)["messages"][0]["text"]
    port = rx.port  # now closed: nobody listens
    settings = settings_with(f"office: {{url: 'http://127.0.0.1:{port}/h', secret: {SECRET}}}")
    result = asyncio.run(send_test_event(settings.webhooks["office"], settings))
    assert not result.ok and result.status is None and "cannot reach" in result.error


def _outcomes_the_firmware_writes() -> set[str]:
    """Every outcome literal the engine and call log assign, found in the source itself."""
    found: set[str] = set()
    pattern = re.compile(r'(?:\boutcome\s*=\s*|\.finish\([^,]+,\s*)"([a-z_]+)"')
    for path in Path("firmware").rglob("*.py"):
        found.update(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_call_outcome_reads_as_words_in_both_languages() -> None:
    from firmware.web.routes.calls import OUTCOMES as PAGE_OUTCOMES

    written = _outcomes_the_firmware_writes() - {"tty_caller"}  # a forward attempt's, not a call's
    assert {"forwarded", "voicemail", "interrupted"} <= written
    for outcome in sorted(written | set(PAGE_OUTCOMES)):
        assert set(OUTCOMES.get(outcome, {})) == {"en", "zh-TW"}, outcome
        event = {"event": "call_ended", "business": "", "data": {"outcome": outcome, "duration_s": 5}}
        assert outcome not in render_text(event, "zh-TW")
