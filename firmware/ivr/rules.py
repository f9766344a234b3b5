"""Caller rules: class a caller from caller ID, then decide rings, answer, and route.

API:
    classify(settings, caller) -> Classified(caller_class, vip_target)
    rings_for(settings, caller_class) -> int
    entry_for(settings, classified) -> node id where the call starts

Precedence is block, then VIP, then allow (DESIGN: a blocked number stays blocked even
if someone also listed it as a VIP). People the box forwards to count as known.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.line.base import CallerId
from firmware.settings import Settings, match_number


@dataclass(frozen=True)
class Classified:
    caller_class: str
    vip_target: str | None = None


def classify(settings: Settings, caller: CallerId | None) -> Classified:
    rules = settings.caller_rules
    number = caller.number if caller is not None and caller.checksum_ok else None
    if not number:
        absent = caller.number_absent if caller is not None else None
        return Classified("private" if absent == "P" else "unavailable")
    if any(match_number(p, number) for p in rules.block):
        return Classified("blocked")
    for route in rules.vip:
        if match_number(route.match, number):
            return Classified("vip", route.target)
    people = (p.number for p in settings.people.values())
    if any(match_number(p, number) for p in rules.allow) or number in set(people):
        return Classified("known")
    return Classified("unknown")


def rings_for(settings: Settings, caller_class: str) -> int:
    return settings.caller_rules.rings.get(caller_class, settings.line.rings)  # type: ignore[call-overload]


def entry_for(settings: Settings, classified: Classified) -> str:
    rules = settings.caller_rules
    if classified.vip_target:
        return classified.vip_target
    if classified.caller_class in rules.screen and rules.screen_node:
        return rules.screen_node
    return settings.flow.entry
