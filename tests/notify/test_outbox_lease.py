"""The outbox's send lease, with two Store/Outbox pairs on one SQLite file (the engine and
the web page are two processes on the Box): an e-mail the engine is sending is not sent
again by the page nor taken by another worker; a sender that dies mid-send loses the job
when its lease runs out, and its late verdict is refused; a cancelled sender gives the
lease back. Fake clock; the blocking mail server is released by the test, never slept on."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from firmware.errors import StoreError, UsageError
from firmware.notify.outbox import Backoff, DeliveryFailed, Outbox
from firmware.store import Store
from tests.notify.test_outbox import GUARD_S, Clock, Flaky

LEASE_MS = 60_000


class BlockingMail:
    """An e-mail handler that holds every send until the test releases it."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.delivered: list[dict[str, Any]] = []

    async def __call__(self, payload: dict[str, Any]) -> None:
        self.started.set()
        if not await asyncio.to_thread(self.release.wait, GUARD_S):
            raise DeliveryFailed("test guard: never released")
        self.delivered.append(payload)


def _outbox(store: Store, handler, clock: Clock) -> Outbox:
    return Outbox(store.jobs, {"email": handler}, backoff=Backoff(first_ms=30_000, jitter=0, max_attempts=5),
                  clock_ms=clock, lease_ms=LEASE_MS, rand=lambda: 0.5)


def test_an_email_being_sent_is_not_sent_again_from_the_page(tmp_path: Path) -> None:
    clock = Clock()
    engine_store, page_store = Store(tmp_path, clock_ms=clock), Store(tmp_path, clock_ms=clock)
    mail = BlockingMail()
    engine = _outbox(engine_store, Flaky([OSError("mail server down")]), clock)
    job = engine.enqueue("email", {"to": ["owner@example.com"], "subject": "New voicemail"})
    asyncio.run(engine.deliver_due())  # failed once: "undelivered", waiting to retry
    assert [j.id for j in page_store.jobs.undelivered("email")] == [job]
    clock.t += 30_000
    engine.handlers["email"] = mail
    page = _outbox(page_store, mail, clock)
    worker = threading.Thread(target=lambda: asyncio.run(engine.deliver_due()))
    worker.start()
    try:
        assert mail.started.wait(GUARD_S)
        seen = page_store.jobs.get(job)
        assert seen.leased(clock.t) and seen.sending_until == clock.t + LEASE_MS and seen.attempts == 2
        assert page_store.jobs.undelivered("email") == []  # not listed as failed meanwhile
        assert not page_store.jobs.requeue(job, clock.t)
        assert asyncio.run(page.send_again([job])) == []  # the page's "send again" leaves it alone
        assert page_store.jobs.due(clock.t) == [] and asyncio.run(page.deliver_due()) == 0
        assert page_store.jobs.begin_attempt(job, now_ms=clock.t) is None
        assert page_store.jobs.next_due_ms() == clock.t + LEASE_MS
    finally:
        mail.release.set()
        worker.join(GUARD_S)
    assert not worker.is_alive()
    done = page_store.jobs.get(job)
    assert (done.state, done.attempts, done.sending_until) == ("done", 2, None)
    assert len(mail.delivered) == 1  # exactly one e-mail went out
    engine_store.close()
    page_store.close()


def test_a_dead_senders_lease_runs_out_and_its_late_verdict_is_refused(tmp_path: Path) -> None:
    clock = Clock()
    crashed, other = Store(tmp_path, clock_ms=clock), Store(tmp_path, clock_ms=clock)
    job = crashed.jobs.add("email", {"n": 1})
    lease = clock.t + LEASE_MS
    assert crashed.jobs.begin_attempt(job, until_ms=lease, now_ms=clock.t) == 1  # then the process dies
    with pytest.raises(StoreError):
        crashed.jobs.begin_attempt(job, until_ms=clock.t, now_ms=clock.t)  # a lease must end after now
    clock.t = lease - 1
    assert other.jobs.due(clock.t) == [] and other.jobs.next_due_ms() == lease
    clock.t = lease  # run out: due again, nothing lost
    flaky = Flaky()
    assert asyncio.run(_outbox(other, flaky, clock).deliver_due()) == 1
    assert flaky.delivered == [{"n": 1}]
    assert (other.jobs.get(job).state, other.jobs.get(job).attempts) == ("done", 2)
    # The first sender wakes up late: its verdict no longer counts.
    assert not crashed.jobs.retry(job, "timed out", due_ms=clock.t + 1, lease=lease)
    assert not crashed.jobs.dead(job, "timed out", lease=lease)
    assert other.jobs.get(job).state == "done" and other.jobs.get(job).last_error is None
    crashed.close()
    other.close()


def test_send_again_after_an_expired_lease_fences_out_the_old_sender(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path, clock_ms=clock)
    job = store.jobs.add("email", {"n": 1})
    old = clock.t + LEASE_MS
    assert store.jobs.begin_attempt(job, until_ms=old, now_ms=clock.t) == 1
    assert store.jobs.retry(job, "connection refused", due_ms=clock.t + 30_000, lease=old)  # its own: kept
    assert store.jobs.get(job).sending_until is None and store.jobs.undelivered("email")[0].id == job
    second = clock.t + 10 + LEASE_MS
    clock.t += 10
    assert store.jobs.begin_attempt(job, until_ms=second, now_ms=clock.t) == 2
    clock.t = second  # that sender hung past its lease: the owner may send again
    assert store.jobs.requeue(job, clock.t)
    assert not store.jobs.done(job, lease=second)  # the hung sender's late "done" is refused
    assert (store.jobs.get(job).state, store.jobs.get(job).attempts) == ("pending", 0)
    store.close()


def test_a_cancelled_sender_gives_its_lease_back(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path, clock_ms=clock)
    outbox = _outbox(store, BlockingMail(), clock)
    job = outbox.enqueue("email", {"n": 1})

    async def scenario() -> None:
        task = asyncio.ensure_future(outbox.deliver_due())
        handler = outbox.handlers["email"]
        await asyncio.to_thread(handler.started.wait, GUARD_S)
        assert store.jobs.get(job).leased(clock.t)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        handler.release.set()

    asyncio.run(scenario())
    assert not store.jobs.get(job).leased(clock.t) and [j.id for j in store.jobs.due(clock.t)] == [job]
    with pytest.raises(UsageError):
        Outbox(store.jobs, {}, lease_ms=0)
    store.close()
