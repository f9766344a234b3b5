"""Caller classes from caller ID, as the `caller_rules` and `line` sections define them.

Contents: `classify(settings, number, absent) -> CallerClass`, `vip_target(settings,
number) -> node id | None`, `rings_for(settings, caller_class) -> int`,
`entry_for(settings, caller_class, number) -> node id` (where the call starts: a VIP
route, the screen node, or the flow's entry).

Precedence: block, then vip, then allow or a configured person's number; a withheld
number is `private`, a missing one or "out of area" `unavailable`, anything else
`unknown`.
"""

from __future__ import annotations

from firmware.settings.base import match_number
from firmware.settings.model import Settings

ABSENT_PRIVATE = "P"  # caller ID "number absent" reason: withheld by the caller


def vip_target(settings: Settings, number: str | None) -> str | None:
    if not number:
        return None
    for route in settings.caller_rules.vip:
        if match_number(route.match, number):
            return route.target
    return None


def classify(settings: Settings, number: str | None, absent: str | None = None) -> str:
    """The caller class of a call; `absent` is the caller-ID reason code (`P`, `O`)."""
    rules = settings.caller_rules
    if not number:
        return "private" if absent == ABSENT_PRIVATE else "unavailable"
    if any(match_number(p, number) for p in rules.block):
        return "blocked"
    if vip_target(settings, number) is not None:
        return "vip"
    if any(match_number(p, number) for p in rules.allow):
        return "known"
    if any(person.number == number for person in settings.people.values()):
        return "known"
    return "unknown"


def rings_for(settings: Settings, caller_class: str) -> int:
    """Rings to let pass before answering a call of this class."""
    return settings.caller_rules.rings.get(caller_class, settings.line.rings)  # type: ignore[call-overload]


def entry_for(settings: Settings, caller_class: str, number: str | None) -> str:
    """The node a call of this class starts at."""
    target = vip_target(settings, number) if caller_class == "vip" else None
    if target is not None:
        return target
    rules = settings.caller_rules
    if caller_class in rules.screen and rules.screen_node is not None:
        return rules.screen_node
    return settings.flow.entry
