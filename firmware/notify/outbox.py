"""One persistent outbox for every notification: stored first, delivered later, retried.

API index:
    Outbox(jobs, handlers, backoff=Backoff(), clock_ms=None, rand=random.random, lease_ms=SEND_LEASE_MS)
      .enqueue(kind, payload, delay_ms=0) -> job id    stores the job, wakes the worker
      .wake()                                          thread-safe nudge (new job, clock moved)
      .deliver_due() -> attempts made                  one pass over the jobs due now
      .run()                                           the worker: forever, until cancelled;
                                                       forgets delivered jobs after KEEP_DONE_MS
      .wait_job(job_id, until=settled) -> Job          await a job reaching a state
      .send_again(job_ids, try_now=SEND_AGAIN_NOW) -> [Job]  the owner's "send again": failed
                                                       jobs back in the queue, the first
                                                       `try_now` tried at once, the rest due now
    Backoff(first_ms, factor, max_ms, jitter, max_attempts); .delay_ms(attempt, rand)
    DeliveryFailed(message, permanent=False)           what handlers raise
    Handler = async (payload: dict) -> None

Why an outbox: a voicemail e-mail must not be lost because the Internet was down when the
caller hung up, nor because the box rebooted before the mail server answered. A job is a
row in the db (`store.OutboxJobs`) before anyone tries to send it; the attempt is counted
before delivery starts, so a crash mid-send is retried after restart (at-least-once:
a recipient may rarely get a duplicate, never nothing).

One sender at a time: an attempt takes the job's lease (`lease_ms`) in the same write
that counts it, and finishes it only while that lease is still its own. The engine's
worker and the web page's "send again" (often another process on the same db) therefore
never send one job concurrently; a sender that dies mid-send delays the job by at most
the lease, then any worker retries it.

Retry policy: exponential backoff from `first_ms`, times `factor` per attempt, capped at
`max_ms`, each delay spread by +-`jitter` so many boxes behind one failed server do not
retry in step. A `DeliveryFailed(permanent=True)` (a mail server's 5xx refusal of the
recipient) or `max_attempts` failures mark the job dead; the web page shows dead jobs.

Time comes from `clock_ms` (default: the store's clock), so tests move a fake clock and
call `wake()` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from firmware.errors import IvrboxError, UsageError
from firmware.store.jobs import Job, OutboxJobs

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]

FIRST_RETRY_MS = 30_000
RETRY_FACTOR = 2.0
MAX_RETRY_MS = 60 * 60_000  # never wait more than an hour between attempts
RETRY_JITTER = 0.2  # +-20 %
# The ramp (30 s .. 32 min, about an hour) then hourly for five days, as mail servers keep
# a queued message: an office closed over a long weekend with the router off still gets
# Friday evening's voicemails on Tuesday morning, without anyone pressing "send again".
MAX_ATTEMPTS = 7 + 5 * 24
MAX_IDLE_MS = 60_000  # look at the queue at least this often even without a wake-up
BATCH = 10  # jobs fetched per pass
KEEP_DONE_MS = 30 * 24 * 60 * 60_000  # delivered jobs stay listed for a month, then go
SEND_LEASE_MS = 5 * 60_000  # an attempt owns its job this long; far above any notifier's timeout
SEND_AGAIN_HOLD_MS = 5 * 60_000  # jobs "send again" will try itself: not due for workers meanwhile
SEND_AGAIN_NOW = 20  # jobs one "send again" tries itself; the rest go to the worker, due now


class DeliveryFailed(IvrboxError):
    """A notification could not be delivered; `permanent` means retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Backoff:
    first_ms: int = FIRST_RETRY_MS
    factor: float = RETRY_FACTOR
    max_ms: int = MAX_RETRY_MS
    jitter: float = RETRY_JITTER
    max_attempts: int = MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if self.first_ms < 0 or self.factor < 1 or not 0 <= self.jitter < 1 or self.max_attempts < 1:
            raise UsageError("backoff needs first_ms >= 0, factor >= 1, 0 <= jitter < 1, max_attempts >= 1")

    def delay_ms(self, attempt: int, rand: float) -> int:
        """Wait after failed attempt number `attempt` (1-based); `rand` is uniform in [0, 1)."""
        base = min(self.max_ms, self.first_ms * self.factor ** (attempt - 1))
        return int(round(base * (1 + self.jitter * (2 * rand - 1))))


def settled(job: Job) -> bool:
    return job.state != "pending"


