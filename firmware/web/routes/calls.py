"""The call log: filters, CSV export, each call's timeline, and caller rules one click
from a row.

Pages: GET /calls?from=&to=&caller=&outcome=&page= ; GET /calls.csv (same filters);
GET /calls/{id} (one call: the steps, keys, forward attempts, lookups, message, TTY text
and why it ended, in words: web/calltimeline.py); POST /calls/rule (number, rule =
block | allow | vip | none).
API: GET /api/calls (same filters), GET /api/calls/{id} (the call, its raw events and
the timeline's sentences; at most MAX_TIMELINE_ROWS of each, with `events_total`), POST /api/calls/rule {"number", "rule"}.
A rule change publishes a new config version (history, rollback) like any other edit.
A call that is not in the log is a friendly 404 page (JSON under /api).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel

from firmware.settings import Settings
from firmware.store import Call
from firmware.web import calltimeline, fmt
from firmware.web.context import N_, Refused, WebContext
from firmware.web.forms import form_values

router = APIRouter()

PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000
OUTCOMES = ("voicemail", "forwarded", "handled_in_menu", "hung_up", "missed", "answered_by_office",
            "rejected", "screened_out", "callback_requested", "mailbox_access", "office_picked_up",
            "interrupted", "voicemail_no_message", "not_reached", "error")
Rule = Literal["block", "allow", "vip", "none"]
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_CALL_ID = re.compile(r"^[0-9]{1,15}$")  # SQLite integers end at 2**63: longer is no call
MAX_TIMELINE_ROWS = 500  # a call that ran long shows its first and last steps, not thousands


def _web(request: Request) -> WebContext:
    return request.app.state.web


class Filters(BaseModel):
    since: str = ""
    until: str = ""
    caller: str = ""
    outcome: str = ""
    page: int = 1


def filters_of(request: Request) -> Filters:
    q = request.query_params
    try:
        page = max(1, min(10_000, int(q.get("page", "1"))))
    except ValueError:
        page = 1
    return Filters(since=q.get("from", "")[:10], until=q.get("to", "")[:10],
                   caller=q.get("caller", "")[:40].strip(), outcome=q.get("outcome", "")[:30], page=page)


def _day_ms(text: str, zone: Any, end: bool) -> int | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise Refused(422, N_("Write dates as YYYY-MM-DD.")) from None
    if end:
        day += dt.timedelta(days=1)
    return int(dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp() * 1000)


def query_args(f: Filters, settings: Settings) -> dict[str, Any]:
    zone = settings.business.zone
    return {"since_ms": _day_ms(f.since, zone, False), "until_ms": _day_ms(f.until, zone, True),
            "caller": f.caller or None, "outcome": f.outcome if f.outcome in OUTCOMES else None}


def rule_of(settings: Settings, number: str | None) -> str:
    """The rule written for exactly this number (a pattern covering it is not a one-click rule)."""
    if not number:
        return "none"
    rules = settings.caller_rules
    if number in rules.block:
        return "block"
    if any(v.match == number for v in rules.vip):
        return "vip"
    if number in rules.allow:
        return "allow"
    return "none"


def set_rule(web: WebContext, number: str, rule: str) -> int:
    if not _NUMBER.match(number):
        raise Refused(422, N_("That is not a phone number this box can match."))
    settings = web.settings()
    target = settings.flow.operator or settings.flow.entry

    def change(data: dict[str, Any]) -> None:
        rules = data.setdefault("caller_rules", {})
        for key in ("block", "allow"):
            rules[key] = [p for p in rules.get(key, []) if p != number]
        rules["vip"] = [v for v in rules.get("vip", []) if v.get("match") != number]
        if rule in ("block", "allow"):
            rules[rule].append(number)
        elif rule == "vip":
            rules["vip"].append({"match": number, "target": target})
        for key in ("block", "allow", "vip"):
            if not rules[key]:
                del rules[key]

    return web.publisher.edit(change, f"caller {number}: {rule}")


def call_json(c: Call, tty: bool | None = None) -> dict[str, Any]:
    out = {"id": c.id, "line": c.line, "caller_number": c.caller_number, "caller_name": c.caller_name,
           "caller_absent": c.caller_absent, "started_ms": c.started_ms, "answered_ms": c.answered_ms,
           "ended_ms": c.ended_ms, "outcome": c.outcome, "end_reason": c.end_reason,
           "duration_ms": c.duration_ms}
    if tty is not None:
        out["tty"] = tty
    return out


def _tty_ids(web: WebContext, rows: list[Call]) -> set[int]:
    return web.services.store.reports.with_event([c.id for c in rows], "tty")


@router.get("/calls", include_in_schema=False)
async def calls_page(request: Request) -> Response:
    web = _web(request)
    settings = web.settings()
    f = filters_of(request)
    args = query_args(f, settings)
    reports = web.services.store.reports
    rows = reports.search(**args, limit=PAGE_SIZE + 1, offset=(f.page - 1) * PAGE_SIZE)
    rules = {c.caller_number: rule_of(settings, c.caller_number) for c in rows if c.caller_number}
    query = str(request.url.query)
    base = re.sub(r"(^|&)page=\d+", "", query).strip("&")
    return web.render(request, "calls.html", calls=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE,
                      f=f, outcomes=OUTCOMES, rules=rules, now_ms=web.services.clock_ms(),
                      tty=_tty_ids(web, rows[:PAGE_SIZE]),
                      total=reports.count(**args), base_query=base, csv_query=base,
                      show_line=len(settings.lines) > 1)  # one line: the column says nothing


@router.get("/calls.csv", include_in_schema=False)
@router.get("/api/calls.csv", tags=["calls"], summary="The filtered call log as CSV")
async def calls_csv(request: Request) -> Response:
    web = _web(request)
    settings = web.settings()
    args = query_args(filters_of(request), settings)
    zone = settings.business.zone
    rows = web.services.store.reports.search(**args, limit=CSV_MAX_ROWS)
    tty = _tty_ids(web, rows)

    def lines() -> Iterator[str]:
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(["started", "caller_number", "caller_name", "outcome", "duration_s", "end_reason", "line",
                      "tty"])
        for c in rows:
            out.writerow([fmt.stamp(c.started_ms, zone), _cell(c.caller_number), _cell(c.caller_name),
                          c.outcome or "", round((c.duration_ms or 0) / 1000), c.end_reason or "", c.line,
                          "yes" if c.id in tty else ""])
            if buf.tell() > 16_384:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="calls.csv"'})


def _cell(value: str | None) -> str:
    """No formula injection when the CSV is opened in a spreadsheet."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@router.get("/api/calls", tags=["calls"], summary="The call log, newest first, filtered")
