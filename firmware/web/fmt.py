"""How numbers and times look on the page (used by templates as `fmt.*`).

API:
    local(ms, zone) -> datetime                  an epoch-ms instant in the business zone
    when(ms, zone, now_ms, t) -> str             "14:05" today, "Yesterday 09:12", "3 Mar 18:40"
    stamp(ms, zone) -> str                       "2026-03-05 14:05" (CSV, history)
    duration(ms) -> str                          "0:42", "12:05", "1:02:03"
    size(n) -> str                               "1.2 GB"
    caller(number, name, absent, t) -> str       what to call a caller who hid their number
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

DAY_MS = 86_400_000


def local(ms: int, zone: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).astimezone(zone)


def stamp(ms: int | None, zone: Any) -> str:
    return local(ms, zone).strftime("%Y-%m-%d %H:%M") if ms is not None else ""


def when(ms: int | None, zone: Any, now_ms: int, t: Callable[[str], str]) -> str:
    if ms is None:
        return ""
    moment, today = local(ms, zone), local(now_ms, zone).date()
    clock = moment.strftime("%H:%M")
    if moment.date() == today:
        return clock
    if moment.date() == today - dt.timedelta(days=1):
        return f"{t('Yesterday')} {clock}"
    if moment.year == today.year:
        return f"{moment.month}/{moment.day} {clock}"
    return f"{moment.year}/{moment.month}/{moment.day} {clock}"


def duration(ms: int | None) -> str:
    seconds = max(0, int(round((ms or 0) / 1000)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "kB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def caller(number: str | None, name: str | None, absent: str | None, t: Callable[[str], str]) -> str:
    if number and name:
        return f"{name} ({number})"
    if number or name:
        return str(number or name)
    if absent == "P":
        return t("Private number")
    return t("Unknown caller")
