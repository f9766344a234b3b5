"""PIN failure counts and lock-outs per mailbox, kept in the db so a restart does not reset them.

API index:
    PinLockouts(db)
      .state(mailbox) -> LockoutState        (zero failures if never seen)
      .record_failure(mailbox, max_failures, lock_ms, at_ms=) -> LockoutState
                    one wrong PIN; at the max_failures-th the mailbox locks for lock_ms
                    and the count starts again
      .reset(mailbox)                        a right PIN clears the count
    LockoutState(failures, last_failure_ms, locked_until_ms); .locked(at_ms)

The policy (how many, how long) belongs to the caller (voicemail.mailbox); this module only
makes each step atomic, so two lines guessing at once cannot slip past the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.errors import UsageError
from firmware.store.db import Database


@dataclass(frozen=True)
class LockoutState:
    failures: int = 0
    last_failure_ms: int | None = None
    locked_until_ms: int | None = None

    def locked(self, at_ms: int) -> bool:
        return self.locked_until_ms is not None and at_ms < self.locked_until_ms


class PinLockouts:
    def __init__(self, db: Database):
        self.db = db

    def state(self, mailbox: str) -> LockoutState:
        row = self.db.query_one(
            "SELECT failures, last_failure_ms, locked_until_ms FROM pin_lockouts WHERE mailbox = ?",
            (mailbox,))
        return LockoutState(*row) if row else LockoutState()

    def record_failure(self, mailbox: str, max_failures: int, lock_ms: int,
                       at_ms: int | None = None) -> LockoutState:
        if max_failures < 1 or lock_ms < 0:
            raise UsageError("PIN lock-out needs max_failures >= 1 and a lock time >= 0")
        at = self.db.now_ms() if at_ms is None else at_ms
        with self.db.write() as con:
            row = con.execute(
                "SELECT failures, locked_until_ms FROM pin_lockouts WHERE mailbox = ?",
                (mailbox,)).fetchone()
            failures = (row[0] if row else 0) + 1
            locked_until = row[1] if row else None
            if failures >= max_failures:
                locked_until = at + lock_ms
                failures = 0
            con.execute(
                "INSERT INTO pin_lockouts (mailbox, failures, last_failure_ms, locked_until_ms)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (mailbox) DO UPDATE SET"
                " failures = excluded.failures, last_failure_ms = excluded.last_failure_ms,"
                " locked_until_ms = excluded.locked_until_ms",
                (mailbox, failures, at, locked_until))
        return LockoutState(failures, at, locked_until)

    def reset(self, mailbox: str) -> None:
        with self.db.write() as con:
            con.execute("DELETE FROM pin_lockouts WHERE mailbox = ?", (mailbox,))