async def api_calls(request: Request) -> dict[str, Any]:
    web = _web(request)
    f = filters_of(request)
    args = query_args(f, web.settings())
    rows = web.services.store.reports.search(**args, limit=PAGE_SIZE, offset=(f.page - 1) * PAGE_SIZE)
    tty = _tty_ids(web, rows)
    return {"total": web.services.store.reports.count(**args),
            "calls": [call_json(c, c.id in tty) for c in rows]}


def _one_call(web: WebContext, call_id: str) -> Call | None:
    return web.services.store.calls.get(int(call_id)) if _CALL_ID.match(call_id) else None


def _message_of(web: WebContext) -> Any:
    return lambda message_id: web.services.voicemail.get(message_id)


@router.get("/calls/{call_id}", include_in_schema=False)
async def call_page(request: Request, call_id: str) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    call = _one_call(web, call_id)
    if call is None:
        return web.render(request, "call_detail.html", status=404, call=None, title=t("Call not found"))
    settings = web.settings()
    events = web.services.store.calls.events(call.id)
    rows = calltimeline.timeline(events, settings, t, _message_of(web), MAX_TIMELINE_ROWS)
    return web.render(request, "call_detail.html", call=call, rows=rows, tty=calltimeline.is_tty(events),
                      ended=calltimeline.ended_text(call, events, t), now_ms=web.services.clock_ms(),
                      rule=rule_of(settings, call.caller_number), title=t("Call"))


@router.get("/api/calls/{call_id}", tags=["calls"], summary="One call: its events and timeline in words")
async def api_call(request: Request, call_id: str) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    call = _one_call(web, call_id)
    if call is None:
        return JSONResponse({"error": f"no call {call_id[:20]} in the call log"}, status_code=404)
    events = web.services.store.calls.events(call.id)
    rows = calltimeline.timeline(events, web.settings(), t, _message_of(web), MAX_TIMELINE_ROWS)
    return JSONResponse({
        "call": call_json(call, calltimeline.is_tty(events)),
        "ended": calltimeline.ended_text(call, events, t),
        "events_total": len(events),  # "events" holds the first MAX_TIMELINE_ROWS of them
        "events": [{"t_ms": e.t_ms, "kind": e.kind, "node": e.node, "detail": e.detail}
                   for e in events[:MAX_TIMELINE_ROWS]],
        "timeline": [{"t_ms": r.t_ms, "kind": r.kind, "node": r.node, "text": r.text, "flag": r.flag,
                      "link": r.link} for r in rows],
    })


@router.post("/calls/rule", include_in_schema=False)
async def rule_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("number", "rule", "back"))
    if v["rule"] not in ("block", "allow", "vip", "none"):
        raise Refused(422, N_("Choose block, allow, VIP or no rule."))
    set_rule(web, v["number"].strip(), v["rule"])
    back = v["back"] if v["back"].startswith("/calls") else "/calls"
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}notice=rule", status_code=303)


class RuleIn(BaseModel):
    number: str
    rule: Rule


@router.post("/api/calls/rule", tags=["calls"], summary="Block, allow or VIP a caller (publishes a version)")
async def api_rule(request: Request, body: RuleIn) -> dict[str, Any]:
    version = set_rule(_web(request), body.number.strip(), body.rule)
    return {"version": version, "rule": body.rule}
