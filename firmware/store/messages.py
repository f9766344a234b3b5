"""Voicemail and TTY messages: rows only (files are the voicemail package's business).

API index:
    Messages(db)
      .add(mailbox, received_ms=, duration_ms=, path=, text=, call_id=, caller_number=,
           caller_name=) -> Message
      .get(id) -> Message | None
      .list(mailbox=None, include_deleted=False, limit=200) -> newest first
      .counts(mailbox) -> (new, total)        not counting deleted ones
      .mark_heard(id, heard=True)
      .delete(id, at_ms=)      soft delete: sets deleted_ms (undo possible)
      .undelete(id)            clears deleted_ms
      .purgeable(before_ms)    deleted before that time: rows to purge (with their paths)
      .purge(ids)              remove rows for good
      .unnotified() -> [Message]   saved, notice not yet queued (a crash between the two)
      .claim_notice(id, at_ms=) -> bool   mark the notice queued; False if it already was
                                   (call it in the transaction that queues the notice)
    Message                    frozen row
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from firmware.errors import StoreError, UsageError
from firmware.store.db import Database


@dataclass(frozen=True)
class Message:
    id: int
    mailbox: str
    call_id: int | None
    caller_number: str | None
    caller_name: str | None
    received_ms: int
    duration_ms: int
    path: str | None
    text: str | None
    heard: bool
    heard_ms: int | None
    deleted_ms: int | None
    notified_ms: int | None = None  # its notice was queued then; None: still owed

    @property
    def deleted(self) -> bool:
        return self.deleted_ms is not None


def _message(row: sqlite3.Row) -> Message:
    values = {k: row[k] for k in row.keys()}
    values["heard"] = bool(values["heard"])
    return Message(**values)


class Messages:
    def __init__(self, db: Database):
        self.db = db

    def add(
        self,
        mailbox: str,
        *,
        received_ms: int | None = None,
        duration_ms: int = 0,
        path: str | None = None,
        text: str | None = None,
        call_id: int | None = None,
        caller_number: str | None = None,
        caller_name: str | None = None,
    ) -> Message:
        if not mailbox:
            raise UsageError("a message needs a mailbox")
        if path is None and text is None:
            raise UsageError("a message needs a recording or a text")
        received = self.db.now_ms() if received_ms is None else received_ms
        with self.db.write() as con:
            cur = con.execute(
                "INSERT INTO messages (mailbox, call_id, caller_number, caller_name, received_ms,"
                " duration_ms, path, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (mailbox, call_id, caller_number, caller_name, received, int(duration_ms), path, text),
            )
            row = con.execute("SELECT * FROM messages WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _message(row)

    def get(self, message_id: int) -> Message | None:
        row = self.db.query_one("SELECT * FROM messages WHERE id = ?", (message_id,))
        return _message(row) if row else None

    def list(self, mailbox: str | None = None, *, include_deleted: bool = False,
             limit: int = 200) -> list[Message]:
        sql = "SELECT * FROM messages WHERE 1"
        args: list[Any] = []
        if mailbox is not None:
            sql += " AND mailbox = ?"
            args.append(mailbox)
        if not include_deleted:
            sql += " AND deleted_ms IS NULL"
        sql += " ORDER BY received_ms DESC, id DESC LIMIT ?"
        args.append(int(limit))
        return [_message(r) for r in self.db.query(sql, args)]

    def counts(self, mailbox: str) -> tuple[int, int]:
        """(new, total) messages in a mailbox, as the caller hears them announced."""
        row = self.db.query_one(
            "SELECT coalesce(sum(heard = 0), 0), count(*) FROM messages"
            " WHERE mailbox = ? AND deleted_ms IS NULL",
            (mailbox,),
        )
        return int(row[0]), int(row[1])  # type: ignore[index]

    def _update(self, message_id: int, sql: str, args: tuple[Any, ...]) -> None:
        with self.db.write() as con:
            cur = con.execute(sql, (*args, message_id))
            if cur.rowcount != 1:
                raise StoreError(f"no message {message_id}")

    def mark_heard(self, message_id: int, heard: bool = True, at_ms: int | None = None) -> None:
        at = (self.db.now_ms() if at_ms is None else at_ms) if heard else None
        self._update(message_id, "UPDATE messages SET heard = ?, heard_ms = ? WHERE id = ?",
                     (int(heard), at))

    def delete(self, message_id: int, at_ms: int | None = None) -> None:
        at = self.db.now_ms() if at_ms is None else at_ms
        self._update(message_id,
                     "UPDATE messages SET deleted_ms = coalesce(deleted_ms, ?) WHERE id = ?", (at,))

    def undelete(self, message_id: int) -> None:
        self._update(message_id, "UPDATE messages SET deleted_ms = NULL WHERE id = ?", ())

    def unnotified(self) -> list[Message]:
        """Messages whose notice was never queued, oldest first (deleted ones included:
        the caller decides)."""
        rows = self.db.query("SELECT * FROM messages WHERE notified_ms IS NULL ORDER BY id")
        return [_message(r) for r in rows]

    def claim_notice(self, message_id: int, at_ms: int | None = None) -> bool:
        """Mark the message's notice as queued; False if it already was (or no such
        message). Inside the transaction that queues the notice, so exactly one
        sender queues it, and a crash leaves both or neither."""
        at = self.db.now_ms() if at_ms is None else at_ms
        with self.db.write() as con:
            return con.execute("UPDATE messages SET notified_ms = ? WHERE id = ? AND notified_ms IS NULL",
                               (at, message_id)).rowcount == 1

    def purgeable(self, before_ms: int) -> list[Message]:
        rows = self.db.query(
            "SELECT * FROM messages WHERE deleted_ms IS NOT NULL AND deleted_ms <= ?"
            " ORDER BY deleted_ms", (before_ms,))
        return [_message(r) for r in rows]

    def purge(self, message_ids: list[int]) -> int:
        """Remove rows for good (only ones still marked deleted); returns how many."""
        if not message_ids:
            return 0
        with self.db.write() as con:
            cur = con.executemany(
                "DELETE FROM messages WHERE id = ? AND deleted_ms IS NOT NULL",
                [(i,) for i in message_ids])
            return cur.rowcount
