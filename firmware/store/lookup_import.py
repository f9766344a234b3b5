"""Reading an owner's lookup table from a spreadsheet: CSV, tab-separated paste, or XLSX.

API index:
    parse_upload(data: bytes, filename) -> list[LookupEntry]    .csv / .tsv / .txt / .xlsx
    parse_text(text) -> list[LookupEntry]                       pasted rows (tabs or commas)
    parse_rows(rows) -> list[LookupEntry]                       any rows of cells
    MAX_ENTRIES, MAX_UPLOAD_BYTES, COLUMN_NAMES

Columns, by a header row (any order, case-insensitive): `key`, `text` (every language),
`text_en` / `en`, `text_zh-TW` / `zh-TW` / `zh`, `valid_until` / `until`. Without a
header row the columns are key, text, valid_until. Every problem is reported at once with
its row number (as the owner's spreadsheet numbers rows), so one upload fixes them all.
Keys that a spreadsheet turned into numbers (12345.0) come back as digits; a key whose
leading zero the spreadsheet dropped cannot be recovered: format that column as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from typing import Any

from firmware.errors import UploadRejected, UsageError
from firmware.store.lookups import ANY_LANGUAGE, LookupEntry

MAX_ENTRIES = 50_000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 10
COLUMN_NAMES: dict[str, str] = {
    "key": "key", "number": "key", "code": "key",
    "text": ANY_LANGUAGE, "text_en": "en", "en": "en", "english": "en",
    "text_zh-tw": "zh-TW", "text_zh_tw": "zh-TW", "zh-tw": "zh-TW", "zh_tw": "zh-TW", "zh": "zh-TW",
    "valid_until": "valid_until", "valid until": "valid_until", "until": "valid_until",
}
PLAIN_COLUMNS = ("key", ANY_LANGUAGE, "valid_until")


def _cell(value: Any) -> Any:
    """A spreadsheet cell as text, except dates (kept for valid_until)."""
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(row: Sequence[Any]) -> list[str] | None:
    names = [str(c).strip().lower() for c in row]
    if "key" not in [COLUMN_NAMES.get(n) for n in names]:
        return None
    unknown = [n for n in names if n and n not in COLUMN_NAMES]
    if unknown:
        raise UploadRejected(f"row 1: unknown column '{unknown[0]}' (use key, text, text_en, "
                             "text_zh-TW, valid_until)")
    return [COLUMN_NAMES.get(n, "") for n in names]


def parse_rows(rows: Iterable[Sequence[Any]]) -> list[LookupEntry]:
    entries: list[LookupEntry] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    columns: list[str] | None = None
    for number, raw in enumerate(rows, start=1):
        row = [_cell(c) for c in raw]
        if not any(c != "" for c in row):
            continue
        if columns is None:
            columns = _header(row)
            if columns is not None:
                continue
            columns = list(PLAIN_COLUMNS)
        values: dict[str, Any] = {}
        for name, cell in zip(columns, row):
            if name is not None and cell != "":
                values[name] = cell
        try:
            entry = LookupEntry(
                str(values.get("key", "")),
                {lang: str(values[lang]) for lang in (ANY_LANGUAGE, "en", "zh-TW") if lang in values},
                values.get("valid_until"))
        except UsageError as exc:
            problems.append(f"row {number}: {exc}")
            continue
        if entry.key in seen:
            problems.append(f"row {number}: key {entry.key} is also on row {seen[entry.key]}")
            continue
        seen[entry.key] = number
        entries.append(entry)
        if len(entries) > MAX_ENTRIES:
            raise UploadRejected(f"more than {MAX_ENTRIES} entries: split the table")
    if problems:
        more = len(problems) - MAX_PROBLEMS_SHOWN
        shown = problems[:MAX_PROBLEMS_SHOWN] + ([f"... and {more} more"] if more > 0 else [])
        raise UploadRejected("; ".join(shown))
    if not entries:
        raise UploadRejected("the table has no entries (a key and a text per row)")
    return entries


def parse_text(text: str) -> list[LookupEntry]:
    """Rows pasted from a spreadsheet (tab-separated) or typed as CSV."""
    text = text.lstrip("\ufeff")
    sample = text[:4096]
    delimiter = "\t" if "\t" in sample else ","
    return parse_rows(csv.reader(io.StringIO(text), delimiter=delimiter))


def _xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    import zipfile

    import openpyxl  # only the upload path needs it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UploadRejected(f"not a readable .xlsx file ({exc})") from None
    try:
        sheet = book.worksheets[0]
        return [tuple(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def parse_upload(data: bytes, filename: str) -> list[LookupEntry]:
    """An uploaded file, by its extension."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xlsx":
        return parse_rows(_xlsx_rows(data))
    if suffix in (".csv", ".tsv", ".txt"):
        for encoding in ("utf-8-sig", "cp950"):  # Excel in Taiwan saves CSV as Big5 (cp950)
            try:
                return parse_text(data.decode(encoding))
            except UnicodeDecodeError:
                continue
        raise UploadRejected("the file is neither UTF-8 nor Big5 text: save it as CSV UTF-8")
    raise UploadRejected(f"'{filename}': upload a .csv, .tsv, .txt or .xlsx file")
