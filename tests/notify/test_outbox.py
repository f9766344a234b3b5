"""Persistent outbox: retries with backoff on a fake clock, dead jobs, restart, wake-ups."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from firmware.errors import UsageError
from firmware.notify.outbox import KEEP_DONE_MS, Backoff, DeliveryFailed, Outbox
from firmware.store import Store

GUARD_S = 10  # a hung test fails after this; nothing waits on it when things work


class Clock:
    def __init__(self, t: int = 1_000_000):
        self.t = t

    def __call__(self) -> int:
        return self.t


class Flaky:
    """A notifier that fails a scripted number of times, then delivers."""

    def __init__(self, failures: list[Exception] | None = None):
        self.failures = list(failures or [])
        self.delivered: list[dict[str, Any]] = []
        self.calls = 0

    async def __call__(self, payload: dict[str, Any]) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(payload)


def make(tmp_path: Path, handler, clock: Clock, **kw) -> tuple[Store, Outbox]:
    store = Store(tmp_path, clock_ms=clock)
    return store, Outbox(store.jobs, {"email": handler}, rand=lambda: 0.5, **kw)


def test_backoff_grows_is_capped_and_jittered() -> None:
    b = Backoff(first_ms=1000, factor=2, max_ms=10_000, jitter=0.2, max_attempts=5)
    assert [b.delay_ms(n, 0.5) for n in range(1, 7)] == [1000, 2000, 4000, 8000, 10_000, 10_000]
    assert b.delay_ms(1, 0.0) == 800 and b.delay_ms(1, 0.999999) == 1200
    with pytest.raises(UsageError):
        Backoff(factor=0.5)


def test_retries_with_backoff_then_delivers(tmp_path: Path) -> None:
    clock = Clock()
    handler = Flaky([DeliveryFailed("connection refused"), OSError("network down")])
    store, outbox = make(tmp_path, handler, clock, backoff=Backoff(first_ms=30_000))

    async def scenario() -> None:
        job = outbox.enqueue("email", {"to": "a@example.com"})
        assert await outbox.deliver_due() == 1
        j = store.jobs.get(job)
        assert (j.state, j.attempts, j.due_ms, j.last_error) == ("pending", 1, clock.t + 30_000,
                                                                   "connection refused")
        clock.t += 29_999
        assert await outbox.deliver_due() == 0  # not due yet
        clock.t += 1
        assert await outbox.deliver_due() == 1
        assert store.jobs.get(job).due_ms == clock.t + 60_000  # doubled
        clock.t += 60_000
        assert await outbox.deliver_due() == 1
        j = store.jobs.get(job)
        assert (j.state, j.attempts, j.done_ms) == ("done", 3, clock.t)
        assert handler.delivered == [{"to": "a@example.com"}]
        assert await outbox.deliver_due() == 0

    asyncio.run(scenario())
    store.close()


def test_permanent_failure_and_giving_up_mark_jobs_dead(tmp_path: Path) -> None:
    clock = Clock()
    handler = Flaky([DeliveryFailed("550 no such user", permanent=True)] + [OSError("down")] * 3)
    store, outbox = make(tmp_path, handler, clock, backoff=Backoff(first_ms=1000, max_attempts=3))

    async def scenario() -> None:
        first = outbox.enqueue("email", {"n": 1})
        await outbox.deliver_due()
        assert store.jobs.get(first).state == "dead"
        assert store.jobs.get(first).last_error == "550 no such user"
        second = outbox.enqueue("email", {"n": 2})
        for _ in range(5):
            await outbox.deliver_due()
            clock.t += 10_000
        j = store.jobs.get(second)
        assert (j.state, j.attempts) == ("dead", 3)
        assert j.last_error == "gave up after 3 attempts: down"
        assert handler.calls == 4

    asyncio.run(scenario())
    store.close()


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    store, outbox = make(tmp_path, Flaky(), Clock())
    with pytest.raises(UsageError, match="no notifier"):
        outbox.enqueue("carrier-pigeon", {})
    store.close()


def test_worker_wakes_on_new_jobs_and_on_clock_moves(tmp_path: Path) -> None:
    clock = Clock()
    handler = Flaky([OSError("down")])
    store, outbox = make(tmp_path, handler, clock, backoff=Backoff(first_ms=30_000))

    async def scenario() -> None:
        worker = asyncio.create_task(outbox.run())
        try:
            await asyncio.sleep(0)  # let it start and go idle (MAX_IDLE on a real clock)
            job = outbox.enqueue("email", {"n": 1})
            j = await asyncio.wait_for(outbox.wait_job(job, lambda j: j.attempts == 1), GUARD_S)
            assert j.state == "pending"
            clock.t += 30_000  # the fake clock moves; the worker is told
            outbox.wake()
            j = await asyncio.wait_for(outbox.wait_job(job), GUARD_S)
            assert (j.state, j.attempts) == ("done", 2)

            # A job queued from another thread (the web server) wakes the worker too.
            ids: list[int] = []
            t = threading.Thread(target=lambda: ids.append(outbox.enqueue("email", {"n": 2})))
            t.start()
            await asyncio.to_thread(t.join)
            j = await asyncio.wait_for(outbox.wait_job(ids[0]), GUARD_S)
            assert j.state == "done"

            # A month later, delivered jobs are forgotten (after the pass that follows).
            clock.t += KEEP_DONE_MS + 1
            for n in (3, 4):
                await asyncio.wait_for(outbox.wait_job(outbox.enqueue("email", {"n": n})), GUARD_S)
            assert store.jobs.get(job) is None and store.jobs.get(ids[0]) is None
        finally:
            worker.cancel()
            with pytest.raises(asyncio.CancelledError):
                await worker

    asyncio.run(scenario())
    assert [p["n"] for p in handler.delivered] == [1, 2, 3, 4]
    store.close()


def test_jobs_pending_at_a_crash_are_retried_after_restart(tmp_path: Path) -> None:
    clock = Clock()
    started = asyncio.Event

    class Hangs:
        def __init__(self) -> None:
            self.entered: asyncio.Event | None = None

        async def __call__(self, payload: dict[str, Any]) -> None:
            assert self.entered is not None
            self.entered.set()
            await asyncio.Future()  # the power goes out mid-send

    hangs = Hangs()
    store, outbox = make(tmp_path, hangs, clock)

    async def before_crash() -> int:
        hangs.entered = started()
        worker = asyncio.create_task(outbox.run())
        job = outbox.enqueue("email", {"n": 1})
        await asyncio.wait_for(hangs.entered.wait(), GUARD_S)
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker
        return job

    job = asyncio.run(before_crash())
    store.close()

    handler = Flaky()
    store, outbox = make(tmp_path, handler, clock)
    assert store.jobs.get(job).state == "pending" and store.jobs.get(job).attempts == 1
    assert asyncio.run(outbox.deliver_due()) == 1
    j = store.jobs.get(job)
    assert (j.state, j.attempts) == ("done", 2) and handler.delivered == [{"n": 1}]
    store.close()


def test_send_again_claims_only_undelivered_jobs_and_leaves_the_worker_out(tmp_path) -> None:
    clock = Clock()
    flaky = Flaky([DeliveryFailed("refused", permanent=True), OSError("down")])
    store, outbox = make(tmp_path, flaky, clock, backoff=Backoff(first_ms=1000, jitter=0, max_attempts=3))
    dead = outbox.enqueue("email", {"n": 1})
    asyncio.run(outbox.deliver_due())
    assert store.jobs.get(dead).state == "dead"
    delivered = outbox.enqueue("email", {"n": 2})
    fresh = outbox.enqueue("email", {"n": 3}, delay_ms=5000)  # pending, never failed: not "undelivered"
    flaky.failures = [OSError("down")]
    asyncio.run(outbox.deliver_due())  # fails `delivered` once: pending with an error
    assert [j.id for j in store.jobs.undelivered("email")] == [delivered, dead]
    # a claimed job is due only after the lease: a worker elsewhere leaves it alone
    assert store.jobs.requeue(dead, clock.t + 60_000) and store.jobs.due(clock.t) == []
    assert store.jobs.get(dead).attempts == 0
    assert not store.jobs.requeue(fresh, clock.t)
    # send again: tried at once, oldest first; the payload is the same job's
    jobs = asyncio.run(outbox.send_again([dead, delivered, fresh, 999]))
    assert [(j.id, j.state, j.attempts) for j in jobs] == [(dead, "done", 1), (delivered, "done", 1)]
    assert flaky.delivered == [{"n": 1}, {"n": 2}]
    assert asyncio.run(outbox.send_again([dead])) == []  # delivered: nothing to send again
    store.close()


def test_default_retries_outlast_a_long_weekend_without_the_internet() -> None:
    backoff = Backoff()
    shortest_span_ms = sum(backoff.delay_ms(attempt, rand=0.0) for attempt in range(1, backoff.max_attempts))
    assert shortest_span_ms >= 4 * 24 * 3_600_000  # Friday 17:00 to Tuesday 17:00, jitter at worst
    assert backoff.delay_ms(backoff.max_attempts, rand=0.999) <= 1.2 * 3_600_000  # still hourly
