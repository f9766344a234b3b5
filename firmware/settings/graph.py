"""Checks that need more than one field: the flow as a graph, and references between
sections. Pydantic checks each value's type; these check that the values fit together.

Contents: `check(sections) -> list[Finding]`, where `sections` maps a section name to
its validated model; `Finding` is (path as a tuple of keys, message). A section that
failed validation is either absent (the checks that need it are skipped) or salvaged
(`firmware.settings.salvage`): then `sections[BROKEN]` holds the paths that could not be
read (None in the model) and `sections[PARTIAL]` every node id written. A check never
reports what a broken path's own error already says (a missing PIN hash that is only
mistyped, a target that is not a valid id), and never misses a reference that is fine.

What is checked:
- every target names a node (with a did-you-mean), and the entry and operator exist;
- every node is reachable from the entry, a line's entry, a VIP route or the screen node;
- every path ends: a caller who presses nothing must reach a hang-up, a person, or a
  mailbox, so the "silent" edges (menu `final`, play `next`, forward `fallback`, ...)
  must not form a cycle — a menu may loop through its options only because its
  retries are bounded and its `final` leads to an end;
- menu keys do not collide with the repeat / operator / more-time / back keys, nor a
  lookup's repeat / another / operator / done keys with each other, and an enabled
  operator key has a target (a menu's back key is no edge: it returns to a menu the
  call already reached by one, so reachability and "every path ends" are unchanged,
  and it needs a key, so it is never a silent edge);
- forward names a configured person, voicemail/callback/mailbox_login a mailbox;
- every prompt referenced exists and can be played in every configured language;
- language choices (and webhook languages) are among the configured languages;
  e-mail needs `smtp`; a callback's confirm and other keys differ; a person's `hours`
  has weekly ranges (else a forward would never ring them);
- weekly opening ranges (the business's and each person's) do not overlap: an
  overnight range ("22:00-02:00") must not run into the next day's hours;
- the `lines` (`lines.line_findings`): unique names, a device used once, entries that
  exist;
- no line answers before its caller ID arrives (`answering.ring_findings`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from firmware.settings.answering import ring_findings
from firmware.settings.base import did_you_mean
from firmware.settings.hours import Hours, overlaps
from firmware.settings.lines import line_findings, line_roots
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
PARTIAL = "partial_flow"  # sections key: every node id, when `flow` was salvaged
BROKEN = "broken_paths"  # sections key: paths of salvaged sections that could not be read
EDGE_FIELDS = frozenset({"options", "extensions", "final", "next", "fallback", "fail", "open", "closed",
                         "holiday", "operator", "operator_key"})


def _path(*parts: str | int) -> Path:
    out: list[str | int] = []
    for part in parts:
        out += part.split(".") if isinstance(part, str) else [part]
    return tuple(out)


def check(sections: Mapping[str, Any]) -> list[Finding]:
    """Every cross-field problem of a config (see the module docstring for `sections`)."""
    found: list[Finding] = []
    flow: Flow | None = sections.get("flow")
    broken: frozenset[Path] = sections.get(BROKEN, frozenset())
    if flow is not None and NODES not in broken:  # with no nodes to read, every check is a guess
        all_ids = sections.get(PARTIAL, frozenset(flow.nodes))
        found += _targets(flow, all_ids)
        found += _menu_keys(flow, broken)
        if flow.entry in flow.nodes and not _edges_unknown(flow, all_ids, broken):
            found += _reachable(flow, sections.get("caller_rules"), line_roots(sections))
        found += _silent_loops(flow)
        found += _references(flow, sections, all_ids, broken)
    node_ids = None if flow is None or NODES in broken else sections.get(PARTIAL, frozenset(flow.nodes))
    found += line_findings(sections, node_ids, broken)
    found += _prompts(sections, broken)
    found += _mail(sections)
    found += _webhooks(sections, broken)
    found += _hours(sections)
    found += ring_findings(sections, broken)
    return found


def _hours(sections: Mapping[str, Any]) -> list[Finding]:
    """Overlapping weekly ranges (section `hours`, and every person's `hours`), and a
    person's hours that are never open (`hours: {}`, or holidays only)."""
    tables: list[tuple[Path, Any]] = [(("hours",), sections.get("hours"))]
    tables += [(("people", name, "hours"), getattr(person, "hours", None))
               for name, person in (sections.get("people") or {}).items()]
    found: list[Finding] = [
        (where + ("weekly", spec, i), message)
        for where, hours in tables if isinstance(hours, Hours)
        for spec, i, message in overlaps(hours)
    ]
    found += [
        (where, f"no weekly ranges, so a forward would never ring {where[1]}: add "
                "weekly ranges (mon-sun: [\"00:00-24:00\"] is always), or leave hours out")
        for where, hours in tables[1:] if isinstance(hours, Hours) and not any(hours.weekly.values())
    ]
    return found


def _under(broken: frozenset[Path], *prefix: str | int) -> bool:
    """True if a broken path lies at or under `prefix`."""
    return any(path[:len(prefix)] == prefix for path in broken)


def _edges_unknown(flow: Flow, ids: frozenset[str], broken: frozenset[Path]) -> bool:
    """True if some edge of the flow could not be read (then "never reached" would be a guess)."""
    if set(ids) - set(flow.nodes) or _under(broken, "flow", "operator") or _under(broken, "caller_rules") \
            or _under(broken, "lines"):
        return True
    return any(len(p) > 3 and p[:2] == NODES and p[3] in EDGE_FIELDS for p in broken)


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
    if flow.entry is not None and flow.entry not in ids:
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


def _reachable(flow: Flow, rules: Any, line_entries: list[str]) -> list[Finding]:
    roots = [flow.entry, *line_entries]
    if rules is not None:
        roots += [v.target for v in rules.vip if v is not None]
        roots += [rules.screen_node] if rules.screen_node else []
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


def _menu_keys(flow: Flow, broken: frozenset[Path]) -> list[Finding]:
    found: list[Finding] = []
    for nid, node in flow.all_nodes().items():
        operator_unknown = _under(broken, "flow", "operator") or _under(broken, *NODES, nid, "operator")
        if isinstance(node, LookupNode):
            found += _lookup_keys(flow, nid, node, operator_unknown)
        if not isinstance(node, MenuNode):
            continue
        used: dict[str, str] = {}
        for field, key in node.special_keys().items():
            if key is None:
                continue
            if key in used:
                found.append((_path(*NODES, nid, field), f"'{key}' is also {used[key]}"))
            used[key] = field
        for option in node.options:
            if used.get(option[0]) == "back_key":  # off by default: the back key is the newcomer
                found.append((_path(*NODES, nid, "back_key"), (
                    f"back key '{option[0]}' is also the first key of choice '{option}': "
                    "choose another back key, or back_key: null")))
            elif option[0] in used:
                found.append((_path(*NODES, nid, "options", option), (
                    f"choice '{option}' starts with '{option[0]}', which is this menu's "
                    f"{used[option[0]]}: set {used[option[0]]}: null to use it as a choice"
                )))
        if node.operator_key and node.operator is None and flow.operator is None and not operator_unknown:
            found.append((_path(*NODES, nid, "operator_key"), (
                f"operator key '{node.operator_key}' has no target: set flow.operator or this "
                "menu's operator, or operator_key: null"
            )))
    return found


def _lookup_keys(flow: Flow, nid: str, node: LookupNode, operator_unknown: bool) -> list[Finding]:
    found: list[Finding] = []
    used: dict[str, str] = {}
    for field, key in node.menu_keys().items():
        if key is None:
            continue
        if key in used:
            found.append((_path(*NODES, nid, field), f"'{key}' is also {used[key]}"))
        used[key] = field
    if node.operator_key and node.operator is None and flow.operator is None and not operator_unknown:
        found.append((_path(*NODES, nid, "operator_key"), (
            f"operator key '{node.operator_key}' has no target: set flow.operator or this "
            "node's operator, or operator_key: null"
        )))
    return found


def _languages(business: Any, broken: frozenset[Path]) -> tuple[str, ...] | None:
    """The configured languages, or None if they could not be read."""
    if business is None or _under(broken, "business", "languages"):
        return None
    return tuple(business.languages)


def _webhooks(sections: Mapping[str, Any], broken: frozenset[Path]) -> list[Finding]:
    hooks, languages = sections.get("webhooks"), _languages(sections.get("business"), broken)
    if not hooks or languages is None:
        return []
    return [
        (("webhooks", name, "language"), f"language '{hook.language}' is not in business.languages")
        for name, hook in hooks.items()
        if hook.language is not None and hook.language not in languages
    ]


def _known(section: str, name: str, have: Mapping[str, Any], broken: frozenset[Path]) -> bool:
    """True if `name` is in a section's map, or was written there but could not be read."""
    return name in have or (section, name) in broken


def _references(flow: Flow, sections: Mapping[str, Any], ids: frozenset[str],
                broken: frozenset[Path]) -> list[Finding]:
    found: list[Finding] = []
    people, boxes = sections.get("people"), sections.get("mailboxes")
    business, rules = sections.get("business"), sections.get("caller_rules")
    languages = _languages(business, broken)
    box_fields = {VoicemailNode: "mailbox", CallbackNode: "notify", MailboxLoginNode: "mailbox"}
    for nid, node in flow.all_nodes().items():
        here = _path(*NODES, nid)
        if isinstance(node, ForwardNode) and people is not None and node.person is not None \
                and not _known("people", node.person, people, broken):
            found.append((here + ("person",), _missing("person", node.person, people)
                          + ": forwarding dials only the numbers in `people`"))
        if isinstance(node, ForwardNode) and people is not None and node.people is not None:
            found += [(here + ("people", i), _missing("person", entry.person, people)
                       + ": forwarding dials only the numbers in `people`")
                      for i, entry in enumerate(node.people)
                      if not _known("people", entry.person, people, broken)]
        field = box_fields.get(type(node))
        box = getattr(node, field) if field else None
        if box is not None and boxes is not None and not _known("mailboxes", box, boxes, broken):
            found.append((here + (field,), _missing("mailbox", box, boxes)))
        if isinstance(node, MailboxLoginNode) and box is not None and boxes is not None \
                and box in boxes and boxes[box].pin_hash is None \
                and not _under(broken, "mailboxes", box, "pin_hash"):
            found.append((here + ("mailbox",), f"mailbox '{box}' has no pin_hash, so nobody can log in"))
        if isinstance(node, MailboxLoginNode) and box is None and boxes is not None \
                and not _under(broken, *here, "mailbox") and not _under(broken, "mailboxes"):
            if not any(b.number for b in boxes.values()):
                found.append((here + ("mailbox",), "no mailbox has a 'number' to type: set one, or name the mailbox here"))
        if isinstance(node, CallbackNode) and node.other_key is not None and node.other_key == node.confirm_key:
            found.append((here + ("other_key",), (
                f"'{node.other_key}' is also confirm_key, so a caller could never type another "
                "number: use another key, or other_key: null")))
        if isinstance(node, LanguageNode) and languages is not None:
            for key, lang in node.options.items():
                if lang not in languages:
                    found.append((here + ("options", key), f"language '{lang}' is not in business.languages"))
    if rules is not None:
        for i, route in enumerate(rules.vip):
            if route is not None and route.target is not None and route.target not in ids:
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


def _prompts(sections: Mapping[str, Any], broken: frozenset[Path]) -> list[Finding]:
    prompts, business = sections.get("prompts"), sections.get("business")
    if prompts is None:
        return []
    languages = _languages(business, broken)
    refs: list[tuple[Path, str]] = []
    flow: Flow | None = sections.get("flow")
    if flow is not None:
        for nid, node in flow.all_nodes().items():
            refs += [(_path(*NODES, nid, f), p) for f, p in node.prompt_refs().items()]
    for name, box in (sections.get("mailboxes") or {}).items():
        greetings = box.greetings
        for kind in ("unavailable", "busy", "temporary"):
            greeting = getattr(greetings, kind, None) if greetings is not None else None
            if greeting is not None and greeting.prompt:
                refs.append((("mailboxes", name, "greetings", kind, "prompt"), greeting.prompt))
    found: list[Finding] = []
    for path, pid in refs:
        if not _known("prompts", pid, prompts, broken):
            found.append((path, _missing("prompt", pid, prompts)))
        elif pid in prompts and languages is not None and not _under(broken, "prompts", pid):
            lacking = [lang for lang in languages if not prompts[pid].has(lang)]
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
