"""What can still be checked in a section that failed validation.

Contents: `salvage(annotation, raw, path) -> Salvaged` (the best-effort value of a raw
YAML value, and the key paths that could not be read), `SALVAGED` (the sections worth
salvaging: those `graph.check` reads references from).

Why: `ivrbox config check` must list every problem in one run. Pydantic already reports
every bad field, but a section (or a flow node) that fails validation yields no model,
so the cross-field checks (targets, prompt ids, people, mailboxes) would skip it and its
broken references would only show up once the field errors were fixed. Salvaging
rebuilds such a value field by field: each field that validates on its own is kept,
mappings and lists keep their valid entries, and everything else becomes None and is
listed in `broken`, so the graph checks neither miss a reference nor report a problem
the field's own error already covers.

Salvaged models are built with `model_construct`: their fields are type-checked one by
one, but model-level checks (which already reported their problem) were not applied,
so a salvaged value is only ever used to look for more problems, never to run calls.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from firmware.settings.hours import Closure, Holiday, Hours, TimeRange
from firmware.settings.sections import Smtp

Path = tuple[str | int, ...]

SALVAGED: tuple[str, ...] = ("business", "lines", "prompts", "mailboxes", "people", "caller_rules", "flow",
                             "webhooks")
"""Sections whose references the graph checks; the others are all-or-nothing."""

ATOMIC: tuple[type[BaseModel], ...] = (Hours, TimeRange, Holiday, Closure, Smtp)
"""Models whose parts mean nothing alone: they are either valid or broken."""

_FAILED = object()


@dataclass
class Salvaged:
    value: Any
    broken: set[Path] = field(default_factory=set)


@functools.lru_cache(maxsize=256)  # one per field type: a few dozen in all
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _validate(annotation: Any, raw: Any) -> Any:
    try:
        return _adapter(annotation).validate_python(raw)
    except (ValidationError, TypeError):  # TypeError: an unhashable key, a list where a key was
        return _FAILED


def _strip(tp: Any) -> Any:
    """The type inside Annotated[...] and Optional[...] (None when it is a real union)."""
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        tp = members[0] if len(members) == 1 else tuple(members)
        return _strip(tp) if not isinstance(tp, tuple) else tp
    return tp


def _tagged(members: tuple[Any, ...], raw: dict[str, Any]) -> type[BaseModel] | None:
    """The member of a tagged union (the flow's nodes) that `raw["type"]` names."""
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel) and "type" in member.model_fields:
            if raw.get("type") in get_args(member.model_fields["type"].annotation):
                return member
    return None


def salvage(annotation: Any, raw: Any, path: Path) -> Salvaged:
    """The value of `raw` as `annotation`, keeping every part that is valid on its own."""
    out = Salvaged(None)
    value = _rebuild(annotation, raw, path, out.broken)
    out.value = None if value is _FAILED else value
    return out


def _rebuild(annotation: Any, raw: Any, path: Path, broken: set[Path]) -> Any:
    value = _validate(annotation, raw)
    if value is not _FAILED:
        return value
    tp = _strip(annotation)
    if isinstance(tp, tuple) and isinstance(raw, dict):
        tp = _tagged(tp, raw)
    if isinstance(tp, type) and issubclass(tp, BaseModel) and not issubclass(tp, ATOMIC) \
            and isinstance(raw, dict):
        return _model(tp, raw, path, broken)
    origin = get_origin(tp)
    if origin in (dict, Mapping) and isinstance(raw, dict):
        key_type, value_type = get_args(tp)
        entries = {}
        for k, v in raw.items():
            key = _validate(key_type, k)
            item = _rebuild(value_type, v, path + (k,), broken) if key is not _FAILED else _FAILED
            if item is _FAILED:
                broken.add(path + (k,))
            else:
                entries[key] = item
        return MappingProxyType(entries)
    item_type = get_args(tp)[0] if origin in (tuple, list) else None
    if isinstance(_strip(item_type), type) and issubclass(_strip(item_type), BaseModel) \
            and isinstance(raw, list):  # a list of plain values (languages) is all or nothing
        items = []
        for i, v in enumerate(raw):
            item = _rebuild(item_type, v, path + (i,), broken)
            if item is _FAILED:
                broken.add(path + (i,))
            items.append(None if item is _FAILED else item)  # keep indexes: they locate lines
        return tuple(items)
    broken.add(path)
    return _FAILED


def _model(cls: type[BaseModel], raw: dict[str, Any], path: Path, broken: set[Path]) -> BaseModel:
    values: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        key = info.alias or name
        if key not in raw and name not in raw:
            if info.is_required():
                broken.add(path + (key,))
                values[name] = _empty(info.rebuild_annotation())
            continue
        annotation = info.rebuild_annotation()
        item = _rebuild(annotation, raw[key] if key in raw else raw[name], path + (key,), broken)
        values[name] = _empty(annotation) if item is _FAILED else item
    return cls.model_construct(**values)


def _empty(annotation: Any) -> Any:
    """What stands for a field that could not be read: nothing, of the field's kind (so
    the model's methods still work); `broken` tells the checks it is not really empty."""
    origin = get_origin(_strip(annotation))
    if origin in (dict, Mapping):
        return MappingProxyType({})
    return () if origin in (tuple, list) else None
