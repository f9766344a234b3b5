"""Opening-hours mistakes that pydantic cannot see once one entry of the table is bad.

`unchecked_hours_problems(data) -> [(path, message)]`, for `hours` and every person's
`hours` in the raw YAML document.

Why: `Hours` is validated as a whole. A single bad range ("09:00-09:00") or day name
("mon-fry") fails its `weekly` table before the model's own checks run, so a day listed
twice and the overlap checks (`hours.overlaps`, an overnight range running into the
next day) only appeared after the first mistake was fixed, while `config check`
promises every problem in one run. Here the table is rebuilt from the entries that are
valid on their own and checked again; when nothing was dropped the model's own checks
already ran, and nothing is reported twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from firmware.settings.hours import Hours, TimeRange, expand_days, overlaps

Path = tuple[str | int, ...]


def unchecked_hours_problems(data: Mapping[str, Any]) -> list[tuple[Path, str]]:
    tables: list[tuple[Path, Any]] = [(("hours",), data.get("hours"))]
    people = data.get("people")
    if isinstance(people, Mapping):
        tables += [(("people", name, "hours"), person.get("hours"))
                   for name, person in people.items() if isinstance(person, Mapping)]
    found: list[tuple[Path, str]] = []
    for where, raw in tables:
        if isinstance(raw, Mapping) and isinstance(raw.get("weekly"), Mapping):
            found += _weekly_problems(where + ("weekly",), raw["weekly"])
    return found


def _weekly_problems(where: Path, raw: Mapping[Any, Any]) -> list[tuple[Path, str]]:
    weekly: dict[str, list[TimeRange]] = {}
    positions: dict[str, list[int]] = {}  # index in the kept list -> index as written
    dropped = False
    for spec, ranges in raw.items():
        try:
            expand_days(str(spec))
        except ValueError:
            dropped = True
            continue
        if not isinstance(ranges, list):
            dropped = True
            continue
        weekly[str(spec)], positions[str(spec)] = [], []
        for i, text in enumerate(ranges):
            try:
                weekly[str(spec)].append(TimeRange.model_validate(text))
            except ValidationError:
                dropped = True
                continue
            positions[str(spec)].append(i)
    if not dropped:
        return []  # the table was whole: the model's own checks ran and reported
    try:
        hours = Hours.model_validate({"weekly": weekly})
    except ValidationError as exc:  # a day listed twice
        return [(where, _text(err)) for err in exc.errors()]
    return [(where + (spec, positions[spec][i]), message) for spec, i, message in overlaps(hours)]


def _text(err: Any) -> str:
    cause = (err.get("ctx") or {}).get("error")
    return str(cause) if cause is not None else str(err.get("msg"))