class Outbox:
    def __init__(
        self,
        jobs: OutboxJobs,
        handlers: dict[str, Handler],
        *,
        backoff: Backoff | None = None,
        clock_ms: Callable[[], int] | None = None,
        rand: Callable[[], float] = random.random,
        lease_ms: int = SEND_LEASE_MS,
    ):
        if lease_ms <= 0:
            raise UsageError("lease_ms must be positive")
        self.jobs = jobs
        self.handlers = dict(handlers)
        self.backoff = backoff or Backoff()
        self.now_ms = clock_ms or jobs.db.now_ms
        self.rand = rand
        self.lease_ms = lease_ms
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    # -- producers ---------------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict[str, Any], delay_ms: int = 0) -> int:
        """Store a job (durably) and wake the worker; safe to call from any thread."""
        if kind not in self.handlers:
            raise UsageError(f"no notifier for {kind!r} (known: {', '.join(sorted(self.handlers))})")
        job_id = self.jobs.add(kind, payload, due_ms=self.now_ms() + max(0, delay_ms))
        self.wake()
        return job_id

    def wake(self) -> None:
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            self._wake.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    # -- the worker --------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Try every job due now once; returns how many attempts were made."""
        attempts = 0
        while True:
            batch = self.jobs.due(self.now_ms(), BATCH)
            if not batch:
                return attempts
            for job in batch:
                attempts += await self._attempt(job)

    async def _attempt(self, job: Job) -> bool:
        """One attempt under a lease; False (nothing sent) if another sender has the job."""
        now = self.now_ms()
        lease = now + self.lease_ms
        attempt = self.jobs.begin_attempt(job.id, until_ms=lease, now_ms=now)
        if attempt is None:
            log.info("outbox job %s (%s) is being sent elsewhere or was settled: left alone", job.id, job.kind)
            return False
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise DeliveryFailed(f"no notifier for {job.kind!r}", permanent=True)
            await handler(job.payload)
        except asyncio.CancelledError:
            self.jobs.release(job.id, lease)  # shutting down: due again at once after restart
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a notifier is a failed attempt
            error = str(exc) or type(exc).__name__
            if isinstance(exc, DeliveryFailed) and exc.permanent:
                log.warning("outbox job %s (%s) failed for good: %s", job.id, job.kind, error)
                kept = self.jobs.dead(job.id, error, self.now_ms(), lease=lease)
            elif attempt >= self.backoff.max_attempts:
                log.warning("outbox job %s (%s) gave up after %d attempts: %s",
                            job.id, job.kind, attempt, error)
                kept = self.jobs.dead(job.id, f"gave up after {attempt} attempts: {error}", self.now_ms(),
                                      lease=lease)
            else:
                due = self.now_ms() + self.backoff.delay_ms(attempt, self.rand())
                log.info("outbox job %s (%s) attempt %d failed, retry at %d: %s",
                         job.id, job.kind, attempt, due, error)
                kept = self.jobs.retry(job.id, error, due, lease=lease)
        else:
            kept = self.jobs.done(job.id, self.now_ms(), lease=lease)
        if not kept:
            log.warning("outbox job %s (%s): the attempt outlasted its lease; its result is left to the "
                        "job's current sender", job.id, job.kind)
        async with self._changed:
            self._changed.notify_all()
        return True

    async def send_again(self, job_ids: Sequence[int], try_now: int = SEND_AGAIN_NOW) -> list[Job]:
        """Put failed jobs back in the queue with a fresh count of attempts (a full retry
        schedule, as for a new notification: the owner usually presses this after fixing
        the receiver) and try the first `try_now` of them now, in order, from this process
        -- the page's, while the worker may run in the engine's. Jobs being sent right now
        (another sender's lease) are left out: sending them again would reach the receiver
        twice at once. Jobs waiting for this call are due only after SEND_AGAIN_HOLD_MS, so
        no worker takes them meanwhile, and one does if this process dies. After a failure
        the rest follow that job's retry time instead of being tried against a receiver
        that is still down; without one, those beyond `try_now` are due now for the
        worker. Returns the jobs as they are now; ids no longer undelivered (sent
        meanwhile, being sent, pruned) are left out."""
        now = self.now_ms()
        claimed = [i for i in job_ids if self.jobs.requeue(i, now + SEND_AGAIN_HOLD_MS, now_ms=now)]
        retry_at: int | None = None
        for n, job_id in enumerate(claimed):
            job = self.jobs.get(job_id)
            if job is None:
                continue
            if retry_at is not None or n >= try_now:
                self.jobs.requeue(job_id, self.now_ms() if retry_at is None else retry_at, now_ms=self.now_ms())
                continue
            await self._attempt(job)
            after = self.jobs.get(job_id)
            if after is not None and after.state == "pending" and not after.leased(self.now_ms()):
                retry_at = after.due_ms
        self.wake()  # a worker here recomputes its sleep
        return [job for job in map(self.jobs.get, claimed) if job is not None]

    async def run(self) -> None:
        """Deliver due jobs, then sleep until the next is due or someone calls wake()."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        while True:
            self._wake.clear()
            await self.deliver_due()
            self.jobs.prune_done(self.now_ms() - KEEP_DONE_MS)
            next_due = self.jobs.next_due_ms()
            wait_ms = MAX_IDLE_MS if next_due is None else min(MAX_IDLE_MS, next_due - self.now_ms())
            if wait_ms <= 0:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), wait_ms / 1000)
            except asyncio.TimeoutError:
                pass

    async def wait_job(self, job_id: int, until: Callable[[Job], bool] = settled) -> Job:
        """Return the job once `until(job)` holds (default: delivered or dead)."""
        async with self._changed:
            while True:
                job = self.jobs.get(job_id)
                if job is None:
                    raise UsageError(f"no outbox job {job_id}")
                if until(job):
                    return job
                await self._changed.wait()
