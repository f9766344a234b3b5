"""Checks that need more than one field: the flow as a graph, and references between
sections. Pydantic checks each value's type; these check that the values fit together.

Contents: `check(sections) -> list[Finding]`, where `sections` maps a section name to
its validated model (a section that failed validation is simply absent, and the checks
that need it are skipped, so a typo elsewhere never hides a graph problem); `Finding`
is (path as a tuple of keys, message).

What is checked:
- every target names a node (with a did-you-mean), and the entry and operator exist;
- every node is reachable from the entry, a VIP route or the screen node;
- every path ends: a caller who presses nothing must reach a hang-up, a person, or a
  mailbox, so the "silent" edges (menu `final`, play `next`, forward `fallback`, ...)
  must not form a cycle — a menu may loop through its options only because its
  retries are bounded and its `final` leads to an end;
- menu keys do not collide with the repeat / operator / more-time keys, nor a lookup's
  repeat / another / operator / done keys with each other, and an enabled operator key
  has a target;
- forward names a configured person, voicemail/callback/mailbox_login a mailbox;
- every prompt referenced exists and can be played in every configured language;
- language choices (and webhook languages) are among the configured languages;
  e-mail needs `smtp`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from firmware.settings.base import did_you_mean
from firmware.settings.flow import (
    BaseNode,
    CallbackNode,
    Flow,
    ForwardNode,
    LanguageNode,
    LookupNode,
    MailboxLoginNode,
    MenuNode,
    ScreenNode,
    VoicemailNode,
)

Path = tuple[str | int, ...]
Finding = tuple[Path, str]

NODES: Path = ("flow", "nodes")
PARTIAL = "partial_flow"  # sections key: every node id, when `flow` holds only the valid nodes


def _path(*parts: str | int) -> Path:
    out: list[str | int] = []
    for part in parts:
        out += part.split(".") if isinstance(part, str) else [part]
    return tuple(out)


def check(sections: Mapping[str, Any]) -> list[Finding]:
    """Every cross-field problem of a config whose sections validated on their own."""
    found: list[Finding] = []
    flow: Flow | None = sections.get("flow")
    if flow is not None:
        all_ids = sections.get(PARTIAL, frozenset(flow.nodes))
        found += _targets(flow, all_ids)
        found += _menu_keys(flow)
        if flow.entry in flow.nodes and PARTIAL not in sections:  # else it is only noise
            found += _reachable(flow, sections.get("caller_rules"))
        found += _silent_loops(flow)
        found += _references(flow, sections, all_ids)
    found += _prompts(sections)
    found += _mail(sections)
    found += _webhooks(sections)
    return found


SHOW_KNOWN = 8  # list the known names when there are at most this many


def _missing(kind: str, name: str, known: Iterable[str]) -> str:
    known = sorted(known)
    if not known:
        return f"no {kind} '{name}' (none configured)"
    hint = did_you_mean(name, known)
    if not hint and len(known) <= SHOW_KNOWN:
        hint = f" (known: {', '.join(known)})"
    return f"no {kind} '{name}'{hint}"


def _targets(flow: Flow, ids: frozenset[str]) -> list[Finding]:
    found: list[Finding] = []
    if flow.entry not in ids:
        found.append((("flow", "entry"), _missing("node", flow.entry, ids) + " (entry target missing)"))
    if flow.operator is not None and flow.operator not in ids:
        found.append((("flow", "operator"), _missing("node", flow.operator, ids) + " (target missing)"))
    for nid, node in flow.all_nodes().items():
        for field, target in node.targets().items():
            if target is not None and target not in ids:
                found.append((_path(*NODES, nid, field), _missing("node", target, ids) + " (target missing)"))
    return found


def _edges(flow: Flow, node: BaseNode) -> list[str]:
    out = [t for t in node.targets().values() if t is not None]
    if isinstance(node, (MenuNode, LookupNode)) and node.operator_key and node.operator is None \
            and flow.operator:
        out.append(flow.operator)  # the node's operator key leads to the flow's operator
    return out


def _reachable(flow: Flow, rules: Any) -> list[Finding]:
    roots = [flow.entry]
    if rules is not None:
        roots += [v.target for v in rules.vip] + ([rules.screen_node] if rules.screen_node else [])
    seen: set[str] = set()
    stack = [r for r in roots if r in flow.nodes]
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        stack += [t for t in _edges(flow, flow.node(nid)) if t in flow.nodes]
    return [
        (_path(*NODES, nid), f"node '{nid}' is never reached from the entry '{flow.entry}': link to it or remove it")
        for nid in flow.nodes if nid not in seen
    ]


def _silent_loops(flow: Flow) -> list[Finding]:
    """A cycle of silent edges is a path that never ends for a caller who presses nothing."""
    found: list[Finding] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()

    def visit(nid: str, trail: list[str]) -> None:
        state[nid] = 1
        trail.append(nid)
        for target in flow.node(nid).silent_targets().values():
            if target is None or target not in flow.nodes:
                continue
            if state.get(target) == 1:
                loop = trail[trail.index(target):]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    shown = " -> ".join([*loop, target])
                    found.append((_path(*NODES, loop[0]), (
                        f"this path never ends for a caller who presses nothing ({shown}): point a "
                        "final/next/fallback of one of them out of the loop, towards a hangup"
                    )))
            elif target not in state:
                visit(target, trail)
        trail.pop()
        state[nid] = 2

    for nid in flow.nodes:
        if nid not in state:
            visit(nid, [])
    return found


def _menu_keys(flow: Flow) -> list[Finding]:
    found: list[Finding] = []
    for nid, node in flow.all_nodes().items():
        if isinstance(node, LookupNode):
            found += _lookup_keys(flow, nid, node)
        if not isinstance(node, MenuNode):
            continue
        special = {"repeat_key": node.repeat_key, "operator_key": node.operator_key,
                   "more_time_key": node.more_time_key}
        used: dict[str, str] = {}
        for field, key in special.items():
            if key is None:
                continue
            if key in used:
                found.append((_path(*NODES, nid, field), f"'{key}' is also {used[key]}"))
            used[key] = field
        for option in node.options:
            if option[0] in used:
                found.append((_path(*NODES, nid, "options", option), (
                    f"choice '{option}' starts with '{option[0]}', which is this menu's "
                    f"{used[option[0]]}: set {used[option[0]]}: null to use it as a choice"
                )))
        if node.operator_key and node.operator is None and flow.operator is None:
            found.append((_path(*NODES, nid, "operator_key"), (
                f"operator key '{node.operator_key}' has no target: set flow.operator or this "
                "menu's operator, or operator_key: null"
            )))
    return found


def _lookup_keys(flow: Flow, nid: str, node: LookupNode) -> list[Finding]:
    found: list[Finding] = []
    used: dict[str, str] = {}
    for field, key in node.menu_keys().items():
        if key is None:
            continue
        if key in used:
            found.append((_path(*NODES, nid, field), f"'{key}' is also {used[key]}"))
        used[key] = field
    if node.operator_key and node.operator is None and flow.operator is None:
        found.append((_path(*NODES, nid, "operator_key"), (
            f"operator key '{node.operator_key}' has no target: set flow.operator or this "
            "node's operator, or operator_key: null"
        )))
    return found


def _webhooks(sections: Mapping[str, Any]) -> list[Finding]:
    hooks, business = sections.get("webhooks"), sections.get("business")
    if not hooks or business is None:
        return []
    return [
        (("webhooks", name, "language"), f"language '{hook.language}' is not in business.languages")
        for name, hook in hooks.items()
        if hook.language is not None and hook.language not in business.languages
    ]


def _references(flow: Flow, sections: Mapping[str, Any], ids: frozenset[str]) -> list[Finding]:
    found: list[Finding] = []
    people, boxes = sections.get("people"), sections.get("mailboxes")
    business, rules = sections.get("business"), sections.get("caller_rules")
    for nid, node in flow.all_nodes().items():
        here = _path(*NODES, nid)
        if isinstance(node, ForwardNode) and people is not None and node.person not in people:
            found.append((here + ("person",), _missing("person", node.person, people)
                          + ": forwarding dials only the numbers in `people`"))
        box_fields = {VoicemailNode: "mailbox", CallbackNode: "notify", MailboxLoginNode: "mailbox"}
        field = box_fields.get(type(node))
        box = getattr(node, field) if field else None
        if box is not None and boxes is not None and box not in boxes:
            found.append((here + (field,), _missing("mailbox", box, boxes)))
        if isinstance(node, MailboxLoginNode) and box is not None and boxes is not None \
                and box in boxes and boxes[box].pin_hash is None:
            found.append((here + ("mailbox",), f"mailbox '{box}' has no pin_hash, so nobody can log in"))
        if isinstance(node, MailboxLoginNode) and box is None and boxes is not None:
            if not any(b.number for b in boxes.values()):
                found.append((here + ("mailbox",), "no mailbox has a 'number' to type: set one, or name the mailbox here"))
        if isinstance(node, LanguageNode) and business is not None:
            for key, lang in node.options.items():
                if lang not in business.languages:
                    found.append((here + ("options", key), f"language '{lang}' is not in business.languages"))
    if rules is not None:
        for i, route in enumerate(rules.vip):
            if route.target not in ids:
                found.append((("caller_rules", "vip", i, "target"), _missing("node", route.target, ids)))
        if rules.screen_node is not None:
            node = flow.nodes.get(rules.screen_node)
            if rules.screen_node not in ids:
                found.append((("caller_rules", "screen_node"), _missing("node", rules.screen_node, ids)))
            elif node is not None and not isinstance(node, ScreenNode):
                found.append((("caller_rules", "screen_node"), f"'{rules.screen_node}' is not a screen node"))
    if boxes is not None:
        numbers: dict[str, str] = {}
        for name, box in boxes.items():
            if box.number and box.number in numbers:
                found.append((("mailboxes", name, "number"), f"number {box.number} is also mailbox '{numbers[box.number]}'"))
            elif box.number:
                numbers[box.number] = name
    return found


def _prompts(sections: Mapping[str, Any]) -> list[Finding]:
    prompts, business = sections.get("prompts"), sections.get("business")
    if prompts is None:
        return []
    refs: list[tuple[Path, str]] = []
    flow: Flow | None = sections.get("flow")
    if flow is not None:
        for nid, node in flow.all_nodes().items():
            refs += [(_path(*NODES, nid, f), p) for f, p in node.prompt_refs().items()]
    for name, box in (sections.get("mailboxes") or {}).items():
        for kind in ("unavailable", "busy", "temporary"):
            greeting = getattr(box.greetings, kind)
            if greeting is not None and greeting.prompt:
                refs.append((("mailboxes", name, "greetings", kind, "prompt"), greeting.prompt))
    found: list[Finding] = []
    for path, pid in refs:
        if pid not in prompts:
            found.append((path, _missing("prompt", pid, prompts)))
        elif business is not None:
            lacking = [lang for lang in business.languages if not prompts[pid].has(lang)]
            if lacking:
                found.append((path, f"prompt '{pid}' has no {', '.join(lacking)} text or file"))
    return found


def _mail(sections: Mapping[str, Any]) -> list[Finding]:
    if "smtp" not in sections or sections["smtp"] is not None:
        return []  # smtp invalid (skip) or configured
    return [
        (("mailboxes", name, "email"), "e-mail recipients need the smtp section")
        for name, box in (sections.get("mailboxes") or {}).items() if box.email
    ]
