"""Read-only questions the web page asks of the call log (filters, counts, analytics).

API index:
    Reports(db)
      .search(since_ms=, until_ms=, caller=, outcome=, limit=, offset=) -> list[Call]
                                 newest first; `caller` matches part of the number or name
      .count(since_ms=, until_ms=, caller=, outcome=) -> int
      .outcomes(since_ms, until_ms, skip_line=None) -> {outcome: calls}
      .per_day(since_ms, until_ms, tz, skip_line=None) -> [(date ISO, calls)]   every day,
                                 zeros included
      .reach_times(since_ms, until_ms, skip_line=None) -> {"forward"|"voicemail": [ms from
                                 answer]}  when each call first reached a person or a mailbox
      .funnel(since_ms, until_ms, skip_line=None) -> [(node, calls entered, callers who
                                 hung up there)]   where callers leave the menus
      .with_event(call_ids, kind) -> set[int]   which of these calls logged an event of
                                 `kind` (the call log's TTY mark: kind "tty")
    `skip_line` leaves out the calls of one line (the web page's test calls).

Why here: only `firmware.store` writes SQL, and these are the page's heavy reads (a year
of calls on a Pi), kept to indexed range scans on `calls.started_ms`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from firmware.store.calllog import Call, _call
from firmware.store.db import Database

MAX_PAGE = 5000
MAX_BOUND_IDS = 500  # ids per query (SQLite allows 999 bound values on old builds)


def _where(since_ms: int | None, until_ms: int | None, caller: str | None,
           outcome: str | None) -> tuple[str, list[Any]]:
    sql, args = " WHERE 1", []
    if since_ms is not None:
        sql += " AND started_ms >= ?"
        args.append(since_ms)
    if until_ms is not None:
        sql += " AND started_ms < ?"
        args.append(until_ms)
    if caller:
        like = "%" + caller.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql += " AND (caller_number LIKE ? ESCAPE '\\' OR caller_name LIKE ? ESCAPE '\\')"
        args += [like, like]
    if outcome:
        sql += " AND outcome = ?"
        args.append(outcome)
    return sql, args


class Reports:
    def __init__(self, db: Database):
        self.db = db

    def search(self, *, since_ms: int | None = None, until_ms: int | None = None,
               caller: str | None = None, outcome: str | None = None, limit: int = 100,
               offset: int = 0) -> list[Call]:
        where, args = _where(since_ms, until_ms, caller, outcome)
        rows = self.db.query(
            f"SELECT * FROM calls{where} ORDER BY started_ms DESC, id DESC LIMIT ? OFFSET ?",
            [*args, max(1, min(int(limit), MAX_PAGE)), max(0, int(offset))])
        return [_call(r) for r in rows]

    def count(self, *, since_ms: int | None = None, until_ms: int | None = None,
              caller: str | None = None, outcome: str | None = None) -> int:
        where, args = _where(since_ms, until_ms, caller, outcome)
        row = self.db.query_one(f"SELECT count(*) FROM calls{where}", args)
        return int(row[0]) if row else 0

    def outcomes(self, since_ms: int, until_ms: int, skip_line: str | None = None) -> dict[str, int]:
        rows = self.db.query(
            "SELECT coalesce(outcome, 'in_progress') AS o, count(*) AS n FROM calls"
            " WHERE started_ms >= ? AND started_ms < ? AND line IS NOT ? GROUP BY o ORDER BY n DESC",
            (since_ms, until_ms, skip_line))
        return {r["o"]: r["n"] for r in rows}

    def per_day(self, since_ms: int, until_ms: int, tz: str,
                skip_line: str | None = None) -> list[tuple[str, int]]:
        zone = ZoneInfo(tz)
        first = dt.datetime.fromtimestamp(since_ms / 1000, zone).date()
        last = dt.datetime.fromtimestamp(max(since_ms, until_ms - 1) / 1000, zone).date()
        counts: dict[dt.date, int] = {}
        for (started,) in self.db.query(
                "SELECT started_ms FROM calls WHERE started_ms >= ? AND started_ms < ? AND line IS NOT ?",
                (since_ms, until_ms, skip_line)):
            day = dt.datetime.fromtimestamp(started / 1000, zone).date()
            counts[day] = counts.get(day, 0) + 1
        days = (last - first).days + 1
        return [((first + dt.timedelta(d)).isoformat(), counts.get(first + dt.timedelta(d), 0))
                for d in range(days)]

    def reach_times(self, since_ms: int, until_ms: int,
                    skip_line: str | None = None) -> dict[str, list[int]]:
        """Per call: the line time (ms from answer) it entered its first forward or
        voicemail node, grouped by that node type."""
        rows = self.db.query(
            "SELECT e.call_id AS id, min(e.t_ms) AS t, json_extract(e.detail, '$.type') AS kind"
            " FROM call_events e JOIN calls c ON c.id = e.call_id"
            " WHERE c.started_ms >= ? AND c.started_ms < ? AND c.line IS NOT ?"
            " AND e.kind IN ('node', 'node_entered')"
            " AND json_extract(e.detail, '$.type') IN ('forward', 'voicemail')"
            " GROUP BY e.call_id, kind", (since_ms, until_ms, skip_line))
        out: dict[str, list[int]] = {"forward": [], "voicemail": []}
        for r in rows:
            out[r["kind"]].append(int(r["t"]))
        return out

    def funnel(self, since_ms: int, until_ms: int,
               skip_line: str | None = None) -> list[tuple[str, int, int]]:
        """Per flow node: distinct calls that entered it, and callers who hung up while
        in it (the engine logs `caller_hangup` with the node); busiest node first."""
        rows = self.db.query(
            "SELECT e.node AS node,"
            " count(DISTINCT CASE WHEN e.kind IN ('node', 'node_entered') THEN e.call_id END) AS entered,"
            " count(DISTINCT CASE WHEN e.kind = 'caller_hangup' THEN e.call_id END) AS left_here"
            " FROM call_events e JOIN calls c ON c.id = e.call_id"
            " WHERE c.started_ms >= ? AND c.started_ms < ? AND c.line IS NOT ? AND e.node IS NOT NULL"
            " AND e.kind IN ('node', 'node_entered', 'caller_hangup')"
            " GROUP BY e.node ORDER BY entered DESC, e.node", (since_ms, until_ms, skip_line))
        return [(r["node"], int(r["entered"]), int(r["left_here"])) for r in rows]

    def with_event(self, call_ids: list[int], kind: str) -> set[int]:
        """The calls among `call_ids` with at least one `kind` event (a page of the log,
        or a CSV export in chunks that stay under SQLite's limit of bound values)."""
        found: set[int] = set()
        ids = [int(i) for i in call_ids]
        for start in range(0, len(ids), MAX_BOUND_IDS):
            chunk = ids[start:start + MAX_BOUND_IDS]
            marks = ", ".join("?" for _ in chunk)
            rows = self.db.query(
                f"SELECT DISTINCT call_id FROM call_events WHERE call_id IN ({marks}) AND kind = ?",
                (*chunk, kind))
            found.update(int(r[0]) for r in rows)
        return found
