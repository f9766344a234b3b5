"""How the features beyond the menus were used: TTY callers, lookups by phone, who on a
hunt list took the call, and calls per line -- read from the call log for the analytics
page.

API index:
    FeatureUsage(db)
      .tty(since_ms, until_ms, skip_line=None) -> {"calls", "messages", "dropped"}
                                 calls where a text telephone was heard; typed messages
                                 kept; typed messages that came to nothing
      .lookups(since_ms, until_ms, skip_line=None) -> {"results": {result: n},
                                 "calls": n, "limit_reached": n}
                                 one count per number keyed (found, not_found, expired,
                                 too_short, failed); calls that used a lookup; calls that
                                 ran out of attempts
      .hunt(since_ms, until_ms, skip_line=None) -> [(person, {outcome: n})]
                                 every forward attempt per person, most tried first
      .per_line(since_ms, until_ms, skip_line=None) -> [(line, calls)]   busiest first

Every figure counts calls *started* in [since_ms, until_ms), like the rest of
`Reports`, so the numbers on one page add up. The events are the ones the engine logs:
`tty` (ivr/call.py), `message_saved`/`message_dropped` with `tty: true`
(ivr/ttynodes.py), `lookup` and `lookup_limit` (ivr/lookup.py), `forward_result`
(ivr/hunt.py). Why here: only `firmware.store` writes SQL; each question is one indexed
scan of `call_events` by kind, joined to the calls of the period.
"""

from __future__ import annotations

from typing import Any

from firmware.store.db import Database

_IN_PERIOD = " c.started_ms >= ? AND c.started_ms < ? AND c.line IS NOT ?"


class FeatureUsage:
    def __init__(self, db: Database):
        self.db = db

    def _events(self, select: str, kinds: tuple[str, ...], since_ms: int, until_ms: int,
                skip_line: str | None, tail: str = "") -> list[Any]:
        marks = ", ".join("?" for _ in kinds)
        return self.db.query(
            f"SELECT {select} FROM call_events e JOIN calls c ON c.id = e.call_id"
            f" WHERE e.kind IN ({marks}) AND{_IN_PERIOD}{tail}",
            (*kinds, since_ms, until_ms, skip_line))

    def tty(self, since_ms: int, until_ms: int, skip_line: str | None = None) -> dict[str, int]:
        row = self._events(
            "count(DISTINCT CASE WHEN e.kind = 'tty' THEN e.call_id END) AS calls,"
            " count(CASE WHEN e.kind = 'message_saved' AND json_extract(e.detail, '$.tty') THEN 1 END)"
            " AS messages,"
            " count(CASE WHEN e.kind = 'message_dropped' AND json_extract(e.detail, '$.tty') THEN 1 END)"
            " AS dropped",
            ("tty", "message_saved", "message_dropped"), since_ms, until_ms, skip_line)[0]
        return {"calls": int(row["calls"]), "messages": int(row["messages"]),
                "dropped": int(row["dropped"])}

    def lookups(self, since_ms: int, until_ms: int, skip_line: str | None = None) -> dict[str, Any]:
        rows = self._events(
            "coalesce(json_extract(e.detail, '$.result'), '?') AS result, count(*) AS n",
            ("lookup",), since_ms, until_ms, skip_line, " GROUP BY result ORDER BY n DESC, result")
        calls = self._events(
            "count(DISTINCT CASE WHEN e.kind = 'lookup' THEN e.call_id END) AS calls,"
            " count(DISTINCT CASE WHEN e.kind = 'lookup_limit' THEN e.call_id END) AS limit_reached",
            ("lookup", "lookup_limit"), since_ms, until_ms, skip_line)[0]
        return {"results": {r["result"]: int(r["n"]) for r in rows}, "calls": int(calls["calls"]),
                "limit_reached": int(calls["limit_reached"])}

    def hunt(self, since_ms: int, until_ms: int,
             skip_line: str | None = None) -> list[tuple[str, dict[str, int]]]:
        rows = self._events(
            "json_extract(e.detail, '$.person') AS person,"
            " coalesce(json_extract(e.detail, '$.outcome'), json_extract(e.detail, '$.result'), '?')"
            " AS outcome, count(*) AS n",
            ("forward_result",), since_ms, until_ms, skip_line,
            " AND json_extract(e.detail, '$.person') IS NOT NULL GROUP BY person, outcome")
        people: dict[str, dict[str, int]] = {}
        for r in rows:
            people.setdefault(str(r["person"]), {})[str(r["outcome"])] = int(r["n"])
        return sorted(people.items(), key=lambda item: (-sum(item[1].values()), item[0]))

    def per_line(self, since_ms: int, until_ms: int,
                 skip_line: str | None = None) -> list[tuple[str, int]]:
        rows = self.db.query(
            "SELECT c.line AS line, count(*) AS n FROM calls c WHERE" + _IN_PERIOD
            + " GROUP BY c.line ORDER BY n DESC, c.line", (since_ms, until_ms, skip_line))
        return [(r["line"], int(r["n"])) for r in rows]
