"""Lookup tables: rows in SQLite, replaced whole from CSV / pasted text / XLSX files."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from firmware.errors import UploadRejected, UsageError
from firmware.store import LookupEntry, Store
from firmware.store.lookup_import import parse_text, parse_upload
from firmware.store.lookups import parse_valid_until


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path)
    yield s
    s.close()


def test_replace_find_and_list(store: Store) -> None:
    entries = [LookupEntry("12-345", {"en": "Shipped", "zh-TW": "已出貨"}),
               LookupEntry("7", {"": "Ready"}, "2027-01-31")]
    assert store.lookups.replace("orders", entries) == 2
    found = store.lookups.find("orders", "12345")
    assert found is not None and found.text_for("zh-TW") == "已出貨" and found.text_for("en") == "Shipped"
    assert store.lookups.find("orders", "7").text_for("zh-TW") == "Ready"  # one text for all
    assert store.lookups.find("orders", "99") is None and store.lookups.find("orders", "abc") is None
    assert store.lookups.find("tickets", "7") is None  # tables are separate
    assert [e.key for e in store.lookups.entries("orders")] == ["7", "12345"]
    assert store.lookups.tables() == {"orders": 2}
    store.lookups.replace("orders", [LookupEntry("1", {"": "Only"})])  # whole table swapped
    assert store.lookups.tables() == {"orders": 1}
    store.lookups.upsert("orders", LookupEntry("1", {"": "Changed"}))
    assert store.lookups.find("orders", "1").text_for("en") == "Changed"
    assert store.lookups.delete("orders", "1") and not store.lookups.delete("orders", "1")


def test_valid_until_is_local_and_a_date_covers_its_whole_day() -> None:
    day = LookupEntry("1", {"": "x"}, "2027-01-31")
    assert day.valid_at(dt.datetime(2027, 1, 31, 23, 59)) and not day.valid_at(dt.datetime(2027, 2, 1, 0, 0))
    moment = LookupEntry("1", {"": "x"}, dt.datetime(2027, 1, 31, 18, 0))
    assert moment.valid_until == "2027-01-31T18:00"
    assert moment.valid_at(dt.datetime(2027, 1, 31, 17, 59)) and not moment.valid_at(dt.datetime(2027, 1, 31, 18, 0))
    with pytest.raises(UsageError, match="not a date"):
        LookupEntry("1", {"": "x"}, "soon")


def test_bad_entries_are_refused(store: Store) -> None:
    with pytest.raises(UsageError, match="digits only"):
        LookupEntry("A12", {"": "x"})
    with pytest.raises(UsageError, match="no text"):
        LookupEntry("12", {"en": "  "})
    with pytest.raises(UsageError, match="twice"):
        store.lookups.replace("orders", [LookupEntry("1", {"": "a"}), LookupEntry("1", {"": "b"})])
    with pytest.raises(UsageError, match="table name"):
        store.lookups.replace("1orders", [])


def test_pasted_tab_separated_rows_with_a_header() -> None:
    text = "Key\tText_en\ttext_zh-TW\tValid_until\n1001\tYour car is ready\t您的車已修好\t2027-03-01\n\n1002\tWaiting for parts\t等待零件\t\n"
    rows = parse_text(text)
    assert [(e.key, e.text_for("en"), e.text_for("zh-TW"), e.valid_until) for e in rows] == [
        ("1001", "Your car is ready", "您的車已修好", "2027-03-01"),
        ("1002", "Waiting for parts", "等待零件", None)]


def test_csv_without_header_and_big5_encoding() -> None:
    rows = parse_upload("5551,已出貨,2027-12-31 18:00\n5552,處理中\n".encode("cp950"), "orders.csv")
    assert rows[0].text_for("en") == "已出貨" and rows[0].valid_until == "2027-12-31T18:00"
    assert rows[1].valid_until is None


def test_every_problem_is_reported_with_its_row() -> None:
    text = "key,text,valid_until\nabc,x,\n12,,\n13,ok,tomorrow\n14,a\n14,b\n"
    with pytest.raises(UploadRejected) as info:
        parse_text(text)
    msg = str(info.value)
    assert "row 2: key 'abc' must be digits only" in msg
    assert "row 3: key 12 has no text" in msg
    assert "row 4: valid_until 'tomorrow'" in msg
    assert "row 6: key 14 is also on row 5" in msg
    with pytest.raises(UploadRejected, match="unknown column 'price'"):
        parse_text("key,price\n1,2\n")
    with pytest.raises(UploadRejected, match="no entries"):
        parse_text("key,text\n")
    with pytest.raises(UploadRejected, match="upload a .csv"):
        parse_upload(b"x", "orders.pdf")


def test_xlsx_upload_with_numbers_and_dates() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["key", "text", "valid_until"])
    sheet.append([20231, "Booked for Friday", dt.datetime(2027, 5, 1)])
    sheet.append([20232.0, "Cancelled", dt.datetime(2027, 5, 1, 18, 30)])
    sheet.append(["0042", "Leading zero kept as text", None])
    buf = io.BytesIO()
    book.save(buf)
    rows = parse_upload(buf.getvalue(), "Bookings.XLSX")
    assert [(e.key, e.valid_until) for e in rows] == [("20231", "2027-05-01"), ("20232", "2027-05-01T18:30"),
                                                      ("0042", None)]
    with pytest.raises(UploadRejected, match="not a readable .xlsx"):
        parse_upload(b"PK\x03\x04 broken", "x.xlsx")


@pytest.mark.parametrize("text, expected", [
    ("2027-12-31", "2027-12-31"), ("2027/12/31", "2027-12-31"), ("2027/1/5", "2027-01-05"),
    ("2027.1.5", "2027-01-05"), ("2027-1-5", "2027-01-05"), (" 2027/1/5 ", "2027-01-05"),
    ("2027/1/5 8:30", "2027-01-05T08:30"), ("2027-01-05T18:00:59", "2027-01-05T18:00"),
    ("2027/12/31 18:00", "2027-12-31T18:00")])
def test_valid_until_takes_the_dates_a_spreadsheet_writes(text: str, expected: str) -> None:
    assert parse_valid_until(text) == expected


@pytest.mark.parametrize("text", ["2027/13/01", "2027/2/30", "31/12/2027", "2027/1-5", "soon",
                                  "2027/1/5 25:00", "116/12/31"])
def test_valid_until_refuses_what_is_not_a_date_and_says_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError, match="2027/12/31"):
        parse_valid_until(text)
