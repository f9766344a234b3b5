"""The answering check: a line must not pick up before its caller ID has arrived.

Contents: `ring_findings(sections, broken) -> list[Finding]` (called by `graph.check`),
`id_after_first_ring(country, caller_id) -> bool`.

Why: in the US, China, Taiwan (Bell 202) and Germany (ETSI, sent during ringing) the
exchange sends caller ID in the silence between the 1st and the 2nd ring. The engine
classes a call at the first ring as `unavailable` (no number yet) and waits for the rings
of that class; with 1 it answers there, caller ID never comes, and every caller stays
`unavailable`: block, vip, allow, screen, the per-class rings and `line.answer` silently
never match, and calls and messages are logged without a number. A per-class value of 1
for any other class is fine (`vip: 1` answers as soon as the VIP's number is read,
before ring 2), as is `line.answer: {unavailable: ignore}` (the engine keeps ringing).

This is an error, not a warning: `ivrbox config check` and the page know only problems
that refuse the document, and install.sh refuses to switch to a release whose check
fails the running config, so an installed box with `rings: 1` keeps its old release
until the file is fixed instead of stopping. `line.caller_id: none` says the line has
no caller ID; then answering at the first ring loses nothing and is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Path = tuple[str | int, ...]
Finding = tuple[Path, str]

FIRST_RING_CLASS = "unavailable"  # what a call is before its caller ID arrives
# Caller ID is sent after the first ring here (DESIGN.md, "Caller ID"); the UK sends it
# before the first ring (after a polarity reversal), Japan (NTT) before ringing.
AFTER_FIRST_RING = frozenset({"us", "tw", "cn", "de"})


def id_after_first_ring(country: str, caller_id: str) -> bool:
    """True if the line's caller ID normally arrives between the 1st and 2nd ring."""
    if caller_id == "auto":
        return country in AFTER_FIRST_RING
    if caller_id == "bell202":
        return True
    if caller_id == "v23":
        return country != "uk"
    return False  # dtmf and ntt come before the first ring; none never comes


def _why(country: str) -> str:
    return (f"answering at ring 1 comes before caller ID, which a '{country}' line sends "
            "between the 1st and 2nd ring: every caller would be 'unavailable', so "
            "caller_rules and line.answer would never match and calls would be logged "
            "without a number. Use 2 or more, or line.caller_id: none if the line has no "
            "caller ID")


def ring_findings(sections: Mapping[str, Any], broken: frozenset[Path]) -> list[Finding]:
    business, line, rules = sections.get("business"), sections.get("line"), sections.get("caller_rules")
    if business is None or line is None or rules is None or any(p[:1] == ("caller_rules",) for p in broken):
        return []  # a broken section: its own error says what is wrong
    if not id_after_first_ring(business.country, line.caller_id):
        return []
    if line.action_for(FIRST_RING_CLASS) == "ignore":
        return []  # the first-ring class is never answered: caller ID comes first
    if FIRST_RING_CLASS in rules.rings:
        if rules.rings[FIRST_RING_CLASS] == 1:
            return [(("caller_rules", "rings", FIRST_RING_CLASS), _why(business.country))]
        return []  # this value wins over every line's rings
    entries = sections.get("lines") or ()
    if not entries:
        return [(("line", "rings"), _why(business.country))] if line.rings == 1 else []
    if any(p[:1] == ("lines",) for p in broken):
        return []
    found: list[Finding] = [(("lines", i, "rings"), _why(business.country))
                            for i, entry in enumerate(entries)
                            if entry is not None and entry.rings == 1]
    if line.rings == 1 and any(entry is not None and entry.rings is None for entry in entries):
        found.append((("line", "rings"), _why(business.country)))
    return found
