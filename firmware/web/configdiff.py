"""What changed between two config documents, in a few plain lines (the history page).

API:
    summary(old, new, t, limit=MAX_LINES) -> list[str]     old/new: documents as plain data
                                                           (None: nothing before)
    summary_texts(old_text, new_text, t) -> list[str]      the same from YAML texts; a text
                                                           that does not parse is said so

Steps of the call flow are compared field by field (a menu key that now goes elsewhere
reads "main_menu: key 2 → support (was sales)"); other sections are named when they
differ, with the part of `hours` that changed. Everything else a person would not
recognise is left at "settings changed".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from firmware.errors import ConfigError
from firmware.web.configs import text_data
from firmware.web.context import N_

MAX_LINES = 6
SECTION_NAMES = {
    "business": N_("business details"), "line": N_("phone line"), "prompts": N_("greetings"),
    "mailboxes": N_("mailboxes"), "people": N_("people"), "smtp": N_("e-mail server"),
    "caller_rules": N_("caller rules"), "limits": N_("limits"), "webhooks": N_("notifications"),
    "page_url": N_("page address"),
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _node_lines(nid: str, old: dict[str, Any], new: dict[str, Any], t: Callable[[str], str]) -> list[str]:
    out: list[str] = []
    if old.get("type") != new.get("type"):
        return [t("{node}: now a different kind of step").format(node=nid)]
    o_opts, n_opts = _dict(old.get("options")), _dict(new.get("options"))
    for key in sorted(set(o_opts) | set(n_opts)):
        if key not in o_opts:
            out.append(t("{node}: new key {key} → {target}").format(node=nid, key=key, target=n_opts[key]))
        elif key not in n_opts:
            out.append(t("{node}: key {key} removed").format(node=nid, key=key))
        elif o_opts[key] != n_opts[key]:
            out.append(t("{node}: key {key} → {target} (was {old})").format(
                node=nid, key=key, target=n_opts[key], old=o_opts[key]))
    fields = sorted(k for k in set(old) | set(new) if k not in ("options", "type") and old.get(k) != new.get(k))
    if fields:
        out.append(t("{node}: {fields} changed").format(node=nid, fields=", ".join(fields)))
    return out


def _hours_lines(old: dict[str, Any], new: dict[str, Any], t: Callable[[str], str]) -> list[str]:
    names = {"weekly": t("weekly hours changed"), "holidays": t("holidays changed"),
             "closures": t("temporary closures changed")}
    return [text for key, text in names.items() if old.get(key) != new.get(key)]


def summary(old: dict[str, Any] | None, new: dict[str, Any], t: Callable[[str], str],
            limit: int = MAX_LINES) -> list[str]:
    if old is None:
        return [t("first saved version")]
    lines: list[str] = []
    o_flow, n_flow = _dict(old.get("flow")), _dict(new.get("flow"))
    if o_flow.get("entry") != n_flow.get("entry"):
        lines.append(t("calls now start at {node}").format(node=n_flow.get("entry")))
    if o_flow.get("operator") != n_flow.get("operator"):
        lines.append(t("operator key now goes to {node}").format(node=n_flow.get("operator") or "—"))
    o_nodes, n_nodes = _dict(o_flow.get("nodes")), _dict(n_flow.get("nodes"))
    for nid in n_nodes:
        if nid not in o_nodes:
            lines.append(t("new step {node}").format(node=nid))
    for nid in o_nodes:
        if nid not in n_nodes:
            lines.append(t("step {node} removed").format(node=nid))
    for nid in n_nodes:
        if nid in o_nodes and o_nodes[nid] != n_nodes[nid]:
            lines += _node_lines(nid, _dict(o_nodes[nid]), _dict(n_nodes[nid]), t)
    if old.get("hours") != new.get("hours"):
        lines += _hours_lines(_dict(old.get("hours")), _dict(new.get("hours")), t)
    mail_o, mail_n = _dict(old.get("mailboxes")), _dict(new.get("mailboxes"))
    temp = [m for m in set(mail_o) | set(mail_n)
            if _dict(_dict(mail_o.get(m)).get("greetings")).get("temporary")
            != _dict(_dict(mail_n.get(m)).get("greetings")).get("temporary")]
    if temp:
        lines.append(t("temporary greeting changed ({boxes})").format(boxes=", ".join(sorted(temp))))
    for section, name in SECTION_NAMES.items():
        if old.get(section) != new.get(section) and not (section == "mailboxes" and temp
                                                        and _without_temp(mail_o) == _without_temp(mail_n)):
            lines.append(t("{section} changed").format(section=t(name)))
    if not lines:
        lines.append(t("no change"))
    if len(lines) > limit:
        lines = lines[: limit - 1] + [t("and {n} more changes").format(n=len(lines) - limit + 1)]
    return lines


def _without_temp(boxes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, box in boxes.items():
        box = dict(_dict(box))
        box["greetings"] = {k: v for k, v in _dict(box.get("greetings")).items() if k != "temporary"}
        out[name] = box
    return out


def _parse(text: str) -> dict[str, Any] | None:
    try:
        return text_data(text)
    except (ConfigError, ValueError):
        return None
    except Exception:  # noqa: BLE001 - yaml errors of a broken stored text
        return None


def summary_texts(old_text: str | None, new_text: str, t: Callable[[str], str]) -> list[str]:
    new = _parse(new_text)
    if new is None:
        return [t("this version cannot be read")]
    return summary(_parse(old_text) if old_text is not None else None, new, t)
