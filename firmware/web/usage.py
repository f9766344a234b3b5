"""The analytics page's figures for the features beyond the menus: TTY callers, lookups
by phone, each person's forward attempts (hunt lists), and calls per line.

API:
    numbers(store, since_ms, until_ms, skip_line) -> {"tty", "lookups", "hunt", "lines"}
                                       the JSON the API returns (store.usage, no labels)
    view(n, t, settings) -> dict       what the template shows: labelled rows in the
                                       owner's language and the lookup results chart
    LOOKUP_RESULTS, HUNT_OUTCOMES      the words the call log uses, in display order, with
                                       their labels

Why apart from routes/analytics.py: that module draws the call-flow charts; these are
per-feature counts with their own vocabulary, and the route stays small.
"""

from __future__ import annotations

from typing import Any

from firmware.store import Store
from firmware.web import charts
from firmware.web.context import N_

# The lookup node's `lookup.result` (ivr/lookup.py, ivr/lookup_source.py) and its colour.
LOOKUP_RESULTS: tuple[tuple[str, str, str], ...] = (
    ("found", N_("Found"), "#15803d"),
    ("not_found", N_("Not found"), "#d9a441"),
    ("expired", N_("Entry expired"), "#7aa7c7"),
    ("too_short", N_("Number too short"), "#94a3b8"),
    ("failed", N_("Source failed (no answer)"), "#b91c1c"),
)
# `forward_result.outcome` (ivr/hunt.py OUTCOMES, and ivr/ttynodes.py for a TTY caller).
HUNT_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("accepted", N_("Took the call")),
    ("busy", N_("Busy")),
    ("no_answer", N_("No answer")),
    ("declined", N_("Declined")),
    ("voicemail", N_("Their voicemail answered")),
    ("outside_hours", N_("Outside their hours")),
    ("no_dial_tone", N_("No dial tone")),
    ("limit", N_("Forward limit reached")),
    ("tty_caller", N_("TTY caller, not dialled")),
)


def numbers(store: Store, since_ms: int, until_ms: int, skip_line: str | None) -> dict[str, Any]:
    usage = store.usage
    return {
        "tty": usage.tty(since_ms, until_ms, skip_line),
        "lookups": usage.lookups(since_ms, until_ms, skip_line),
        "hunt": [{"person": person, "outcomes": outcomes, "tried": sum(outcomes.values())}
                 for person, outcomes in usage.hunt(since_ms, until_ms, skip_line)],
        "lines": [{"line": line, "calls": calls} for line, calls in usage.per_line(since_ms, until_ms, skip_line)],
    }


def _lookup_rows(results: dict[str, int], t: Any) -> list[tuple[str, str, int, str]]:
    """(result, label, count, colour) for every known result, then any the code adds later."""
    known = {key for key, _, _ in LOOKUP_RESULTS}
    rows = [(key, t(label), results.get(key, 0), colour) for key, label, colour in LOOKUP_RESULTS]
    rows += [(key, key.replace("_", " "), count, "#5b6675") for key, count in results.items()
             if key not in known]
    return rows


def _hunt_rows(hunt: list[dict[str, Any]], t: Any, settings: Any) -> list[dict[str, Any]]:
    labels = dict(HUNT_OUTCOMES)
    order = [key for key, _ in HUNT_OUTCOMES]
    rows = []
    for entry in hunt:
        person = settings.people.get(entry["person"])
        outcomes = sorted(entry["outcomes"].items(),
                          key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))
        rows.append({"key": entry["person"], "name": (person.name if person is not None else None) or entry["person"],
                     "tried": entry["tried"], "accepted": entry["outcomes"].get("accepted", 0),
                     "outcomes": [(key, t(labels[key]) if key in labels else key.replace("_", " "), n)
                                  for key, n in outcomes]})
    return rows


def view(n: dict[str, Any], t: Any, settings: Any) -> dict[str, Any]:
    lookups = n["lookups"]
    rows = _lookup_rows(lookups["results"], t)
    keyed = sum(count for _, _, count, _ in rows)
    has_lookup_node = any(node.type == "lookup" for node in settings.flow.nodes.values())
    chart = None
    if keyed:
        chart = charts.share("lookups", [(label, count, colour) for _, label, count, colour in rows if count],
                             t("Lookup results"),
                             t("What callers heard for each number they keyed."))
    return {
        "lookup_rows": rows, "lookups_keyed": keyed, "lookup_chart": chart,
        "show_lookups": bool(keyed or lookups["limit_reached"] or has_lookup_node),
        "hunt_rows": _hunt_rows(n["hunt"], t, settings),
        "show_lines": len(settings.lines) > 1,  # one line: the split says nothing
    }
