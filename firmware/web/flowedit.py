"""Editing the call flow as plain data, the way the Menus page's forms ask for it.

API:
    EDITABLE                                 node types with a form (others are shown read-only)
    NEW_TARGETS                              destination choices that create a step
    new_id(data, base) -> str                a free node id ("voicemail", "voicemail_2", ...)
    add_node(data, kind, wanted_id="", table="") -> str  a new step with usable defaults
                                             (`table`: the one a new lookup step reads; a
                                             new language step offers business.languages)
    delete_node(data, node_id)               the step goes; fields that pointed at it are
                                             left pointing at nothing (shown as problems)
    apply_node_form(data, node_id, form, rows, languages) -> (created, errors)
        the edit form of one step applied to the document (`form`: field -> text,
        `rows`: repeated fields -> [text]); `created` is the first step a "new ..."
        destination made (the page goes there next); `errors` are form problems the
        config cannot express (a key listed twice), by field; nothing changes then
        (a language step's rows: `lang_key`, `lang_choice`; see `language_step`)
    node_fields(problems, data, node_id) -> {field: [message]}   config problems beside
                                             the fields of one step's form
    node_of(path) -> str | None              the step a config problem is about
    hunt_rows(node) -> [(person, ring, accept)]  a forward step's people as form rows
                                             (the one `person` or each of `people`)

Values are written as the config expects them and no further: a number field that is
not a number is kept as typed, so the one validator (`firmware.settings`, the same as
`ivrbox config check`) says what is wrong, beside the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from firmware.errors import ConfigProblem
from firmware.web.forms import problems_by_field
from firmware.web.language_step import language_options, new_language
from firmware.web.lookup_step import NUMBERS as LOOKUP_NUMBERS, WHOLE_STEP_FIELDS, apply_lookup_form, new_lookup

EDITABLE = ("menu", "play", "hangup", "schedule", "voicemail", "forward", "lookup", "language")
NEW_TARGETS = ("new:play", "new:voicemail", "new:forward", "new:hangup")
TEXT_PROMPT = "text:"  # the prompt choice "type the words"
_BASES = {"menu": "menu", "play": "announcement", "hangup": "goodbye", "schedule": "hours",
          "voicemail": "voicemail", "forward": "forward", "lookup": "lookup", "language": "language"}
NODE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")
MAX_OPTION_ROWS = 20
MAX_HUNT_ROWS = 10  # ForwardNode.people holds 1-10 entries
NUMBER_FIELDS = {
    "menu": ("retries", "first_key_timeout_s", "inter_key_timeout_s"),
    "forward": ("ring_timeout_s",),
    "lookup": LOOKUP_NUMBERS,
    "language": ("timeout_s",),
}
PROMPT_FIELDS = {"menu": ("invalid_prompt", "timeout_prompt"), "forward": ("whisper",),
                 "lookup": ("found_prompt", "not_found_prompt")}
PROMPTED = ("menu", "play", "hangup", "forward", "lookup", "language")  # steps whose form has "what callers hear"
REQUIRED_PROMPT = ("menu", "play", "lookup", "language")
KEY_FIELDS = {"menu": ("back_key",)}  # one phone key; empty = off
PHONE_KEYS = tuple("123456789*0#")  # the keypad, in its order
# field -> whether empty means "say goodbye and hang up" (None) rather than "missing"
TARGET_FIELDS: dict[str, dict[str, bool]] = {
    "menu": {"final": False, "operator": True},
    "play": {"next": True},
    "schedule": {"open": False, "closed": False, "holiday": True},
    "voicemail": {"next": True},
    "forward": {"fallback": False},
    "lookup": {"next": True, "fallback": True, "operator": True},
    "language": {"next": False},
}
OPTIONAL_TARGETS = ("operator", "holiday")  # empty: left out (the flow's operator / closed)


def _flow(data: dict[str, Any]) -> dict[str, Any]:
    flow = data.setdefault("flow", {})
    if not isinstance(flow.get("nodes"), dict):
        flow["nodes"] = {}
    return flow


def _nodes(data: dict[str, Any]) -> dict[str, Any]:
    return _flow(data)["nodes"]


def new_id(data: dict[str, Any], base: str) -> str:
    nodes = _nodes(data)
    base = re.sub(r"[^A-Za-z0-9_-]", "_", base)[:40] or "step"
    if not base[0].isalpha():
        base = "s_" + base
    if base not in nodes:
        return base
    n = 2
    while f"{base}_{n}" in nodes:
        n += 1
    return f"{base}_{n}"


def _first(mapping: Any) -> str | None:
    return next(iter(mapping), None) if isinstance(mapping, dict) else None


def _an_end(data: dict[str, Any]) -> str:
    """A step that ends a call: the first voicemail, else the first hang-up, else a new hang-up."""
    nodes = _nodes(data)
    for kind in ("voicemail", "hangup"):
        for nid, node in nodes.items():
            if isinstance(node, dict) and node.get("type") == kind:
                return nid
    return add_node(data, "hangup")


def add_node(data: dict[str, Any], kind: str, wanted_id: str = "", table: str = "") -> str:
    nodes = _nodes(data)
    prompts = data.get("prompts") if isinstance(data.get("prompts"), dict) else {}
    person = _first(data.get("people"))
    nid = wanted_id.strip() if wanted_id.strip() else new_id(
        data, f"forward_{person}" if kind == "forward" and person else _BASES.get(kind, "step"))
    if nid in nodes:
        nid = new_id(data, nid)
    node: dict[str, Any] = {"type": kind}
    nodes[nid] = node  # before picking defaults, so an end made for it comes after it
    if kind == "menu":
        node.update(prompt=nid, options={})
        node["final"] = _an_end(data)
    elif kind == "play":
        node.update(prompt=nid, next=None)
    elif kind == "hangup":
        if "goodbye" in prompts:
            node["prompt"] = "goodbye"
    elif kind == "schedule":
        end = _an_end(data)
        node.update(open=end, closed=end)
    elif kind == "voicemail":
        node.update(mailbox=_first(data.get("mailboxes")) or "general", next=None)
    elif kind == "forward":
        node["person"] = person or "reception"
        if "connecting" in prompts:
            node["prompt"] = "connecting"
        node["fallback"] = _an_end(data)
    elif kind == "lookup":
        new_lookup(node, nid, table)
    elif kind == "language":
        business = data.get("business") if isinstance(data.get("business"), dict) else {}
        langs = business.get("languages") if isinstance(business.get("languages"), list) else ["en"]
        entry = _flow(data).get("entry")
        new_language(node, nid, [str(x) for x in langs], entry if isinstance(entry, str) and entry != nid
                     else _an_end(data))
    else:
        del nodes[nid]
        raise ValueError(f"no such step type: {kind}")
    return nid


def delete_node(data: dict[str, Any], node_id: str) -> None:
    _nodes(data).pop(node_id, None)


def _number(text: str) -> Any:
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text  # the validator says what is wrong with it


def _put(node: dict[str, Any], key: str, value: Any) -> None:
    if value is None or value == "":
        node.pop(key, None)
    else:
        node[key] = value


def _destination(data: dict[str, Any], value: str, nullable: bool, created: list[str]) -> Any:
    value = value.strip()
    if value == "":
        return None if nullable else ""
    if value in NEW_TARGETS:
        kind = value.split(":", 1)[1]
        if kind == "hangup":
            ends = [n for n, v in _nodes(data).items() if isinstance(v, dict) and v.get("type") == "hangup"]
            if ends:
                return ends[0]
        nid = add_node(data, kind)
        created.append(nid)
        return nid
    return value


def _prompt(data: dict[str, Any], node_id: str, choice: str, texts: Mapping[str, str]) -> str | None:
    """The prompt id a form's prompt choice means; typed words make (or update) a prompt."""
    typed = {lang: text.strip() for lang, text in texts.items() if text.strip()}
    if choice != TEXT_PROMPT and not typed:
        return choice or None
    prompts = data.setdefault("prompts", {})
    pid = choice if choice not in ("", TEXT_PROMPT) and choice == node_id else None
    if pid is None:
        pid = node_id if node_id not in prompts or choice == node_id else None
    if pid is None:
        n = 2
        while f"{node_id}_{n}" in prompts:
            n += 1
        pid = f"{node_id}_{n}"
    entry = prompts.get(pid) if isinstance(prompts.get(pid), dict) else {}
    for lang, text in typed.items():
        entry[lang] = text
    prompts[pid] = entry
    return pid


