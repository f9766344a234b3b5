"""Adding and removing phone lines in the config document (plain data, before publishing).

API:
    LINE_FORM_FIELDS                    the add-a-line form's fields, in order
    entry_from_form(values) -> dict     the `lines:` item the form describes (empty
                                        fields left out: they mean "as the line section")
    add_line(data, entry)               append `entry` to `lines:`; a one-line config
                                        (`line:` only) first becomes `lines: [line1]`
    line_entries(data) -> list[dict]    `lines:`, made from `line:` that way if needed
                                        (the one line given an entry node of its own)
    remove_line(data, name)             drop that line; LastLine / KeyError
    line_field_map(index) -> {path: field}   config paths of `lines[index]` -> form fields

Why the conversion: with `lines:` present, backend and device belong to each line and
the config check refuses them in `line:` (see firmware.settings.lines). The one line
keeps its name "line1", so the running box sees the same line (same backend, device)
and does not restart it; rings, transfer and the FXO board stay in `line:` as the
defaults every line shares.

Nothing here validates: the published document is checked by the same pydantic models
as a YAML file (`ConfigPublisher.edit`), and its problems land beside the form fields.
"""

from __future__ import annotations

from typing import Any

from firmware.settings import DEFAULT_LINE_NAME

LINE_FORM_FIELDS = ("name", "backend", "device", "board", "rings", "transfer", "entry")


class LastLine(ValueError):
    """The box must keep at least one line."""


def entry_from_form(values: dict[str, str]) -> dict[str, Any]:
    """The item of `lines:` (empty = the `line:` default; a whole number for rings)."""
    entry: dict[str, Any] = {}
    for name in LINE_FORM_FIELDS:
        value = (values.get(name) or "").strip()
        if not value:
            continue
        entry[name] = int(value) if name == "rings" and value.isdigit() else value
    if entry.get("backend") == "sim":
        entry.pop("device", None)  # a simulated line has no device; do not keep a stray one
    if entry.get("backend") != "fxo":
        entry.pop("board", None)
    return entry


def line_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """`lines:`, created from the one-line form if the config has none yet."""
    entries = data.get("lines")
    if entries:
        return entries  # type: ignore[no-any-return]
    line = data.setdefault("line", {}) or {}
    data["line"] = line
    first: dict[str, Any] = {"name": DEFAULT_LINE_NAME, "backend": line.pop("backend", None) or "sim"}
    device = line.pop("device", None)
    if device:
        first["device"] = device
    data["lines"] = [first]
    return data["lines"]  # type: ignore[no-any-return]


def add_line(data: dict[str, Any], entry: dict[str, Any]) -> None:
    line_entries(data).append(dict(entry))


def remove_line(data: dict[str, Any], name: str) -> None:
    entries = data.get("lines") or []
    index = next((i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("name") == name), None)
    if index is None:
        raise KeyError(name)
    if len(entries) <= 1:
        raise LastLine(name)
    del entries[index]


def line_field_map(index: int) -> dict[str, str]:
    """Where each config problem about the new line goes on the form."""
    here = f"lines[{index}]"
    return {**{f"{here}.{name}": name for name in LINE_FORM_FIELDS}, here: "name",
            "line.backend": "backend", "line.device": "device"}
