"""The Menus page's form for a `lookup` step (information by phone), as plain data.

API:
    SOURCES                                  ("table", "url"): where the entry comes from
    MENU_KEYS                                {field: default key} of the choices after an entry
    NUMBERS                                  the step's number fields, in form order
    source_of(node) -> "table" | "url"       the source a step's form shows chosen
    new_lookup(node, prompt, table)          a new step's usable defaults
    apply_lookup_form(node, form)            source, privacy and keys written from the form
    WHOLE_STEP_FIELDS                        (message start, form field) for the model's
                                             whole-step checks, so they show beside a field

Why a module of its own: the source is one choice of two fields (the model wants exactly
one of `table` and `url`), and the keys have defaults that are not "off", so "as the
config says" and "as the form shows" differ more than for other steps. Defaults are read
from `LookupNode` itself so the form and the config never disagree on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firmware.settings.flow import LookupNode

SOURCES = ("table", "url")
MENU_KEYS: dict[str, str | None] = {
    f: LookupNode.model_fields[f].default for f in ("repeat_key", "another_key", "operator_key", "done_key")}
NUMBERS = ("attempts", "min_digits", "max_digits", "first_digit_timeout_s", "inter_digit_timeout_s",
           "choice_timeout_s", "timeout_s", "cache_s")
WHOLE_STEP_FIELDS = (("give exactly one of 'table'", "source"),
                     ("min_digits must not be more than max_digits", "max_digits"))


def source_of(node: Mapping[str, Any]) -> str:
    return "url" if node.get("url") is not None and node.get("table") is None else "table"


def new_lookup(node: dict[str, Any], prompt: str, table: str) -> None:
    """Ask with the step's own prompt (its words typed next), read `table` ("" = none
    yet: the page says to choose one), say goodbye after."""
    node.update(prompt=prompt, table=table)


def _key(node: dict[str, Any], field: str, value: str) -> None:
    """"" = off (null; the defaults are keys, so off must be written); the default key is
    left unwritten unless the step already names it."""
    value = value.strip()
    if not value:
        node[field] = None
    elif value == MENU_KEYS[field] and field not in node:
        return
    else:
        node[field] = value


def apply_lookup_form(node: dict[str, Any], form: Mapping[str, str]) -> None:
    source = form.get("source", "").strip()
    source = source if source in SOURCES else "table"
    other = "url" if source == "table" else "table"
    node[source] = form.get(source, "").strip()  # empty: the validator says so beside it
    node.pop(other, None)  # the endpoint's timeout_s / cache_s stay: harmless with a table
    if form.get("private", "").strip():
        node["private"] = True
    else:
        node.pop("private", None)
    for field in MENU_KEYS:
        _key(node, field, form.get(field, ""))