def apply_node_form(data: dict[str, Any], node_id: str, form: Mapping[str, str],
                    rows: Mapping[str, list[str]], languages: Iterable[str]) -> tuple[str | None, dict[str, str]]:
    nodes = _nodes(data)
    node = nodes.get(node_id)
    if not isinstance(node, dict):
        raise KeyError(node_id)
    kind = node.get("type")
    errors: dict[str, str] = {}
    created: list[str] = []
    if kind not in EDITABLE:
        return None, errors
    options: dict[str, Any] = {}
    if kind == "menu":
        keys, targets = rows.get("opt_key", []), rows.get("opt_target", [])
        for i, (key, target) in enumerate(list(zip(keys, targets))[:MAX_OPTION_ROWS]):
            key = key.strip()
            if not key and not target.strip():
                continue
            if not key:
                errors[f"opt-{i}"] = "no key"
            elif key in options:
                errors[f"opt-{i}"] = "twice"
            else:
                options[key] = target
    if kind == "language":
        options, errors = language_options(rows)
    if errors:
        return None, errors
    _put(node, "note", form.get("note", "").strip())
    if kind in PROMPTED:
        texts = {lang: form.get(f"prompt_text_{lang}", "") for lang in languages}
        pid = _prompt(data, node_id, form.get("prompt", ""), texts)
        if kind in REQUIRED_PROMPT:
            node["prompt"] = pid if pid is not None else ""
        else:
            _put(node, "prompt", pid)
    for field in PROMPT_FIELDS.get(kind, ()):
        _put(node, field, form.get(field, "").strip() or None)
    for field in NUMBER_FIELDS.get(kind, ()):
        _put(node, field, _number(form.get(field, "")) if form.get(field, "").strip() else None)
    for field in KEY_FIELDS.get(kind, ()):
        _put(node, field, form.get(field, "").strip() or None)
    if kind == "menu":
        node["options"] = {k: _destination(data, v, False, created) for k, v in options.items()}
    elif kind == "language":
        node["options"] = options
    for field, nullable in TARGET_FIELDS.get(kind, {}).items():
        value = _destination(data, form.get(field, ""), nullable, created)
        if value is None and (field in OPTIONAL_TARGETS or kind == "lookup"):
            node.pop(field, None)  # empty: the flow's operator / the closed branch / goodbye
        else:
            node[field] = value
    if kind == "voicemail":
        node["mailbox"] = form.get("mailbox", "").strip()
        _put(node, "greeting", form.get("greeting", "auto") if form.get("greeting") != "auto" else None)
    if kind == "forward":
        _put_hunt(node, form, rows)
    if kind == "lookup":
        apply_lookup_form(node, form)
    return (created[0] if created else None), errors


