"""Webhook events from real calls on the simulated line: a voicemail call queues
`voicemail` (with the page link) and `call_ended` (with the path); a survey answer
queues `survey`; the outbox delivers them, signed, to a local receiver."""

from __future__ import annotations

import asyncio

from firmware.notify.webhook import WEBHOOK_KIND, verify_signature
from firmware.line.simscript import HangUp, Press, Speak, Wait, WaitForBeep
from tests.ivr.conftest import KNOWN, voice
from tests.notify.receiver import Receiver, Reply

SECRET = "a-webhook-secret-0123"


def test_voicemail_and_call_end_reach_the_receiver_signed(make_phone) -> None:
    with Receiver([Reply(200, "ok")]) as rx:
        phone = make_phone({"page_url": "http://box.lan:8080",
                            "webhooks": {"office": {"url": f"{rx.url}/in", "secret": SECRET}}})
        script = [Wait(500), Press("3"), WaitForBeep(), Speak(voice(2.0)), Press("#"), Wait(4000), HangUp()]
        summary, _ = phone.call(script, number=KNOWN)
        jobs = [j for j in phone.store.jobs.list() if j.kind == WEBHOOK_KIND]
        assert sorted(j.payload["event"]["event"] for j in jobs) == ["call_ended", "voicemail"]
        asyncio.run(phone.box.outbox.deliver_due())
        assert all(phone.store.jobs.get(j.id).state == "done" for j in jobs)
        by_event = {s.json()["event"]: s for s in rx.requests}
        vm = by_event["voicemail"].json()["data"]
        assert vm["url"] == f"http://box.lan:8080/voicemail/{vm['message_id']}"
        assert vm["mailbox"] == "support" and vm["caller"]["number"] == KNOWN
        assert 1.5 <= vm["duration_s"] <= 3.0
        ended = by_event["call_ended"].json()["data"]
        assert ended["path"] == list(summary.path) and ended["outcome"] == "voicemail"
        for seen in rx.requests:
            assert verify_signature(SECRET, seen.body, seen.headers["X-Ivrbox-Timestamp"],
                                    seen.headers["X-Ivrbox-Signature"],
                                    now_s=int(seen.headers["X-Ivrbox-Timestamp"]))


def test_survey_answer_is_an_event_for_subscribed_hooks_only(make_phone) -> None:
    phone = make_phone({"webhooks": {
        "surveys": {"url": "http://127.0.0.1:9/s", "secret": SECRET, "events": ["survey"]},
        "ends": {"url": "http://127.0.0.1:9/e", "secret": SECRET, "events": ["call_ended"],
                 "enabled": False}}})
    phone.call("wait 0.5; press 6; wait 2; waitsilence; press 4; wait 3; hangup", number=KNOWN)
    jobs = [j.payload for j in phone.store.jobs.list() if j.kind == WEBHOOK_KIND]
    assert [(p["hook"], p["event"]["event"]) for p in jobs] == [("surveys", "survey")]
    data = jobs[0]["event"]["data"]
    assert (data["survey"], data["question"], data["answer"]) == ("survey", "survey", "4")
    assert data["question_text"] == "Rate us one to five."


def test_a_call_end_and_its_event_commit_together(make_phone, monkeypatch) -> None:
    """While the call_ended event is queued, nobody else sees the call closed yet: the
    close and the queued event are one transaction, so a crash can never leave a call
    closed in the log with its event lost (an open call is closed and announced at the
    next start)."""
    import sqlite3

    phone = make_phone({"webhooks": {"office": {"url": "http://127.0.0.1:9/in", "secret": SECRET}}})
    hooks = phone.box.notifier.hooks
    queue_event = hooks.call_ended
    seen_from_outside: list[object] = []

    def call_ended(call_id: int) -> None:
        with sqlite3.connect(phone.store.db.path) as other:  # another process's view
            seen_from_outside.append(other.execute(
                "SELECT ended_ms FROM calls WHERE id = ?", (call_id,)).fetchone()[0])
        queue_event(call_id)

    monkeypatch.setattr(hooks, "call_ended", call_ended)
    summary, _ = phone.call("wait 0.5; press 1; wait 3; hangup", number=KNOWN)
    assert seen_from_outside == [None]  # not committed while the event was being queued
    assert phone.store.calls.get(summary.call_id).ended_ms is not None
    [job] = [j for j in phone.store.jobs.list() if j.kind == WEBHOOK_KIND]
    assert job.payload["event"]["event"] == "call_ended"


def test_a_failing_listener_never_undoes_the_call_end_nor_its_event(make_phone) -> None:
    """A display listener (the status file on a full SD card, a closed transcript pipe)
    that raises at call_end: the call is still closed in the log with its real outcome,
    and its call_ended event is still queued."""
    from firmware.appliance import simulated_call
    from firmware.dsp.callerid import CallerIdInfo
    from firmware.line.sim import SimCaller

    phone = make_phone({"webhooks": {"office": {"url": "http://127.0.0.1:9/in", "secret": SECRET}}})

    def listener(kind: str, detail: dict) -> None:
        if kind == "call_end":
            raise OSError(28, "No space left on device")

    caller = SimCaller("wait 0.5; press 1; wait 3; hangup", caller_id=CallerIdInfo(number=KNOWN))
    summary = asyncio.run(simulated_call(phone.box, caller, on_event=listener))
    call = phone.store.calls.get(summary.call_id)
    assert call.ended_ms is not None and call.outcome == summary.outcome != "interrupted"
    [job] = [j for j in phone.store.jobs.list() if j.kind == WEBHOOK_KIND]
    assert job.payload["event"]["event"] == "call_ended"
