"""The dashboard: is each line working, what happened today, day/night switch.

Page: GET / ; POST /daynight (form: mode = open | closed | auto).
API: GET /api/status (`line`: the busiest line's state; `lines`: each line's), POST /api/daynight {"mode": "open"|"closed"|"auto", "until": "next"|"forever"}.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.settings import next_change, status
from firmware.web.context import WebContext
from firmware.web.forms import form_values

router = APIRouter()

LOW_DISK_BYTES = 200 * 1024 * 1024  # warn below this much free space


def _web(request: Request) -> WebContext:
    return request.app.state.web


def day_start_ms(now_ms: int, zone: Any) -> int:
    local = dt.datetime.fromtimestamp(now_ms / 1000, dt.timezone.utc).astimezone(zone)
    midnight = dt.datetime.combine(local.date(), dt.time(), tzinfo=zone)
    return int(midnight.timestamp() * 1000)


def schedule_state(web: WebContext) -> dict[str, Any]:
    """The normal schedule's status now, the override if one is active, and what callers get."""
    settings = web.settings()
    now_ms = web.services.clock_ms()
    zone = settings.business.zone
    local = dt.datetime.fromtimestamp(now_ms / 1000, dt.timezone.utc).astimezone(zone)
    normal = status(settings.hours, local)
    change = next_change(settings.hours, local)
    override = web.services.store.kv.get(OVERRIDE_KEY)
    active = None
    if isinstance(override, dict) and override.get("mode") in ("open", "closed"):
        until = override.get("until_ms")
        if until is None or now_ms < int(until):
            active = {"mode": override["mode"], "until_ms": until}
    return {"normal": normal, "override": active, "effective": active["mode"] if active else normal,
            "next_change_ms": int(change.timestamp() * 1000) if change else None}


def set_daynight(web: WebContext, mode: str, until: str = "next") -> None:
    if mode == "auto":
        web.services.store.kv.delete(OVERRIDE_KEY)
        return
    until_ms = schedule_state(web)["next_change_ms"] if until == "next" else None
    web.services.store.kv.set(OVERRIDE_KEY, {"mode": mode, "until_ms": until_ms})


def status_summary(web: WebContext) -> dict[str, Any]:
    s = web.services
    settings = web.settings()
    now = s.clock_ms()
    line = s.line_state()
    lines = s.lines_state() if s.lines_state is not None else [("", line)]
    errors = [f"{name}: {state.last_error}" if name and len(lines) > 1 else state.last_error
              for name, state in lines if state.last_error]
    new_messages = sum(s.voicemail.counts(box)[0] for box in settings.mailboxes)
    free = s.store.data.free_bytes()
    return {
        "line": {"state": line.state, "detail": line.detail},
        "lines": [{"name": name, "state": state.state, "detail": state.detail}
                  for name, state in lines],
        "calls_today": s.store.reports.count(since_ms=day_start_ms(now, settings.business.zone)),
        "new_messages": new_messages,
        "pending_callbacks": len(s.store.callbacks.open()),
        "schedule": schedule_state(web),
        "disk_free_bytes": free,
        "disk_low": free < LOW_DISK_BYTES,
        "last_error": "; ".join(errors) or line.last_error or s.config_error(),
    }


@router.get("/", include_in_schema=False)
async def dashboard(request: Request) -> Response:
    web = _web(request)
    summary = status_summary(web)
    recent = web.services.store.calls.recent(limit=5)
    messages = web.services.voicemail.list()[:5]
    return web.render(request, "dashboard.html", s=summary, recent=recent, messages=messages,
                      now_ms=web.services.clock_ms())


@router.get("/api/status", tags=["dashboard"], summary="Line state, today's numbers, day/night, disk")
async def api_status(request: Request) -> dict[str, Any]:
    return status_summary(_web(request))


class DayNightIn(BaseModel):
    mode: Literal["open", "closed", "auto"]
    until: Literal["next", "forever"] = "next"


@router.post("/daynight", include_in_schema=False)
async def daynight_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("mode", "until"))
    if v["mode"] not in ("open", "closed", "auto"):
        return web.error_response(request, 422, web.request_state(request).t("Choose open, closed or automatic."))
    set_daynight(web, v["mode"], v["until"] or "next")
    return RedirectResponse("/?notice=daynight", status_code=303)


@router.post("/api/daynight", tags=["dashboard"], summary="Force open or closed, or back to the hours")
async def api_daynight(request: Request, body: DayNightIn) -> dict[str, Any]:
    web = _web(request)
    set_daynight(web, body.mode, body.until)
    return schedule_state(web)