def hunt_rows(node: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """(person, ring timeout as text, accept) for each person a forward step tries."""
    people = node.get("people")
    if not isinstance(people, list):
        person = node.get("person")
        return [(str(person), "", True)] if person not in (None, "") else []
    out: list[tuple[str, str, bool]] = []
    for entry in people:
        if isinstance(entry, dict):
            ring = entry.get("ring_timeout_s")
            out.append((str(entry.get("person") or ""), "" if ring is None else str(ring),
                        entry.get("accept") is not False))
        else:
            out.append((str(entry), "", True))
    return out


def _put_hunt(node: dict[str, Any], form: Mapping[str, str], rows: Mapping[str, list[str]]) -> None:
    """One person is written `person: key`; several (or one with its own ring time or
    no accept check) as the hunt list `people`, each entry as short as it can be."""
    persons = rows.get("hunt_person") or ([form["person"]] if form.get("person", "").strip() else [])
    rings, accepts = rows.get("hunt_ring", []), rows.get("hunt_accept", [])
    entries: list[Any] = []
    for i, person in enumerate(persons[:MAX_HUNT_ROWS]):
        person = person.strip()
        if not person:
            continue  # an empty row: removed (or not added)
        ring = rings[i].strip() if i < len(rings) else ""
        accept = (accepts[i] if i < len(accepts) else "1") != "0"
        entry: dict[str, Any] = {"person": person}
        if ring:
            entry["ring_timeout_s"] = _number(ring)
        if not accept:
            entry["accept"] = False
        entries.append(entry if len(entry) > 1 else person)
    if len(entries) == 1 and isinstance(entries[0], str):
        node["person"] = entries[0]
        node.pop("people", None)
    elif entries:
        node["people"] = entries
        node.pop("person", None)
    else:
        node["person"] = ""  # nobody chosen: the validator says so beside the field
        node.pop("people", None)


def node_of(path: str) -> str | None:
    m = re.match(r"^flow\.nodes\.([A-Za-z][A-Za-z0-9_-]*)", path)
    return m.group(1) if m else None


def node_fields(problems: Iterable[ConfigProblem], data: dict[str, Any], node_id: str) -> dict[str, list[str]]:
    """Problems of one step (and of the greeting it uses), by form field; "" = the step as a whole."""
    base = f"flow.nodes.{node_id}"
    node = _nodes(data).get(node_id)
    node = node if isinstance(node, dict) else {}
    fields = {base: ""}
    for key in ("prompt", "note", "final", "operator", "next", "open", "closed", "holiday", "mailbox",
                "greeting", "person", "fallback", "whisper", "invalid_prompt", "timeout_prompt", "retries",
                "first_key_timeout_s", "inter_key_timeout_s", "ring_timeout_s", "operator_key",
                "repeat_key", "more_time_key", "back_key", "table", "url", "private",
                *LOOKUP_NUMBERS, "found_prompt", "not_found_prompt", "another_key", "done_key"):
        fields[f"{base}.{key}"] = key
    options = node.get("options") if isinstance(node.get("options"), dict) else {}
    for i, key in enumerate(options):
        fields[f"{base}.options.{key}"] = f"opt-{i}"
    fields[f"{base}.people"] = "person"
    for i in range(len(node.get("people") or []) if isinstance(node.get("people"), list) else 0):
        fields[f"{base}.people.{i}"] = f"hunt-{i}"
        fields[f"{base}.people[{i}]"] = f"hunt-{i}"
    if isinstance(node.get("prompt"), str):
        fields[f"prompts.{node['prompt']}"] = "prompt"
    mine = [p for p in problems if p.path == base or p.path.startswith(base + ".")
            or p.path.startswith(f"prompts.{node.get('prompt')}")]
    out = problems_by_field(mine, fields)
    for message in list(out.get("", [])):  # a whole-step check that one field can fix
        field = next((f for start, f in WHOLE_STEP_FIELDS if message.startswith(start)), None)
        if field:
            out[""].remove(message)
            out.setdefault(field, []).append(message)
    if not out.get("", True):
        del out[""]
    return out
