"""Turning YAML text into `Settings`, and back, with every problem located.

Contents: `parse(text, filename) -> Settings`, `load(path) -> Settings`,
`problems(text, filename) -> list[ConfigProblem]` (empty when valid: for the web page's
draft check), `dump(settings) -> str` (YAML that parses back equal).

All problems are collected before raising one `ConfigError`: YAML syntax (with its
line), duplicate keys, every pydantic error (types, ranges, unknown keys with a
did-you-mean, missing fields), and the cross-field checks of `graph.check`, run on
every section, broken ones salvaged as far as their raw values allow (`salvage`). Each problem carries the line of the key
it concerns, found by walking pydantic's error location through the YAML key map
(skipping the node-type tags pydantic inserts for tagged unions).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from firmware.errors import ConfigError, ConfigProblem
from firmware.settings import graph, yamlio
from firmware.settings.base import did_you_mean
from firmware.settings.flow import NODE_TYPES
from firmware.settings.model import GRAPH_CHECKS, SECTIONS, Settings, sections_of
from firmware.settings.hours_salvage import unchecked_hours_problems
from firmware.settings.salvage import SALVAGED, salvage

Path = tuple[str | int, ...]

# Keys people are likely to write that we refuse on purpose, with what to do instead.
HINTS: dict[str, str] = {
    "pin": "PINs are stored hashed: write pin_hash: with the output of `ivrbox config hash-pin`",
    "password_hash": "did you mean 'password' (smtp) or 'pin_hash' (mailboxes)?",
}


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Locator:
    """Maps key paths to lines for one document."""

    def __init__(self, filename: str, data: Any, lines: dict[Path, int]):
        self.filename, self.data, self.lines = filename, data, lines

    def line(self, path: Path) -> int | None:
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def problem(self, path: Path, message: str) -> ConfigProblem:
        return ConfigProblem(self.filename, self.line(path), format_path(path), message)

    def split(self, loc: tuple[Any, ...]) -> tuple[Path, Path, bool]:
        """(path present in the data, rest of the path, whether it is a key error)."""
        present: list[str | int] = []
        rest: list[str | int] = []
        key_error = False
        cur = self.data
        for el in loc:
            if el == "[key]":
                key_error = True
            elif isinstance(el, str) and ("[" in el or el.startswith("function-")):
                continue  # a pydantic schema name, not a key
            elif not rest and isinstance(cur, dict) and el in cur:
                present.append(el)
                cur = cur[el]
            elif not rest and isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
                present.append(el)
                cur = cur[el]
            elif not rest and isinstance(cur, dict) and cur.get("type") == el:
                continue  # the tag of a tagged union
            else:
                rest.append(el)
        return tuple(present), tuple(rest), key_error


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose field an error location's last element would be."""
    tp: Any = root
    items = list(loc)
    while items:
        tp = _unwrap(tp)
        if get_origin(tp) in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            tagged = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)
                      and "type" in m.model_fields and items[0] in get_args(m.model_fields["type"].annotation)]
            if tagged:
                items.pop(0)
                tp = tagged[0]
            elif len(members) == 1:
                tp = members[0]
            else:
                return None
            continue
        el = items.pop(0)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            by_alias = {f.alias or n: f for n, f in tp.model_fields.items()}
            if el not in by_alias:
                return None
            tp = by_alias[el].annotation
        elif get_origin(tp) in (dict, Mapping):
            tp = get_args(tp)[1]
        elif get_origin(tp) in (tuple, list):
            tp = get_args(tp)[0]
        else:
            return None
    tp = _unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        tp = members[0] if len(members) == 1 else None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _message(err: dict[str, Any], present: Path) -> tuple[Path, str]:
    """A person's message for one pydantic error, and the path it belongs to."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = _model_at(Settings, loc[:-1])
        known = [f.alias or n for n, f in model.model_fields.items()] if model else []
        hint = f": {HINTS[key]}" if key in HINTS else did_you_mean(key, known)
        return present, f"unknown key '{key}'{hint}"
    if kind == "missing":
        return present, "missing (required)"
    if kind == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        return present + ("type",), f"unknown type '{ctx.get('tag')}'{did_you_mean(str(ctx.get('tag')), tags)}"
    if kind == "union_tag_not_found":
        return present, f"missing 'type' ({', '.join(NODE_TYPES[:-1])} or {NODE_TYPES[-1]})"
    if kind == "literal_error":
        options = [o.strip(" '") for o in str(ctx.get("expected", "")).replace(" or ", ",").split(",")]
        return present, f"{value!r} is not allowed: use {ctx.get('expected')}{did_you_mean(str(value), options)}"
    if kind == "string_pattern_mismatch" and str(ctx.get("pattern", "")).startswith("^[A-Za-z]"):
        return present, f"'{value}' is not a valid name: a letter, then letters, digits, _ or -"
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if msg.startswith("Input should"):
        msg = "should" + msg[len("Input should"):]
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            msg += f" (got {value!r})"
    return present, msg


def _pydantic_problems(exc: ValidationError, where: _Locator) -> list[ConfigProblem]:
    out = []
    for err in exc.errors(include_url=False):
        present, rest, key_error = where.split(tuple(err["loc"]))
        path, msg = _message(err, present + rest)
        if key_error and present and f"'{present[-1]}'" not in msg:
            msg = f"key '{present[-1]}': {msg}"
        out.append(ConfigProblem(where.filename, where.line(path), format_path(path), msg))
    return out


def _valid_sections(data: dict[str, Any]) -> dict[str, Any]:
    """Each section validated alone. One that fails is salvaged if `graph.check` reads
    references from it (see `salvage`), so those are checked too; others are left out.
    `graph.BROKEN` lists the salvaged paths that could not be read, and `graph.PARTIAL`
    every node id written, so a broken node never looks missing."""
    found: dict[str, Any] = {}
    broken: set[Path] = set()
    for name in SECTIONS:
        field = Settings.model_fields[name]
        if name not in data:
            if not field.is_required():
                found[name] = field.get_default(call_default_factory=True)
            continue
        annotation = field.rebuild_annotation()
        try:
            found[name] = TypeAdapter(annotation).validate_python(data[name])
            continue
        except ValidationError:
            if name not in SALVAGED:
                continue
        saved = salvage(annotation, data[name], (name,))
        broken |= saved.broken
        if saved.value is not None:
            found[name] = saved.value
    flow = data.get("flow")
    if "flow" in found and isinstance(flow, dict) and isinstance(flow.get("nodes"), dict):
        found[graph.PARTIAL] = frozenset(map(str, flow["nodes"]))
    found[graph.BROKEN] = frozenset(broken)
    return found


def problems(text: str, filename: str = "<config>") -> list[ConfigProblem]:
    """Every problem in a config text, in line order; [] if it is valid."""
    try:
        parse(text, filename)
    except ConfigError as exc:
        return exc.problems
    return []


def parse(text: str, filename: str = "<config>") -> Settings:
    """The settings in `text`; raises ConfigError with every problem found."""
    try:
        data, lines, dupes = yamlio.read(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(str(s) for s in (exc.context, exc.problem) if s)
        raise ConfigError([ConfigProblem(filename, line, "", f"YAML syntax: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(filename, None, "", f"YAML: {exc}")]) from None
    where = _Locator(filename, data, lines)
    if data is None:
        raise ConfigError([ConfigProblem(filename, None, "", "the document is empty")])
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(filename, lines.get(()), "", "the document must be a mapping of sections (business:, flow:, ...)")])
    found = [
        ConfigProblem(filename, line, format_path(path), f"duplicate key (first at line {first})")
        for path, line, first in dupes
    ]
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data, context={GRAPH_CHECKS: False})
        sections = sections_of(settings)
    except ValidationError as exc:
        found += _pydantic_problems(exc, where)
        found += [where.problem(path, msg) for path, msg in unchecked_hours_problems(data)]
        sections = _valid_sections(data)
    found += [where.problem(path, msg) for path, msg in graph.check(sections)]
    if found:
        found.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(found)
    assert settings is not None
    return settings


def load(path: str | FsPath) -> Settings:
    """The settings in a YAML file; raises ConfigError (with every problem) if invalid."""
    name = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(name, None, "", f"cannot read: {exc}")]) from None
    return parse(text, name)


def dump(settings: Settings) -> str:
    """YAML text for `settings` (defaults left out) that `parse` reads back equal.
    Comments of a hand-written file are not kept."""
    data = settings.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yamlio.write({"version": settings.version, **data})  # always say which format
