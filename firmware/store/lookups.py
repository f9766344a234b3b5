"""The owner's lookup tables: what a `lookup` node reads back for a keyed number.

API index:
    LookupEntry(key, texts, valid_until=None)     one row; frozen
        .text_for(language, default_language) -> str | None
        .valid_at(local_now) -> bool
    LookupTables(db)
        .replace(table, entries) -> count          the whole table at once (an upload)
        .upsert(table, entry) / .delete(table, key) -> bool / .drop(table) -> count
        .find(table, key) -> LookupEntry | None
        .entries(table, limit=200, offset=0) -> list[LookupEntry]   by key
        .tables() -> {name: entry count}
    normalise_key(text) -> str                     "12-345 6" -> "123456"; UsageError if not digits
    parse_valid_until(value) -> str | None         a date or local date-time, normalised

`texts` maps a language ("en", "zh-TW") to the text for it; the key "" holds one text
for every language. `valid_until` is local time at the business (the owner thinks of
"until the end of December", not UTC): a date means through the end of that day.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from firmware.errors import UsageError
from firmware.store.db import Database

MAX_KEY_DIGITS = 20
MAX_TEXT_CHARS = 1000  # read aloud, so about a minute of speech at most
ANY_LANGUAGE = ""
_SEPARATORS = re.compile(r"[\s\-./]")
# 2027-12-31, 2027/1/5 (what Excel writes to CSV in a zh-TW or US locale), 2027.1.5; an
# optional time 18:00 or 18:00:00 after a space or T
_DATE_TIME = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[T ]+(\d{1,2}):(\d{2})(?::\d{2})?)?$")


def normalise_key(text: str) -> str:
    """The digits a caller keys for `text`; spaces, dashes, dots and slashes are dropped."""
    key = _SEPARATORS.sub("", str(text))
    if not key.isdigit() or not key.isascii():
        raise UsageError(f"key '{text}' must be digits only (callers key it on a phone)")
    if len(key) > MAX_KEY_DIGITS:
        raise UsageError(f"key '{text}' is longer than {MAX_KEY_DIGITS} digits")
    return key


def parse_valid_until(value: object) -> str | None:
    """'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM' (local), from text, a date or a datetime.

    Text may use - / or . between the parts, with or without leading zeros, because a
    table saved as CSV from a spreadsheet writes the date the way the PC's locale shows it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0, 0):
        return value.date().isoformat()  # a spreadsheet's date cell: the whole day
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    match = _DATE_TIME.match(text)
    try:
        if match is None:
            raise ValueError(text)
        year, _, month, day, hour, minute = match.groups()
        date = dt.date(int(year), int(month), int(day))
        if hour is None:
            return date.isoformat()
        moment = dt.datetime.combine(date, dt.time(int(hour), int(minute)))
        return moment.strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        raise UsageError(f"valid_until '{value}' is not a date (2027-12-31 or 2027/12/31) or "
                         "date-time (2027-12-31 18:00)") from None


@dataclass(frozen=True)
class LookupEntry:
    key: str
    texts: Mapping[str, str] = field(default_factory=dict)
    valid_until: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", normalise_key(self.key))
        texts = {k: str(v).strip() for k, v in dict(self.texts).items() if v and str(v).strip()}
        if not texts:
            raise UsageError(f"key {self.key} has no text to read")
        long = [k or "text" for k, v in texts.items() if len(v) > MAX_TEXT_CHARS]
        if long:
            raise UsageError(f"key {self.key}: text longer than {MAX_TEXT_CHARS} characters")
        object.__setattr__(self, "texts", MappingProxyType(texts))
        object.__setattr__(self, "valid_until", parse_valid_until(self.valid_until))

    def text_for(self, language: str, default_language: str = "en") -> str | None:
        """The text in `language`, else the one text for all, else the default language's."""
        for choice in (language, ANY_LANGUAGE, default_language):
            if choice in self.texts:
                return self.texts[choice]
        return next(iter(self.texts.values()), None)

    def valid_at(self, local_now: dt.datetime) -> bool:
        if self.valid_until is None:
            return True
        now = local_now.replace(tzinfo=None)
        if "T" not in self.valid_until:  # normalised: a date alone means through that day
            return now.date() <= dt.date.fromisoformat(self.valid_until)
        return now < dt.datetime.fromisoformat(self.valid_until)


def _entry(row: object) -> LookupEntry:
    return LookupEntry(row["key"], json.loads(row["texts"]), row["valid_until"])  # type: ignore[index]


def _check_table(table: str) -> str:
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]{0,47}$", table or ""):
        raise UsageError(f"'{table}' is not a table name: a letter, then letters, digits, _ or -")
    return table


class LookupTables:
    def __init__(self, db: Database):
        self.db = db

    def replace(self, table: str, entries: Iterable[LookupEntry]) -> int:
        """Swap the whole table in one transaction: callers never see half an upload."""
        _check_table(table)
        rows = list(entries)
        keys = [e.key for e in rows]
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})[:5]
            raise UsageError(f"keys listed twice: {', '.join(dupes)}")
        now = self.db.now_ms()
        with self.db.write() as con:
            con.execute("DELETE FROM lookup_entries WHERE tbl = ?", (table,))
            con.executemany(
                "INSERT INTO lookup_entries (tbl, key, texts, valid_until, updated_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                [(table, e.key, json.dumps(dict(e.texts), ensure_ascii=False), e.valid_until, now)
                 for e in rows])
        return len(rows)

    def upsert(self, table: str, entry: LookupEntry) -> None:
        _check_table(table)
        with self.db.write() as con:
            con.execute(
                "INSERT INTO lookup_entries (tbl, key, texts, valid_until, updated_ms)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tbl, key) DO UPDATE SET"
                " texts = excluded.texts, valid_until = excluded.valid_until,"
                " updated_ms = excluded.updated_ms",
                (table, entry.key, json.dumps(dict(entry.texts), ensure_ascii=False),
                 entry.valid_until, self.db.now_ms()))

    def delete(self, table: str, key: str) -> bool:
        with self.db.write() as con:
            cur = con.execute("DELETE FROM lookup_entries WHERE tbl = ? AND key = ?",
                              (table, normalise_key(key)))
            return cur.rowcount == 1

    def drop(self, table: str) -> int:
        with self.db.write() as con:
            return con.execute("DELETE FROM lookup_entries WHERE tbl = ?", (table,)).rowcount

    def find(self, table: str, key: str) -> LookupEntry | None:
        try:
            key = normalise_key(key)
        except UsageError:
            return None
        row = self.db.query_one(
            "SELECT key, texts, valid_until FROM lookup_entries WHERE tbl = ? AND key = ?",
            (table, key))
        return _entry(row) if row else None

    def entries(self, table: str, limit: int = 200, offset: int = 0) -> list[LookupEntry]:
        rows = self.db.query(
            "SELECT key, texts, valid_until FROM lookup_entries WHERE tbl = ?"
            " ORDER BY length(key), key LIMIT ? OFFSET ?", (table, limit, offset))
        return [_entry(r) for r in rows]

    def tables(self) -> dict[str, int]:
        rows = self.db.query("SELECT tbl, count(*) AS n FROM lookup_entries GROUP BY tbl ORDER BY tbl")
        return {r["tbl"]: r["n"] for r in rows}
