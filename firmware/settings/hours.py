"""Opening hours: the `hours` section's models and the schedule questions asked of them.

Contents:
- `TimeRange` ("09:00-12:30"; an end before the start crosses midnight),
  `Holiday` (a date or a date range, optionally every year), `Closure` (a temporary
  closure between two local date-times), `Hours` (weekly ranges + holidays + closures);
- `overlaps(hours) -> [(day spec, index, message)]`: weekly ranges that overlap another
  (most often an overnight range that runs into the next day's hours: "13:00-12:00"
  typed for "12:00-13:00"); the config check reports them;
- `status(hours, when) -> "open" | "closed" | "holiday"`, `is_open(hours, when)`,
  `next_change(hours, when)` (the next instant the status changes) and
  `next_open(hours, when)` (the next instant it becomes open).

Times in the config are wall-clock times at the business. `when` must be an aware
datetime expressed in the business's zone (`when.astimezone(settings.business.zone)`):
the status is decided on its wall-clock time, and `next_change` returns an aware
instant in the same zone, exact across DST changes (a range that starts or ends in the
hour a spring-forward skips changes at the moment of the jump).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    field_validator,
    model_serializer,
    model_validator,
)

from firmware.errors import UsageError
from firmware.settings.base import FrozenMap, Model, did_you_mean, empty_map

Status = Literal["open", "closed", "holiday"]

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
NEXT_CHANGE_HORIZON_DAYS = 400  # beyond a year, so annual holidays are always seen
_TIME = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")


def _minutes(text: str) -> int:
    m = _TIME.match(text.strip())
    if not m or (int(m.group(1)) == 24 and m.group(2) != "00"):
        raise ValueError(f"'{text}' is not a time: write HH:MM, 00:00 to 24:00")
    return int(m.group(1)) * 60 + int(m.group(2))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class TimeRange(Model):
    """Written "HH:MM-HH:MM". Start is inclusive, end exclusive; an end of 00:00 or 24:00
    is midnight; an end before the start runs past midnight into the next day (which
    still belongs to the day the range starts on)."""

    start: int = Field(ge=0, lt=MINUTES_PER_DAY, description="minutes after midnight")
    end: int = Field(gt=0, le=2 * MINUTES_PER_DAY, description="minutes after the start day's midnight")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        parts = value.split("-")
        if len(parts) != 2:
            raise ValueError(f"'{value}' is not a time range: write HH:MM-HH:MM, e.g. 09:00-12:30")
        start, end = _minutes(parts[0]), _minutes(parts[1])
        if start % MINUTES_PER_DAY == end % MINUTES_PER_DAY and (start, end) != (0, MINUTES_PER_DAY):
            raise ValueError(f"'{value}' starts and ends at once: a whole day is 00:00-24:00")
        if start == MINUTES_PER_DAY:
            raise ValueError(f"'{value}': a range cannot start at 24:00")
        if end <= start:
            end += MINUTES_PER_DAY  # crosses midnight (an end of 00:00 is midnight)
        if end - start > MINUTES_PER_DAY:
            raise ValueError(f"'{value}' is longer than a day")
        return {"start": start, "end": end}

    @model_serializer
    def _text(self) -> str:
        end = self.end if self.end <= MINUTES_PER_DAY else self.end - MINUTES_PER_DAY
        return f"{_hhmm(self.start)}-{_hhmm(end)}"

    def covers(self, minute_of_start_day: int) -> bool:
        return self.start <= minute_of_start_day < self.end


_DAY_SPEC = re.compile(r"^[a-z]{3}(-[a-z]{3})?(,[a-z]{3}(-[a-z]{3})?)*$")


def expand_days(spec: str) -> tuple[int, ...]:
    """'mon-fri' -> (0,1,2,3,4); 'sat,sun' -> (5,6); 'fri-mon' wraps -> (4,5,6,0)."""
    text = spec.strip().lower().replace(" ", "")
    bad = [p for p in re.split(r"[-,]", text) if p not in DAYS]
    if bad or not _DAY_SPEC.match(text):
        hint = did_you_mean(bad[0] if bad else text, DAYS)
        raise ValueError(
            f"'{spec}' is not a day: use mon..sun, a range like mon-fri, or a list like sat,sun{hint}"
        )
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days += [(a + i) % 7 for i in range((b - a) % 7 + 1)]
    return tuple(days)


DaySpec = Annotated[str, AfterValidator(lambda s: (expand_days(s), s)[1])]


class Holiday(Model):
    """A day (`date`) or an inclusive range of days (`from`, `to`) the business is closed.
    With `annual: true` the month and day repeat every year (the year is ignored)."""

    name: str = Field("", description="shown on the web page and in the call log")
    date: dt.date | None = None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    annual: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> Holiday:
        if (self.date is None) == (self.from_ is None and self.to is None):
            raise ValueError("give either 'date' or both 'from' and 'to'")
        if self.date is None and (self.from_ is None or self.to is None):
            raise ValueError("a holiday range needs both 'from' and 'to'")
        if self.from_ and self.to and not self.annual and self.to < self.from_:
            raise ValueError("'to' is before 'from'")
        return self

    def covers(self, day: dt.date) -> bool:
        first = self.date or self.from_
        last = self.date or self.to
        assert first is not None and last is not None
        if not self.annual:
            return first <= day <= last
        key, a, b = (day.month, day.day), (first.month, first.day), (last.month, last.day)
        return a <= key <= b if a <= b else key >= a or key <= b  # may wrap past 31 Dec


class Closure(Model):
    """A temporary closure from one local date-time to another (stocktaking, a storm).
    The schedule treats it like a holiday."""

    name: str = ""
    from_: dt.datetime = Field(alias="from")
    to: dt.datetime

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.from_.tzinfo is not None or self.to.tzinfo is not None:
            raise ValueError("write closure times as local time at the business, without an offset")
        if self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        return self


class Hours(Model):
    """When the business is open. Keys of `weekly` are days (`mon`), ranges (`mon-fri`)
    or lists (`sat,sun`); each day may appear once and may have several ranges (a lunch
    break is two ranges). Days not listed are closed. Holidays and closures override
    the weekly hours for the whole local day / their span."""

    weekly: FrozenMap[DaySpec, tuple[TimeRange, ...]] = Field(default_factory=empty_map)
    holidays: tuple[Holiday, ...] = ()
    closures: tuple[Closure, ...] = ()
    _by_day: tuple[tuple[TimeRange, ...], ...] = PrivateAttr(default=((),) * 7)

    @field_validator("weekly")
    @classmethod
    def _each_day_once(cls, weekly: Mapping[str, tuple[TimeRange, ...]]) -> Any:
        seen: dict[int, str] = {}
        for spec in weekly:
            for day in expand_days(spec):
                if day in seen:
                    raise ValueError(f"{DAYS[day]} is in both '{seen[day]}' and '{spec}'")
                seen[day] = spec
        return weekly

    def model_post_init(self, context: Any) -> None:
        by_day: list[tuple[TimeRange, ...]] = [()] * 7
        for spec, ranges in self.weekly.items():
            for day in expand_days(spec):
                by_day[day] = tuple(ranges)
        self._by_day = tuple(by_day)

    def ranges_on(self, weekday: int) -> tuple[TimeRange, ...]:
        """The ranges that start on a weekday (0 = Monday)."""
        return self._by_day[weekday]


WEEK_MINUTES = 7 * MINUTES_PER_DAY


def _spans(hours: Hours) -> list[tuple[int, int, str, int, int]]:
    """(start, end) in minutes after Monday 00:00, with (spec, index, weekday) of the range;
    a Sunday-night range past midnight is also listed shifted a week back (into Monday)."""
    out = []
    for spec, ranges in hours.weekly.items():
        for i, r in enumerate(ranges):
            for day in expand_days(spec):
                start, end = day * MINUTES_PER_DAY + r.start, day * MINUTES_PER_DAY + r.end
                out.append((start, end, spec, i, day))
                if end > WEEK_MINUTES:
                    out.append((start - WEEK_MINUTES, end - WEEK_MINUTES, spec, i, day))
    return out


def overlaps(hours: Hours) -> list[tuple[str, int, str]]:
    """(day spec, index in its list, message) for each weekly range that overlaps another,
    once per range. An overnight range that runs into the next day's hours is the one
    reported (its end is the likely typo); otherwise the later of the two."""
    order = {(spec, i): n for n, (spec, i) in enumerate(
        (spec, i) for spec, ranges in hours.weekly.items() for i in range(len(ranges)))}
    spans = _spans(hours)
    found: dict[tuple[str, int], str] = {}
    for n, a in enumerate(spans):
        for b in spans[n + 1:]:
            if a[2:4] == b[2:4] or not (a[0] < b[1] and b[0] < a[1]):
                continue
            spill = [s for s in (a, b) if max(a[0], b[0]) >= s[0] - s[0] % MINUTES_PER_DAY + MINUTES_PER_DAY]
            culprit = spill[0] if spill else max(a, b, key=lambda s: order[s[2:4]])
            other = b if culprit is a else a
            key = culprit[2:4]
            if key not in found:
                found[key] = _overlap_message(hours, culprit, other, overnight=bool(spill))
    return [(spec, i, found[(spec, i)]) for (spec, i) in sorted(found, key=order.__getitem__)]


def _overlap_message(hours: Hours, culprit: tuple[int, int, str, int, int],
                     other: tuple[int, int, str, int, int], overnight: bool) -> str:
    mine = hours.weekly[culprit[2]][culprit[3]]
    theirs = hours.weekly[other[2]][other[3]]
    text, other_text = mine.model_dump(), theirs.model_dump()
    day, other_day = DAYS[culprit[4]], DAYS[other[4]]  # one day is in one spec: same day, same spec
    if overnight:
        end = _hhmm(mine.end - MINUTES_PER_DAY)
        return (f"'{text}' ends before it starts, so it runs past midnight until {end} on "
                f"{other_day} and overlaps {other_day}'s '{other_text}': if it is meant within "
                f"one day, write '{end}-{_hhmm(mine.start)}'")
    return f"'{text}' overlaps '{other_text}' on {day}: join them into one range"


def _local(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise UsageError("pass an aware datetime in the business's time zone, not a naive one")
    return when.replace(tzinfo=None, fold=0)


def status(hours: Hours, when: dt.datetime) -> Status:
    """"holiday" during a holiday or closure, else "open" inside a weekly range, else "closed"."""
    local = _local(when)
    if any(c.from_ <= local < c.to for c in hours.closures):
        return "holiday"
    today = local.date()
    if any(h.covers(today) for h in hours.holidays):
        return "holiday"
    minute = local.hour * 60 + local.minute
    if any(r.covers(minute) for r in hours.ranges_on(today.weekday())):
        return "open"
    yesterday = (today.weekday() - 1) % 7
    if any(r.covers(minute + MINUTES_PER_DAY) for r in hours.ranges_on(yesterday)):
        return "open"
    return "closed"


def is_open(hours: Hours, when: dt.datetime) -> bool:
    """True if `status` is "open" (see the module docstring for what `when` must be)."""
    return status(hours, when) == "open"


def _wall_boundaries(hours: Hours, day: dt.date) -> Iterator[dt.datetime]:
    """Local wall times on `day` at which the status may change."""
    midnight = dt.datetime.combine(day, dt.time())
    yield midnight
    for r in hours.ranges_on(day.weekday()):
        yield midnight + dt.timedelta(minutes=r.start)
        if r.end < MINUTES_PER_DAY:
            yield midnight + dt.timedelta(minutes=r.end)
    for r in hours.ranges_on((day.weekday() - 1) % 7):
        if r.end > MINUTES_PER_DAY:
            yield midnight + dt.timedelta(minutes=r.end - MINUTES_PER_DAY)
    for c in hours.closures:
        for t in (c.from_, c.to):
            if t.date() == day:
                yield t


def _transitions(day: dt.date, tz: dt.tzinfo) -> Iterator[dt.datetime]:
    """The instant of a UTC-offset change (DST) during a local day, if there is one."""
    def offset(ts: int) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(ts, tz).utcoffset()

    lo = int(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp())
    hi = int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).timestamp())
    before = offset(lo)
    if before == offset(hi):
        return
    while hi - lo > 1:  # offset(lo) is the old one, offset(hi) the new one; whole seconds
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if offset(mid) == before else (lo, mid)
    yield dt.datetime.fromtimestamp(hi, dt.timezone.utc)


def _instants(hours: Hours, day: dt.date, tz: dt.tzinfo) -> list[dt.datetime]:
    found = list(_transitions(day, tz))
    for wall in _wall_boundaries(hours, day):
        for fold in (0, 1):  # both readings of a wall time a DST change repeats or skips
            found.append(wall.replace(tzinfo=tz, fold=fold).astimezone(dt.timezone.utc))
    return sorted(set(found))


def next_change(
    hours: Hours, when: dt.datetime, horizon_days: int = NEXT_CHANGE_HORIZON_DAYS
) -> dt.datetime | None:
    """The first instant after `when` at which `status` differs from its value at `when`,
    as an aware datetime in `when`'s zone; None if it never changes within the horizon."""
    local = _local(when)
    tz = when.tzinfo
    assert tz is not None
    now = status(hours, when)
    after = when.astimezone(dt.timezone.utc)
    for offset in range(-1, horizon_days + 1):
        for instant in _instants(hours, local.date() + dt.timedelta(days=offset), tz):
            if instant > after and status(hours, instant.astimezone(tz)) != now:
                return instant.astimezone(tz)
    return None


def next_open(
    hours: Hours, when: dt.datetime, horizon_days: int = NEXT_CHANGE_HORIZON_DAYS
) -> dt.datetime | None:
    """The next instant after `when` at which the business opens (None if never, or if
    it is open now: then ask `next_change` when it closes)."""
    if is_open(hours, when):
        return None
    limit = when + dt.timedelta(days=horizon_days)
    t: dt.datetime | None = when
    while t is not None and t < limit:
        t = next_change(hours, t, horizon_days=(limit - t).days + 1)
        if t is not None and is_open(hours, t):
            return t
    return None
