"""Reading HTML forms the same way everywhere.

API:
    form_values(request, names) -> {name: str}     text fields, "" when absent, stripped of \\r
    form_lists(request, names) -> {name: [str]}    repeated fields (rows of a table form)
    problems_by_field(problems, prefix_map) -> {field: [message]}    config problems placed
                                                   beside the form field they concern
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi import Request

from firmware.errors import ConfigProblem

MAX_FIELD_CHARS = 20_000  # any one text field; a whole config document fits


async def form_values(request: Request, names: Iterable[str]) -> dict[str, str]:
    form = await request.form()
    out = {}
    for name in names:
        value = form.get(name)
        out[name] = value.replace("\r\n", "\n")[:MAX_FIELD_CHARS] if isinstance(value, str) else ""
    return out


async def form_lists(request: Request, names: Iterable[str]) -> dict[str, list[str]]:
    form = await request.form()
    return {name: [v[:MAX_FIELD_CHARS] for v in form.getlist(name) if isinstance(v, str)] for name in names}


def problems_by_field(problems: Iterable[ConfigProblem], prefix_map: Mapping[str, str]) -> dict[str, list[str]]:
    """Each problem under the form field whose config path prefix matches it (longest
    prefix wins); problems no field claims go under "" (shown at the top of the form)."""
    out: dict[str, list[str]] = {}
    ordered = sorted(prefix_map.items(), key=lambda item: -len(item[0]))
    for problem in problems:
        field = ""
        for prefix, name in ordered:
            if problem.path == prefix or problem.path.startswith(prefix + ".") or problem.path.startswith(prefix + "["):
                field = name
                break
        out.setdefault(field, []).append(problem.message)
    return out
