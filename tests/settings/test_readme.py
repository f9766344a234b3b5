"""config/README.md is the installer's reference: every field of the models is in it,
and the defaults its tables state are the models' defaults (a new field or a changed
default without the README fails here)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from firmware.settings import flow as nodes
from firmware.settings.integrations import Webhook
from firmware.settings.lines import LineEntry
from firmware.settings.model import Settings
from firmware.settings.sections import Limits, LineConfig, Mailbox

README = (Path(__file__).resolve().parents[2] / "config" / "README.md").read_text(encoding="utf-8")

# written as one text in the YAML ("09:00-12:00"), never as keys of their own
NOT_KEYS = {"TimeRange.start", "TimeRange.end"}


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _fields() -> list[tuple[str, str]]:
    seen: set[type[BaseModel]] = set()
    found: list[tuple[str, str]] = []

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, field in model.model_fields.items():
            found.append((model.__name__, field.alias or name))
            for inner in _models(field.annotation):
                walk(inner)

    walk(Settings)
    return found


def _mentioned(key: str) -> bool:
    k = re.escape(key)
    return re.search(rf"`(\w+\.)?{k}[`.]|[\s{{,]{k}:|[{{,]\s*{k}\s*[,}}]", README) is not None


def test_every_field_is_in_the_readme() -> None:
    fields = _fields()
    assert ("LookupNode", "choice_timeout_s") in fields  # the walk reaches the node types
    missing = [f"{model}.{key}" for model, key in fields
               if f"{model}.{key}" not in NOT_KEYS and not _mentioned(key)]
    assert missing == []


def _section(title: str) -> str:
    start = README.index(f"\n### `{title}`")
    end = README.find("\n### ", start + 1)
    return README[start:end if end > 0 else len(README)]


def _table_defaults(title: str) -> dict[str, str]:
    rows = re.findall(r"^\| `([\w-]+)` \| ([^|]+) \|", _section(title), re.MULTILINE)
    return {key: text.strip() for key, text in rows}


def _doc_value(text: str) -> object:
    """The default a README cell states, or ... when it is words (`country`, see below) or
    another field (`line.board`)."""
    m = re.match(r"^(?:`([^`]*)`|(-?\d+(?:\.\d+)?)|(true|false)|(—))(?:$|[;,])", text.strip())
    if m is None:
        return ...
    quoted, number, boolean, dash = m.groups()
    if dash:
        return None
    if quoted is not None and "." in quoted:
        return ...
    if number is not None:
        return float(number)
    if boolean is not None:
        return boolean == "true"
    return quoted


def _same(model_default: object, doc: object) -> bool:
    if doc == "[]":  # YAML's empty list; the models keep tuples
        return model_default == ()
    if isinstance(doc, float):
        return isinstance(model_default, (int, float)) and float(model_default) == doc
    return model_default == doc


@pytest.mark.parametrize("title, model", [
    ("line", LineConfig), ("lines", LineEntry),
    ("mailboxes", Mailbox), ("limits", Limits), ("webhooks", Webhook),
])
def test_section_tables_state_the_models_defaults(title: str, model: type[BaseModel]) -> None:
    stated = _table_defaults(title)
    fields = {f.alias or n: f for n, f in model.model_fields.items()}
    checked = 0
    for key, text in stated.items():
        doc = _doc_value(text)
        if key not in fields or doc is ...:
            continue
        assert _same(fields[key].default, doc), f"{title}.{key}: README says {text}, model {fields[key].default!r}"
        checked += 1
    assert checked >= 1


def test_node_table_states_the_models_defaults() -> None:
    table = _section("flow")
    checked = 0
    for type_name, keys in re.findall(r"^\| `(\w+)` \| (.+?) \| ", table, re.MULTILINE):
        model = next(m for m in _models(nodes.Node) if m.model_fields["type"].annotation
                     == typing.Literal[type_name])
        for key, text in re.findall(r"`(\w+)` \(([^()]*)\)", keys):
            doc = _doc_value(text)
            if doc is ... or key not in model.model_fields:
                continue
            default = model.model_fields[key].default
            assert _same(default, doc), f"{type_name}.{key}: README says ({text}), model {default!r}"
            checked += 1
    assert checked >= 30


def test_smtp_paragraph_states_the_models_defaults() -> None:
    from firmware.settings.sections import Smtp

    stated = {key: _doc_value(text) for key, text in
              re.findall(r"`(\w+)` \(([^()]*)\)", _section("smtp"))}
    stated = {key: value for key, value in stated.items() if value is not ...}
    assert {"port", "timeout_s", "attach_as"} <= set(stated)
    for key, value in stated.items():
        assert _same(Smtp.model_fields[key].default, value), f"smtp.{key}: README says {value!r}"
