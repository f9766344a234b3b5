"""The persistent outbox queue's rows (the delivery policy lives in firmware.notify.outbox).

API index:
    OutboxJobs(db)
      .add(kind, payload, due_ms=) -> id          payload is JSON-able
      .get(id) -> Job | None
      .due(now_ms, limit=10) -> pending, unleased jobs with due_ms <= now, oldest due first
      .next_due_ms() -> earliest time any pending job can be tried, or None
      .begin_attempt(id, until_ms=, now_ms=) -> attempts so far, or None if the job is not
                                                   pending or another sender holds its lease;
                                                   counted *before* delivery, so a crash
                                                   mid-send still counts
      .done(id, at_ms=, lease=) / .retry(id, error, due_ms, lease=) / .dead(id, error, at_ms=, lease=)
                                                   with `lease` (the attempt's until_ms): only
                                                   while that lease is still the job's -> bool
      .release(id, lease) -> bool                  give a lease back (sender shutting down)
      .list(state=None, limit=100) -> newest first;  .counts() -> {state: n}
      .undelivered(kind, now_ms=, limit=500, match=) -> dead jobs and pending ones that failed
                                                   at least once (waiting to retry), not being
                                                   sent right now, newest first; `match`
                                                   narrows by top-level payload fields
      .undelivered_counts(kind, key, now_ms=) -> {payload[key]: n}
      .requeue(id, due_ms, now_ms=) -> bool        an undelivered job back to pending, its
                                                   attempts from 0 (the owner's "send again")
      .prune_done(before_ms) -> rows removed
    Job                                            frozen row; .leased(now_ms); STATES

The lease (`sending_until`): an attempt owns its job until then. Nobody else begins an
attempt, sends it again or lists it as failed meanwhile, so a receiver never gets the same
job from two senders at once (the engine's worker and the web page's "send again" run in
different processes). The lease time doubles as a fencing token: a sender that overran its
lease finds `done`/`retry`/`dead` refused and leaves the job to whoever has it now. A
sender that died mid-attempt holds nothing once the lease runs out: the job is due again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from firmware.errors import StoreError
from firmware.store.db import Database

STATES = ("pending", "done", "dead")
MAX_ERROR_CHARS = 500  # keep the last error readable in the web page
DEFAULT_LEASE_MS = 5 * 60_000  # longer than any notifier's own timeout
_FREE = "(sending_until IS NULL OR sending_until <= ?)"  # not leased at time ?
_UNDELIVERED = "(state = 'dead' OR (state = 'pending' AND last_error IS NOT NULL))"


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    state: str
    attempts: int
    created_ms: int
    due_ms: int
    done_ms: int | None
    last_error: str | None
    sending_until: int | None = None

    def leased(self, now_ms: int) -> bool:
        """Someone is sending it right now (its attempt's lease has not run out)."""
        return self.state == "pending" and self.sending_until is not None and self.sending_until > now_ms


def _job(row: sqlite3.Row) -> Job:
    values = {k: row[k] for k in row.keys()}
    values["payload"] = json.loads(values["payload"])
    return Job(**values)


class OutboxJobs:
    def __init__(self, db: Database):
        self.db = db

    def add(self, kind: str, payload: dict[str, Any], due_ms: int | None = None) -> int:
        now = self.db.now_ms()
        with self.db.write() as con:
            cur = con.execute(
                "INSERT INTO outbox_jobs (kind, payload, created_ms, due_ms) VALUES (?, ?, ?, ?)",
                (kind, json.dumps(payload, sort_keys=True), now, now if due_ms is None else due_ms))
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def get(self, job_id: int) -> Job | None:
        row = self.db.query_one("SELECT * FROM outbox_jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    def due(self, now_ms: int, limit: int = 10) -> list[Job]:
        rows = self.db.query(
            f"SELECT * FROM outbox_jobs WHERE state = 'pending' AND due_ms <= ? AND {_FREE}"
            " ORDER BY due_ms, id LIMIT ?", (now_ms, now_ms, limit))
        return [_job(r) for r in rows]

    def next_due_ms(self) -> int | None:
        """A leased job counts at its lease's end: then its sender is presumed dead."""
        row = self.db.query_one("SELECT min(max(due_ms, coalesce(sending_until, due_ms)))"
                                " FROM outbox_jobs WHERE state = 'pending'")
        return None if row is None or row[0] is None else int(row[0])

    def begin_attempt(self, job_id: int, until_ms: int | None = None, now_ms: int | None = None) -> int | None:
        """Count an attempt and take the job's lease until `until_ms` (default: now +
        DEFAULT_LEASE_MS). None if the job is no longer pending or another sender's lease
        on it has not run out: then this sender must leave it alone."""
        now = self.db.now_ms() if now_ms is None else now_ms
        until = now + DEFAULT_LEASE_MS if until_ms is None else until_ms
        if until <= now:
            raise StoreError("an outbox lease must end after now")
        with self.db.write() as con:
            cur = con.execute(
                "UPDATE outbox_jobs SET attempts = attempts + 1, sending_until = ?"
                f" WHERE id = ? AND state = 'pending' AND {_FREE}", (until, job_id, now))
            if cur.rowcount != 1:
                return None
            return int(con.execute("SELECT attempts FROM outbox_jobs WHERE id = ?",
                                   (job_id,)).fetchone()[0])

    def _finish(self, job_id: int, sql: str, args: tuple[Any, ...], lease: int | None) -> bool:
        where = " WHERE id = ?" if lease is None else " WHERE id = ? AND sending_until = ?"
        with self.db.write() as con:
            changed = con.execute(sql + where, (*args, job_id) + (() if lease is None else (lease,))).rowcount
        if lease is None and changed != 1:
            raise StoreError(f"no outbox job {job_id}")
        return changed == 1

    def done(self, job_id: int, at_ms: int | None = None, lease: int | None = None) -> bool:
        at = self.db.now_ms() if at_ms is None else at_ms
        return self._finish(job_id, "UPDATE outbox_jobs SET state = 'done', done_ms = ?, sending_until = NULL",
                            (at,), lease)

    def retry(self, job_id: int, error: str, due_ms: int, lease: int | None = None) -> bool:
        return self._finish(job_id, "UPDATE outbox_jobs SET due_ms = ?, last_error = ?, sending_until = NULL",
                            (due_ms, error[:MAX_ERROR_CHARS]), lease)

    def dead(self, job_id: int, error: str, at_ms: int | None = None, lease: int | None = None) -> bool:
        at = self.db.now_ms() if at_ms is None else at_ms
        return self._finish(
            job_id, "UPDATE outbox_jobs SET state = 'dead', done_ms = ?, last_error = ?, sending_until = NULL",
            (at, error[:MAX_ERROR_CHARS]), lease)

    def release(self, job_id: int, lease: int) -> bool:
        """Give the lease back without a verdict (shutting down mid-send): due at once again."""
        with self.db.write() as con:
            return con.execute("UPDATE outbox_jobs SET sending_until = NULL WHERE id = ? AND sending_until = ?",
                               (job_id, lease)).rowcount == 1

    def list(self, state: str | None = None, limit: int = 100) -> list[Job]:
        if state is not None and state not in STATES:
            raise StoreError(f"unknown outbox state {state!r}")
        sql = "SELECT * FROM outbox_jobs"
        args: list[Any] = []
        if state:
            sql += " WHERE state = ?"
            args.append(state)
        sql += " ORDER BY created_ms DESC, id DESC LIMIT ?"
        args.append(limit)
        return [_job(r) for r in self.db.query(sql, args)]

    def _undelivered_where(self, kind: str, now_ms: int | None, match: dict[str, Any] | None
                           ) -> tuple[str, list[Any]]:
        now = self.db.now_ms() if now_ms is None else now_ms
        sql = f"kind = ? AND {_UNDELIVERED} AND {_FREE}"
        args: list[Any] = [kind, now]
        for key, value in (match or {}).items():
            sql += " AND json_extract(payload, ?) = ?"
            args += [f"$.{key}", value]
        return sql, args

    def undelivered(self, kind: str, now_ms: int | None = None, limit: int | None = 500,
                    match: dict[str, Any] | None = None) -> list[Job]:
        """Jobs the owner may send again, newest first; `limit=None` for all of them."""
        where, args = self._undelivered_where(kind, now_ms, match)
        sql = f"SELECT * FROM outbox_jobs WHERE {where} ORDER BY created_ms DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_job(r) for r in self.db.query(sql, args)]

    def undelivered_counts(self, kind: str, key: str, now_ms: int | None = None) -> dict[str, int]:
        """How many undelivered jobs there are per value of the payload's `key` (a hook's name)."""
        where, args = self._undelivered_where(kind, now_ms, None)
        rows = self.db.query(f"SELECT json_extract(payload, ?), count(*) FROM outbox_jobs WHERE {where}"
                             " GROUP BY 1", [f"$.{key}", *args])
        return {str(r[0]): int(r[1]) for r in rows}

    def requeue(self, job_id: int, due_ms: int, now_ms: int | None = None) -> bool:
        """Put a dead (or failing) job back in the queue with a fresh count of attempts.
        The payload is untouched, so the receiver gets the same delivery again. False if
        the job is gone, was delivered meanwhile, or is being sent right now (leased)."""
        now = self.db.now_ms() if now_ms is None else now_ms
        with self.db.write() as con:
            return con.execute(
                "UPDATE outbox_jobs SET state = 'pending', attempts = 0, due_ms = ?, done_ms = NULL,"
                f" sending_until = NULL WHERE id = ? AND {_UNDELIVERED} AND {_FREE}",
                (due_ms, job_id, now)).rowcount == 1

    def counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT state, count(*) FROM outbox_jobs GROUP BY state")
        return {state: 0 for state in STATES} | {r[0]: r[1] for r in rows}

    def prune_done(self, before_ms: int) -> int:
        with self.db.write() as con:
            return con.execute(
                "DELETE FROM outbox_jobs WHERE state = 'done' AND done_ms < ?", (before_ms,)).rowcount
