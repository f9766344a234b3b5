"""The call log: one row per call, and a timeline of events inside each call.

API index:
    CallLog(db)
      .start(line, caller_number=, caller_name=, caller_absent=, started_ms=)  -> call id
      .answered(call_id, at_ms=)
      .event(call_id, t_ms, kind, node=None, **detail)   one step of the call's timeline
      .finish(call_id, outcome, end_reason, ended_ms=)   sets duration (answer to end)
      .get(call_id) -> Call | None        .events(call_id) -> list[CallEvent]
      .recent(limit=50, before_ms=None, number=None) -> list[Call], newest first
      .node_funnel(since_ms, until_ms) -> {node: calls that entered it}
      .hour_of_week(since_ms, until_ms, tz, skip_line=None) -> 7x24 counts (Monday first)
                                 in tz, leaving out the calls of line `skip_line`
      .open_calls() -> calls never finished (a crash mid-call)
      .close_open(reason, on_closed=) -> how many closed as "interrupted"
    Call, CallEvent        frozen rows
    EVENT_KINDS            the event kinds the engine writes (others are allowed)

Times of calls are UTC epoch ms (wall clock, for the log); `t_ms` of events counts from the
answer on the line's sample clock, so a timeline is exact even if the wall clock jumps.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from firmware.errors import StoreError, UsageError
from firmware.store.db import Database

EVENT_KINDS = (
    "node_entered", "key", "prompt", "transfer", "message_saved", "callback_requested",
    "survey_answer", "timeout", "invalid", "hangup",
)


@dataclass(frozen=True)
class Call:
    id: int
    line: str
    caller_number: str | None
    caller_name: str | None
    caller_absent: str | None
    started_ms: int
    answered_ms: int | None
    ended_ms: int | None
    outcome: str | None
    end_reason: str | None
    duration_ms: int | None


@dataclass(frozen=True)
class CallEvent:
    call_id: int
    t_ms: int
    kind: str
    node: str | None
    detail: dict[str, Any]


def _call(row: sqlite3.Row) -> Call:
    return Call(**{k: row[k] for k in row.keys()})


class CallLog:
    def __init__(self, db: Database):
        self.db = db

    def start(
        self,
        line: str,
        *,
        caller_number: str | None = None,
        caller_name: str | None = None,
        caller_absent: str | None = None,
        started_ms: int | None = None,
    ) -> int:
        started = self.db.now_ms() if started_ms is None else started_ms
        with self.db.write() as con:
            cur = con.execute(
                "INSERT INTO calls (line, caller_number, caller_name, caller_absent, started_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (line, caller_number, caller_name, caller_absent, started),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def caller_id(self, call_id: int, *, number: str | None, name: str | None,
                  absent: str | None) -> None:
        """Caller ID can arrive after the call row exists (between rings)."""
        with self.db.write() as con:
            con.execute(
                "UPDATE calls SET caller_number = ?, caller_name = ?, caller_absent = ? WHERE id = ?",
                (number, name, absent, call_id),
            )

    def answered(self, call_id: int, at_ms: int | None = None) -> None:
        at = self.db.now_ms() if at_ms is None else at_ms
        with self.db.write() as con:
            con.execute("UPDATE calls SET answered_ms = ? WHERE id = ?", (at, call_id))

    def event(self, call_id: int, t_ms: int, kind: str, node: str | None = None,
              **detail: Any) -> None:
        if not kind:
            raise UsageError("a call event needs a kind")
        with self.db.write() as con:
            con.execute(
                "INSERT INTO call_events (call_id, t_ms, kind, node, detail) VALUES (?, ?, ?, ?, ?)",
                (call_id, int(t_ms), kind, node, json.dumps(detail, sort_keys=True) if detail else None),
            )

    def finish(self, call_id: int, outcome: str, end_reason: str | None = None,
               ended_ms: int | None = None) -> None:
        ended = self.db.now_ms() if ended_ms is None else ended_ms
        with self.db.write() as con:
            cur = con.execute(
                "UPDATE calls SET ended_ms = ?, outcome = ?, end_reason = ?,"
                " duration_ms = CASE WHEN answered_ms IS NULL THEN 0"
                "                    ELSE max(0, ? - answered_ms) END"
                " WHERE id = ?",
                (ended, outcome, end_reason, ended, call_id),
            )
            if cur.rowcount != 1:
                raise StoreError(f"no call {call_id} in the call log")

    def get(self, call_id: int) -> Call | None:
        row = self.db.query_one("SELECT * FROM calls WHERE id = ?", (call_id,))
        return _call(row) if row else None

    def events(self, call_id: int) -> list[CallEvent]:
        rows = self.db.query(
            "SELECT call_id, t_ms, kind, node, detail FROM call_events WHERE call_id = ?"
            " ORDER BY t_ms, id",
            (call_id,),
        )
        return [
            CallEvent(r["call_id"], r["t_ms"], r["kind"], r["node"],
                      json.loads(r["detail"]) if r["detail"] else {})
            for r in rows
        ]

    def recent(self, limit: int = 50, before_ms: int | None = None,
               number: str | None = None) -> list[Call]:
        """Newest first; page with `before_ms` = the last row's `started_ms`."""
        sql = "SELECT * FROM calls WHERE 1"
        args: list[Any] = []
        if before_ms is not None:
            sql += " AND started_ms < ?"
            args.append(before_ms)
        if number is not None:
            sql += " AND caller_number = ?"
            args.append(number)
        sql += " ORDER BY started_ms DESC, id DESC LIMIT ?"
        args.append(int(limit))
        return [_call(r) for r in self.db.query(sql, args)]

    def node_funnel(self, since_ms: int, until_ms: int) -> dict[str, int]:
        """How many distinct calls (started in the range) entered each flow node."""
        rows = self.db.query(
            "SELECT e.node AS node, count(DISTINCT e.call_id) AS n FROM call_events e"
            " JOIN calls c ON c.id = e.call_id"
            " WHERE e.kind IN ('node_entered', 'node') AND c.started_ms >= ? AND c.started_ms < ?"
            " GROUP BY e.node ORDER BY n DESC, e.node",
            (since_ms, until_ms),
        )
        return {r["node"]: r["n"] for r in rows}

    def hour_of_week(self, since_ms: int, until_ms: int, tz: str,
                     skip_line: str | None = None) -> list[list[int]]:
        """Calls per (weekday, hour) in the business's time zone; [0] is Monday."""
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise UsageError(f"unknown time zone {tz!r}") from exc
        grid = [[0] * 24 for _ in range(7)]
        rows = self.db.query(
            "SELECT started_ms FROM calls WHERE started_ms >= ? AND started_ms < ? AND line IS NOT ?",
            (since_ms, until_ms, skip_line),
        )
        for (started,) in rows:
            local = datetime.fromtimestamp(started / 1000, tz=timezone.utc).astimezone(zone)
            grid[local.weekday()][local.hour] += 1
        return grid

    def open_calls(self) -> list[Call]:
        return [_call(r) for r in self.db.query(
            "SELECT * FROM calls WHERE ended_ms IS NULL ORDER BY started_ms")]

    def close_open(self, end_reason: str = "restart", ended_ms: int | None = None,
                   on_closed: Callable[[int], object] | None = None) -> int:
        """Close calls a crash or power cut left open (start-up) as "interrupted"; returns
        how many. `on_closed(call_id)` runs inside the transaction that closes each call,
        so what it writes (the call_ended webhook event) commits with the close or not at
        all: a crash here leaves the call open for the next start, never closed unsent."""
        calls = self.open_calls()
        for call in calls:
            end = ended_ms if ended_ms is not None else max(call.started_ms, call.answered_ms or 0)
            with self.db.write():
                self.finish(call.id, "interrupted", end_reason, end)
                if on_closed is not None:
                    on_closed(call.id)
        return len(calls)
