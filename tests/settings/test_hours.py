"""Opening hours: weekly ranges, lunch breaks, midnight, holidays, closures, DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from firmware.errors import UsageError
from firmware.settings import Hours, is_open, next_change, next_open, parse, status

from .conftest import MINIMAL, found

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
TAIPEI = ZoneInfo("Asia/Taipei")

OFFICE = Hours.model_validate({
    "weekly": {"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": ["22:00-02:00"]},
    "holidays": [
        {"name": "New Year", "date": "2000-01-01", "annual": True},
        {"name": "Break", "from": "2026-02-16", "to": "2026-02-18"},
        {"name": "Winter", "from": "2000-12-31", "to": "2000-01-02", "annual": True},
    ],
    "closures": [{"name": "Stocktaking", "from": "2026-03-04T15:00", "to": "2026-03-04T17:30"}],
})


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, tz: ZoneInfo = NY, fold: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=tz, fold=fold)


@pytest.mark.parametrize("when, expected", [
    (at(2026, 3, 2, 8, 59), "closed"),    # Monday before opening
    (at(2026, 3, 2, 9, 0), "open"),       # start is inclusive
    (at(2026, 3, 2, 12, 0), "closed"),    # end is exclusive: lunch
    (at(2026, 3, 2, 12, 59), "closed"),
    (at(2026, 3, 2, 13, 0), "open"),
    (at(2026, 3, 2, 17, 59), "open"),
    (at(2026, 3, 2, 18, 0), "closed"),
    (at(2026, 3, 1, 12, 0), "closed"),    # Sunday
    (at(2026, 3, 7, 23, 0), "open"),      # Saturday night range...
    (at(2026, 3, 15, 1, 30), "open"),     # ...runs past midnight into Sunday
    (at(2026, 3, 15, 2, 0), "closed"),
    (at(2026, 2, 17, 10, 0), "holiday"),  # date range
    (at(2026, 1, 1, 10, 0), "holiday"),   # annual
    (at(2027, 1, 1, 10, 0), "holiday"),   # annual, another year
    (at(2026, 12, 31, 10, 0), "holiday"),  # annual range across the year end
    (at(2027, 1, 2, 10, 0), "holiday"),
    (at(2026, 3, 4, 15, 0), "holiday"),   # temporary closure
    (at(2026, 3, 4, 17, 30), "open"),
])
def test_status(when: dt.datetime, expected: str) -> None:
    assert status(OFFICE, when) == expected
    assert is_open(OFFICE, when) == (expected == "open")


def test_holiday_closes_the_spill_over_of_the_night_before() -> None:
    hours = Hours.model_validate({"weekly": {"thu": ["22:00-02:00"]}, "holidays": [{"date": "2026-01-02"}]})
    assert status(hours, at(2026, 1, 1, 23)) == "open"
    assert status(hours, at(2026, 1, 2, 1)) == "holiday"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(UsageError):
        is_open(OFFICE, dt.datetime(2026, 3, 2, 10))


def test_next_change_walks_a_working_day() -> None:
    t = at(2026, 3, 2, 8)
    seen = []
    for _ in range(4):
        t = next_change(OFFICE, t)
        seen.append((t.hour, t.minute, status(OFFICE, t)))
    assert seen == [(9, 0, "open"), (12, 0, "closed"), (13, 0, "open"), (18, 0, "closed")]


def test_adjacent_ranges_are_one_opening() -> None:
    hours = Hours.model_validate({"weekly": {"mon": ["09:00-12:00", "12:00-15:00"]}})
    assert next_change(hours, at(2026, 3, 2, 10)) == at(2026, 3, 2, 15)


def test_next_change_over_a_weekend_and_holiday() -> None:
    assert next_change(OFFICE, at(2026, 2, 13, 18, 30)) == at(2026, 2, 14, 22)  # Sat night
    assert next_change(OFFICE, at(2026, 2, 15, 2, 30)) == at(2026, 2, 16)  # holiday starts
    assert next_change(OFFICE, at(2026, 2, 16, 10)) == at(2026, 2, 19)  # holiday ends
    assert next_open(OFFICE, at(2026, 2, 16, 10)) == at(2026, 2, 19, 9)
    assert next_open(OFFICE, at(2026, 2, 19, 10)) is None  # already open


def test_never_changing_hours() -> None:
    assert next_change(Hours(), at(2026, 3, 2, 10), horizon_days=30) is None
    always = Hours.model_validate({"weekly": {"mon-sun": ["00:00-24:00"]}})
    assert is_open(always, at(2026, 3, 8, 2, 30)) and next_change(always, at(2026, 3, 2), 30) is None


# DST: the US springs forward 2026-03-08 02:00 -> 03:00 and falls back 2026-11-01
# 02:00 -> 01:00; Germany 2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00.

def test_spring_forward_range_ending_in_the_skipped_hour() -> None:
    """Saturday 22:00-02:30: 02:30 never happens, so it closes at the jump (03:00 EDT)."""
    hours = Hours.model_validate({"weekly": {"sat": ["22:00-02:30"]}})
    change = next_change(hours, at(2026, 3, 7, 23))
    assert change is not None
    assert change.astimezone(dt.timezone.utc) == dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.timezone.utc)
    assert (change.hour, change.minute) == (3, 0) and change.utcoffset() == dt.timedelta(hours=-4)
    assert not is_open(hours, change)


def test_spring_forward_opening_in_the_skipped_hour() -> None:
    hours = Hours.model_validate({"weekly": {"sun": ["02:30-05:00"]}})
    change = next_change(hours, at(2026, 3, 8, 1, 0))
    assert change is not None and change.astimezone(dt.timezone.utc).hour == 7  # the jump
    assert is_open(hours, change)
    # a day without DST opens at its wall time
    assert next_change(hours, at(2026, 3, 15, 1, 0)) == at(2026, 3, 15, 2, 30)


def test_fall_back_repeated_hour() -> None:
    """Open 01:30-04:00 on the Sunday the clock falls back. Hours are wall-clock times:
    it opens at the first 01:30, is before opening again while the repeated hour reads
    01:00-01:29, reopens at the second 01:30 and closes at 04:00 EST."""
    hours = Hours.model_validate({"weekly": {"sun": ["01:30-04:00"]}})
    t, seen = at(2026, 11, 1, 0, 0), []
    for _ in range(4):
        t = next_change(hours, t)
        seen.append((t.astimezone(dt.timezone.utc).strftime("%H:%M"), is_open(hours, t)))
    assert seen == [("05:30", True), ("06:00", False), ("06:30", True), ("09:00", False)]


def test_fall_back_range_ending_in_the_repeated_hour() -> None:
    """Open until 01:30: at 01:30 EDT it closes; when the clock falls back to 01:00 EST
    the wall time is inside the range again, so it reopens until the second 01:30."""
    hours = Hours.model_validate({"weekly": {"sat": ["20:00-01:30"]}})
    t1 = next_change(hours, at(2026, 10, 31, 23))
    t2 = next_change(hours, t1)
    t3 = next_change(hours, t2)
    utc = [t.astimezone(dt.timezone.utc).strftime("%H:%M") for t in (t1, t2, t3)]
    assert utc == ["05:30", "06:00", "06:30"]


def test_berlin_transitions() -> None:
    hours = Hours.model_validate({"weekly": {"sun": ["00:00-02:30"]}})
    close = next_change(hours, at(2026, 3, 29, 1, tz=BERLIN))
    assert close is not None and close.astimezone(dt.timezone.utc) == dt.datetime(
        2026, 3, 29, 1, 0, tzinfo=dt.timezone.utc)  # 02:00 CET jumps to 03:00 CEST
    hours = Hours.model_validate({"weekly": {"mon-sun": ["09:00-17:00"]}})
    opening = next_change(hours, at(2026, 10, 24, 18, tz=BERLIN))
    assert opening == at(2026, 10, 25, 9, tz=BERLIN) and opening.utcoffset() == dt.timedelta(hours=1)


def test_zone_without_dst() -> None:
    hours = Hours.model_validate({"weekly": {"mon-fri": ["09:00-18:00"]}})
    assert next_change(hours, at(2026, 3, 6, 18, tz=TAIPEI)) == at(2026, 3, 9, 9, tz=TAIPEI)


@pytest.mark.parametrize("text", ["09:00-09:00", "9-17", "09:00-24:30", "24:00-01:00", "09:00"])
def test_bad_ranges(text: str) -> None:
    with pytest.raises(ValueError):
        Hours.model_validate({"weekly": {"mon": [text]}})


def test_day_specs() -> None:
    hours = Hours.model_validate({"weekly": {"fri-mon": ["10:00-11:00"], "wed,thu": ["10:00-11:00"]}})
    assert [bool(hours.ranges_on(d)) for d in range(7)] == [True, False, True, True, True, True, True]


def weekly(ranges: str) -> str:
    return MINIMAL + f"hours:\n  weekly:\n{ranges}"  # MINIMAL has 19 lines: days from line 22


def test_an_overnight_range_into_the_next_days_hours_is_reported() -> None:
    """"13:00-12:00" typed for "12:00-13:00" would run until noon the next day."""
    text = weekly('    mon-fri: ["09:00-12:00", "13:00-12:00"]\n')
    assert found(text) == [(22, "hours.weekly.mon-fri[1]", (
        "'13:00-12:00' ends before it starts, so it runs past midnight until 12:00 on tue and "
        "overlaps tue's '09:00-12:00': if it is meant within one day, write '12:00-13:00'"))]


@pytest.mark.parametrize("ranges, line, path, says", [
    ('    sat: ["22:00-02:00"]\n    sun: ["01:00-05:00"]\n', 22, "hours.weekly.sat[0]", "until 02:00 on sun"),
    ('    sun: ["22:00-02:00"]\n    mon: ["01:00-05:00"]\n', 22, "hours.weekly.sun[0]", "until 02:00 on mon"),
    ('    mon: ["01:00-05:00"]\n    sun: ["22:00-02:00"]\n', 23, "hours.weekly.sun[0]", "overlaps mon's '01:00-05:00'"),
    ('    mon: ["09:00-13:00", "12:00-18:00"]\n', 22, "hours.weekly.mon[1]", "'12:00-18:00' overlaps '09:00-13:00' on mon"),
    ('    mon-sun:\n      - "20:00-08:00"\n      - "07:00-09:00"\n', 23, "hours.weekly.mon-sun[0]", "until 08:00 on tue"),
])
def test_overlapping_ranges_are_reported_on_their_line(ranges: str, line: int, path: str, says: str) -> None:
    (got_line, got_path, msg), = found(weekly(ranges))
    assert (got_line, got_path) == (line, path) and says in msg


@pytest.mark.parametrize("ranges", [
    '    sat: ["22:00-02:00"]\n',                              # a night service
    '    fri: ["22:00-02:00"]\n    sat: ["02:00-05:00"]\n',    # ends where the next begins
    '    mon-sun: ["18:00-09:00"]\n',                          # an answering service every night
    '    mon-fri: ["09:00-12:00", "12:00-15:00"]\n',           # adjacent ranges
    '    mon-sun: ["00:00-24:00"]\n',
    '    fri: ["12:00-00:00"]\n    sat: ["00:00-03:00"]\n',
])
def test_overnight_and_adjacent_ranges_still_work(ranges: str) -> None:
    parse(weekly(ranges))


def test_night_service_hours_are_open_past_midnight() -> None:
    hours = parse(weekly('    fri: ["22:00-02:00"]\n    sat: ["10:00-14:00"]\n')).hours
    assert status(hours, at(2026, 3, 7, 1, 59)) == "open"  # Saturday 01:59, Friday's night
    assert status(hours, at(2026, 3, 7, 2, 0)) == "closed"
    assert status(hours, at(2026, 3, 7, 10, 0)) == "open"


def test_a_persons_hours_are_checked_too() -> None:
    text = MINIMAL + 'people:\n  ann:\n    number: "5550100"\n    hours: {weekly: {mon: ["18:00-10:00"], tue: ["09:00-17:00"]}}\n'
    (line, path, msg), = found(text)
    assert (line, path) == (23, "people.ann.hours.weekly.mon[0]") and "overlaps tue's '09:00-17:00'" in msg


@pytest.mark.parametrize("text", ["09:00-09:00", "00:00-00:00", "13:30-13:30", "24:00-24:00"])
def test_zero_length_ranges_are_refused(text: str) -> None:
    (line, path, msg), = found(weekly(f'    mon: ["{text}"]\n'))
    assert (line, path) == (22, "hours.weekly.mon[0]")
    assert "starts and ends at once" in msg or "cannot start at 24:00" in msg
