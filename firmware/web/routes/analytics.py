"""Analytics: calls per day and per hour of the week, where callers leave the menus,
how many reach a person or a mailbox, and how long that takes; TTY callers, lookups,
each person's forward attempts and calls per line (firmware/web/usage.py).

Page: GET /analytics?days=30 (7, 30 or 90).
API: GET /api/analytics?days=30 -> the same numbers as JSON.
Test calls from the page (line `web-test`) are left out. Days are the business's local
days, ending with today.
"""

from __future__ import annotations

import datetime as dt
from statistics import mean, median
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from firmware.web import charts, fmt, usage
from firmware.web.context import N_, WebContext
from firmware.web.routes.testcall import NODE_TYPES
from firmware.web.services import TEST_LINE_NAME

router = APIRouter()

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
PERSON_OUTCOMES = ("forwarded", "office_picked_up", "answered_by_office")
MAILBOX_OUTCOMES = ("voicemail",)
MENU_OUTCOMES = ("handled_in_menu", "callback_requested", "mailbox_access")
SHARE_COLOURS = ("#15803d", "#0f766e", "#7aa7c7", "#d9a441")  # person, mailbox, menu, nobody
DAY_KEYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def _web(request: Request) -> WebContext:
    return request.app.state.web


def days_of(request: Request) -> int:
    try:
        days = int(request.query_params.get("days", DEFAULT_DAYS))
    except ValueError:
        return DEFAULT_DAYS
    return days if days in PERIODS else DEFAULT_DAYS


def period(web: WebContext, days: int) -> tuple[int, int]:
    """[since, until) in epoch ms: `days` whole local days ending with today."""
    zone = web.settings().business.zone
    today = fmt.local(web.services.clock_ms(), zone).date()
    first = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return int(first.timestamp() * 1000), int(end.timestamp() * 1000)


def numbers(web: WebContext, days: int) -> dict[str, Any]:
    settings = web.settings()
    store = web.services.store
    since, until = period(web, days)
    tz = settings.business.timezone
    per_day = store.reports.per_day(since, until, tz, skip_line=TEST_LINE_NAME)
    outcomes = store.reports.outcomes(since, until, skip_line=TEST_LINE_NAME)
    total = sum(outcomes.values())
    person = sum(outcomes.get(o, 0) for o in PERSON_OUTCOMES)
    mailbox = sum(outcomes.get(o, 0) for o in MAILBOX_OUTCOMES)
    menu = sum(outcomes.get(o, 0) for o in MENU_OUTCOMES)
    reach = store.reports.reach_times(since, until, skip_line=TEST_LINE_NAME)
    return {
        "days": days, "since_ms": since, "until_ms": until, "total": total,
        "per_day": per_day,
        "hour_of_week": store.calls.hour_of_week(since, until, tz, skip_line=TEST_LINE_NAME),
        "funnel": [{"node": n, "entered": e, "left": left}
                   for n, e, left in store.reports.funnel(since, until, skip_line=TEST_LINE_NAME)],
        "outcomes": outcomes,
        "share": {"person": person, "mailbox": mailbox, "menu": menu, "nobody": total - person - mailbox - menu},
        "reach_ms": {kind: {"calls": len(v), "mean": round(mean(v)) if v else None,
                            "median": round(median(v)) if v else None} for kind, v in reach.items()},
        **usage.numbers(store, since, until, TEST_LINE_NAME),
    }


def _charts(n: dict[str, Any], t: Any, node_names: dict[str, str]) -> dict[str, Any]:
    days = [t(d) for d in DAY_KEYS]

    def calls(count: int) -> str:
        return t("1 call") if count == 1 else t("{n} calls").format(n=count)

    def day_text(label: str, value: int) -> str:
        return f"{label}: {calls(value)}"

    def short(label: str) -> str:
        d = dt.date.fromisoformat(label)
        return f"{d.month}/{d.day}"

    busiest = max(((v, r, h) for r, row in enumerate(n["hour_of_week"]) for h, v in enumerate(row)),
                  default=(0, 0, 0))
    funnel_rows = [(node_names.get(f["node"], f["node"]), f["entered"], f["left"]) for f in n["funnel"]]
    share = n["share"]
    return {
        "per_day": charts.bars(
            "per-day", n["per_day"], t("Calls per day"),
            t("{n} calls in the last {days} days.").format(n=n["total"], days=n["days"]),
            day_text, label_every=7 if n["days"] > 7 else 1, short=short),
        "week": charts.heatmap(
            "week", n["hour_of_week"], days, t("Calls by hour of the week"),
            t("Darker squares are busier hours. Busiest: {day} {hour}:00 ({calls}).").format(
                day=days[busiest[1]], hour=busiest[2], calls=calls(busiest[0])),
            lambda r, h, v: f"{days[r]} {h}:00-{h}:59: {calls(v)}"),
        "funnel": charts.funnel(
            "funnel", funnel_rows, t("Where callers leave the menus"),
            t("For each step of the call flow: how many calls reached it, and how many callers hung up there."),
            calls, lambda left: t("{n} hung up here").format(n=left)),
        "share": charts.share(
            "share", [(t("Reached a person"), share["person"], SHARE_COLOURS[0]),
                      (t("Left a message"), share["mailbox"], SHARE_COLOURS[1]),
                      (t("Served by the menus"), share["menu"], SHARE_COLOURS[2]),
                      (t("Reached nobody"), share["nobody"], SHARE_COLOURS[3])],
            t("How calls ended"), t("Share of calls that reached a person, a mailbox, or neither.")),
    }


@router.get("/analytics", include_in_schema=False)
async def page(request: Request) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    days = days_of(request)
    n = numbers(web, days)
    node_names = {}
    for nid, node in web.settings().flow.nodes.items():
        kind = NODE_TYPES.get(node.type)  # type: ignore[attr-defined]
        node_names[nid] = f"{nid} · {t(kind)}" if kind else nid
    return web.render(request, "analytics.html", title=t("Analytics"), n=n, periods=PERIODS,
                      charts=_charts(n, t, node_names), day_names=[t(d) for d in DAY_KEYS],
                      usage=usage.view(n, t, web.settings()))


@router.get("/api/analytics", tags=["calls"], summary="Call statistics for the last 7, 30 or 90 days")
async def api_analytics(request: Request) -> dict[str, Any]:
    return numbers(_web(request), days_of(request))
