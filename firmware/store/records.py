"""Small tables: callback requests, survey answers, key/value state, published configs.

API index:
    Callbacks(db)      .request(number, name=, call_id=, at_ms=, by_tty=False) -> id
                       .open() -> list[Callback] oldest first;  .done(id, note=)
                       .list(limit=100) -> newest first
    SurveyAnswers(db)  .add(survey, question, answer, call_id=, at_ms=)
                       .tally(survey, question, since_ms=0) -> {answer: count}
    KeyValue(db)       .get(key, default=None) / .set(key, value) / .delete(key)
                       values are JSON (day/night override, last reload, ...)
    ConfigVersions(db) .publish(text, note=) -> version; .latest(); .get(version);
                       .list(limit=20) newest first; .prune(keep)
    Callback, ConfigVersion   frozen rows
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from firmware.errors import StoreError, UsageError
from firmware.store.db import Database


@dataclass(frozen=True)
class Callback:
    id: int
    call_id: int | None
    number: str
    name: str | None
    requested_ms: int
    done_ms: int | None
    note: str | None
    by_tty: bool = False  # asked for from a text telephone: call back by TTY or relay

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_tty", bool(self.by_tty))  # SQLite keeps 0/1


class Callbacks:
    def __init__(self, db: Database):
        self.db = db

    def request(self, number: str, *, name: str | None = None, call_id: int | None = None,
                at_ms: int | None = None, by_tty: bool = False) -> int:
        if not number:
            raise UsageError("a callback request needs a number")
        at = self.db.now_ms() if at_ms is None else at_ms
        with self.db.write() as con:
            cur = con.execute(
                "INSERT INTO callbacks (call_id, number, name, requested_ms, by_tty)"
                " VALUES (?, ?, ?, ?, ?)", (call_id, number, name, at, int(by_tty)))
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def open(self) -> list[Callback]:
        rows = self.db.query(
            "SELECT * FROM callbacks WHERE done_ms IS NULL ORDER BY requested_ms, id")
        return [Callback(**dict(r)) for r in rows]

    def list(self, limit: int = 100) -> list[Callback]:
        rows = self.db.query(
            "SELECT * FROM callbacks ORDER BY requested_ms DESC, id DESC LIMIT ?", (limit,))
        return [Callback(**dict(r)) for r in rows]

    def done(self, callback_id: int, note: str | None = None, at_ms: int | None = None) -> None:
        at = self.db.now_ms() if at_ms is None else at_ms
        with self.db.write() as con:
            cur = con.execute("UPDATE callbacks SET done_ms = ?, note = ? WHERE id = ?",
                              (at, note, callback_id))
            if cur.rowcount != 1:
                raise StoreError(f"no callback request {callback_id}")


class SurveyAnswers:
    def __init__(self, db: Database):
        self.db = db

    def add(self, survey: str, question: str, answer: str, *, call_id: int | None = None,
            at_ms: int | None = None) -> None:
        at = self.db.now_ms() if at_ms is None else at_ms
        with self.db.write() as con:
            con.execute(
                "INSERT INTO survey_answers (call_id, survey, question, answer, answered_ms)"
                " VALUES (?, ?, ?, ?, ?)", (call_id, survey, question, answer, at))

    def tally(self, survey: str, question: str, since_ms: int = 0) -> dict[str, int]:
        rows = self.db.query(
            "SELECT answer, count(*) AS n FROM survey_answers"
            " WHERE survey = ? AND question = ? AND answered_ms >= ?"
            " GROUP BY answer ORDER BY answer", (survey, question, since_ms))
        return {r["answer"]: r["n"] for r in rows}


class KeyValue:
    def __init__(self, db: Database):
        self.db = db

    def get(self, key: str, default: Any = None) -> Any:
        row = self.db.query_one("SELECT value FROM key_value WHERE key = ?", (key,))
        return json.loads(row[0]) if row else default

    def set(self, key: str, value: Any) -> None:
        text = json.dumps(value, sort_keys=True)
        with self.db.write() as con:
            con.execute(
                "INSERT INTO key_value (key, value, updated_ms) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_ms = excluded.updated_ms", (key, text, self.db.now_ms()))

    def delete(self, key: str) -> None:
        with self.db.write() as con:
            con.execute("DELETE FROM key_value WHERE key = ?", (key,))


@dataclass(frozen=True)
class ConfigVersion:
    version: int
    published_ms: int
    text: str
    note: str | None


class ConfigVersions:
    """The history of published configs, so the owner can look back and roll back."""

    def __init__(self, db: Database):
        self.db = db

    def publish(self, text: str, note: str | None = None, at_ms: int | None = None) -> int:
        at = self.db.now_ms() if at_ms is None else at_ms
        with self.db.write() as con:
            (last,) = con.execute("SELECT coalesce(max(version), 0) FROM config_versions").fetchone()
            con.execute(
                "INSERT INTO config_versions (version, published_ms, text, note) VALUES (?, ?, ?, ?)",
                (last + 1, at, text, note))
            return int(last) + 1

    def get(self, version: int) -> ConfigVersion | None:
        row = self.db.query_one("SELECT * FROM config_versions WHERE version = ?", (version,))
        return ConfigVersion(**dict(row)) if row else None

    def latest(self) -> ConfigVersion | None:
        row = self.db.query_one("SELECT * FROM config_versions ORDER BY version DESC LIMIT 1")
        return ConfigVersion(**dict(row)) if row else None

    def list(self, limit: int = 20) -> list[ConfigVersion]:
        rows = self.db.query(
            "SELECT * FROM config_versions ORDER BY version DESC LIMIT ?", (limit,))
        return [ConfigVersion(**dict(r)) for r in rows]

    def prune(self, keep: int) -> int:
        """Keep only the newest `keep` versions; returns how many were removed."""
        if keep < 1:
            raise UsageError("keep at least one config version")
        with self.db.write() as con:
            cur = con.execute(
                "DELETE FROM config_versions WHERE version <= "
                "(SELECT coalesce(max(version), 0) FROM config_versions) - ?", (keep,))
            return cur.rowcount
