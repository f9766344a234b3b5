"""The persistent outbox queue's rows (the delivery policy lives in firmware.notify.outbox).

API index:
    OutboxJobs(db)
      .add(kind, payload, due_ms=) -> id          payload is JSON-able
      .get(id) -> Job | None
      .due(now_ms, limit=10) -> pending jobs with due_ms <= now, oldest due first
      .next_due_ms() -> earliest due_ms of any pending job, or None
      .begin_attempt(id) -> attempts so far        counted *before* delivery, so a crash
                                                   mid-send still counts
      .done(id, at_ms=) / .retry(id, error, due_ms) / .dead(id, error, at_ms=)
      .list(state=None, limit=100) -> newest first;  .counts() -> {state: n}
      .undelivered(kind, limit=500) -> dead jobs and pending ones that failed at least
                                                   once (waiting to retry), newest first
      .requeue(id, due_ms) -> bool                 an undelivered job back to pending, its
                                                   attempts from 0 (the owner's "send again")
      .prune_done(before_ms) -> rows removed
    Job                                            frozen row; STATES
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
            "SELECT * FROM outbox_jobs WHERE state = 'pending' AND due_ms <= ?"
            " ORDER BY due_ms, id LIMIT ?", (now_ms, limit))
        return [_job(r) for r in rows]

    def next_due_ms(self) -> int | None:
        row = self.db.query_one("SELECT min(due_ms) FROM outbox_jobs WHERE state = 'pending'")
        return None if row is None or row[0] is None else int(row[0])

    def begin_attempt(self, job_id: int) -> int:
        with self.db.write() as con:
            cur = con.execute(
                "UPDATE outbox_jobs SET attempts = attempts + 1 WHERE id = ? AND state = 'pending'",
                (job_id,))
            if cur.rowcount != 1:
                raise StoreError(f"outbox job {job_id} is not pending")
            return int(con.execute("SELECT attempts FROM outbox_jobs WHERE id = ?",
                                   (job_id,)).fetchone()[0])

    def _finish(self, job_id: int, sql: str, args: tuple[Any, ...]) -> None:
        with self.db.write() as con:
            if con.execute(sql, (*args, job_id)).rowcount != 1:
                raise StoreError(f"no outbox job {job_id}")

    def done(self, job_id: int, at_ms: int | None = None) -> None:
        at = self.db.now_ms() if at_ms is None else at_ms
        self._finish(job_id, "UPDATE outbox_jobs SET state = 'done', done_ms = ? WHERE id = ?", (at,))

    def retry(self, job_id: int, error: str, due_ms: int) -> None:
        self._finish(job_id, "UPDATE outbox_jobs SET due_ms = ?, last_error = ? WHERE id = ?",
                     (due_ms, error[:MAX_ERROR_CHARS]))

    def dead(self, job_id: int, error: str, at_ms: int | None = None) -> None:
        at = self.db.now_ms() if at_ms is None else at_ms
        self._finish(job_id,
                     "UPDATE outbox_jobs SET state = 'dead', done_ms = ?, last_error = ? WHERE id = ?",
                     (at, error[:MAX_ERROR_CHARS]))

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

    def undelivered(self, kind: str, limit: int = 500) -> list[Job]:
        rows = self.db.query(
            "SELECT * FROM outbox_jobs WHERE kind = ? AND (state = 'dead' OR"
            " (state = 'pending' AND last_error IS NOT NULL))"
            " ORDER BY created_ms DESC, id DESC LIMIT ?", (kind, limit))
        return [_job(r) for r in rows]

    def requeue(self, job_id: int, due_ms: int) -> bool:
        """Put a dead (or failing) job back in the queue with a fresh count of attempts.
        The payload is untouched, so the receiver gets the same delivery again. False if
        the job is gone or was delivered meanwhile."""
        with self.db.write() as con:
            return con.execute(
                "UPDATE outbox_jobs SET state = 'pending', attempts = 0, due_ms = ?, done_ms = NULL"
                " WHERE id = ? AND (state = 'dead' OR (state = 'pending' AND last_error IS NOT NULL))",
                (due_ms, job_id)).rowcount == 1

    def counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT state, count(*) FROM outbox_jobs GROUP BY state")
        return {state: 0 for state in STATES} | {r[0]: r[1] for r in rows}

    def prune_done(self, before_ms: int) -> int:
        with self.db.write() as con:
            return con.execute(
                "DELETE FROM outbox_jobs WHERE state = 'done' AND done_ms < ?", (before_ms,)).rowcount
