"""Helpers shared by the settings pages: publishing a change, keys, hours and address lists.

API:
    publish_change(web, change, note, fields) -> (version | None, errors)
        apply `change(data)` to the published config and publish it as a new version;
        on ConfigError nothing is published and every problem is placed beside the
        form field whose config path it concerns (`fields`: path prefix -> field name)
    new_key(name, taken, fallback) -> str          a config key (letter first) for a new row
    hours_text(hours) -> str / parse_hours(text) -> dict | None     "mon-fri 09:00-18:00; sat
                                                   10:00-12:00" <-> the `hours.weekly` data
    address_list(text) -> [str]                    e-mail recipients typed with , ; or spaces
    whole_number(text, low, high) -> int           ValueError with the range when it is not

Why publish from the published document and not the draft: the settings pages change
one section at a time and take effect at the next call, like the call-log rules; a
draft of the menus in progress gets the same change (`ConfigPublisher.edit`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from firmware.errors import ConfigError
from firmware.web.context import WebContext
from firmware.web.forms import problems_by_field
from firmware.web.problemtext import say

_KEY_CHARS = re.compile(r"[^a-z0-9]+")
_GROUP_SPLIT = re.compile(r"[;\n]+")
_ADDRESS_SPLIT = re.compile(r"[\s,;]+")
MAX_KEY_CHARS = 40


def publish_change(web: WebContext, change: Callable[[dict[str, Any]], None], note: str,
                   fields: Mapping[str, str], t: Callable[[str], str] | None = None,
                   ) -> tuple[int | None, dict[str, list[str]]]:
    """Publish `change`; else the checker's problems by form field, said in the page's
    words when `t` is given (the owner never reads "String should match pattern")."""
    try:
        return web.publisher.edit(change, note), {}
    except ConfigError as exc:
        found = problems_by_field(exc.problems, fields)
        return None, {k: [say(m, t) for m in v] for k, v in found.items()} if t else found


def new_key(name: str, taken: Iterable[str], fallback: str) -> str:
    """A key for a new person or mailbox: the name in lower case if it is Latin, else
    `fallback` with a number; never one already taken."""
    base = _KEY_CHARS.sub("_", name.lower()).strip("_")[:MAX_KEY_CHARS]
    if not base or not base[0].isalpha():
        base = fallback
    used = set(taken)
    if base != fallback and base not in used:
        return base
    n = 1 if base == fallback else 2
    while f"{base}{n}" in used:
        n += 1
    return f"{base}{n}"


def hours_text(hours: Mapping[str, Any] | None) -> str:
    weekly = (hours or {}).get("weekly") or {}
    return "; ".join(f"{spec} {' '.join(str(r) for r in ranges)}" for spec, ranges in weekly.items())


def parse_hours(text: str) -> dict[str, list[str]] | None:
    """The weekly data of "mon-fri 09:00-12:00 13:00-18:00; sat 10:00-12:00", or None for
    an empty text (always). The config check judges the days and times themselves."""
    weekly: dict[str, list[str]] = {}
    for group in _GROUP_SPLIT.split(text.strip()):
        parts = [p for p in re.split(r"[\s,]+", group.strip()) if p]
        if not parts:
            continue
        if len(parts) < 2:
            raise ValueError(group.strip())
        weekly[parts[0].lower()] = parts[1:]
    return weekly or None


def address_list(text: str) -> list[str]:
    return [a for a in _ADDRESS_SPLIT.split(text.strip()) if a]


def whole_number(text: str, low: int, high: int) -> int:
    value = int(text.strip())  # ValueError for anything that is not a whole number
    if not low <= value <= high:
        raise ValueError(text)
    return value
