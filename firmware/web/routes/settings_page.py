"""Settings overview: a summary of each section (line, e-mail, people, mailboxes, backup,
system), and the owner's password (other sessions end when it changes).

Page: GET /settings ; POST /settings/password (old, new, new2).
API: POST /api/password {"old", "new"} ; GET /api/system ; GET /api/settings (a summary;
never a secret: no SMTP password, no PIN hash).
The sections live in `settings_line`, `settings_people`, `settings_backup`, `settings_system`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from firmware.web import fmt
from firmware.web.auth import check_new_password
from firmware.web.context import WebContext
from firmware.web.forms import form_values

router = APIRouter()


def _web(request: Request) -> WebContext:
    return request.app.state.web


def summary(web: WebContext) -> dict[str, Any]:
    settings = web.settings()
    return {"line": {"backend": settings.line.backend, "device": settings.line.device, "rings": settings.line.rings},
            "smtp": {"host": settings.smtp.host, "sender": settings.smtp.sender} if settings.smtp else None,
            "people": {k: p.name or k for k, p in settings.people.items()},
            "mailboxes": {k: b.name for k, b in settings.mailboxes.items()}}


def _page(request: Request, web: WebContext, errors: dict[str, str], status: int = 200) -> Response:
    s = web.services
    uptime_ms = max(0, s.clock_ms() - s.started_ms)
    return web.render(request, "settings.html", status=status, errors=errors, uptime=fmt.duration(uptime_ms),
                      data_dir=str(s.store.data.root), free=fmt.size(s.store.data.free_bytes()),
                      s=summary(web), title=web.request_state(request).t("Settings"))


def change_password(web: WebContext, request: Request, old: str, new: str, new2: str) -> dict[str, str]:
    state = web.request_state(request)
    t = state.t
    problem = check_new_password(new, t)
    if problem:
        return {"new": problem}
    if new != new2:
        return {"new2": t("The two passwords are not the same.")}
    assert state.session is not None
    if not web.auth.change_password(state.session, old, new):
        return {"old": t("That password is not right.")}
    return {}


@router.get("/settings", include_in_schema=False)
async def settings_page(request: Request) -> Response:
    return _page(request, _web(request), {})


@router.post("/settings/password", include_in_schema=False)
async def password_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("old", "new", "new2"))
    errors = change_password(web, request, v["old"], v["new"], v["new2"])
    if errors:
        return _page(request, web, errors, 422)
    return RedirectResponse("/settings?notice=password", status_code=303)


class PasswordIn(BaseModel):
    old: str
    new: str


@router.post("/api/password", tags=["account"], summary="Change the password; other sessions end")
async def api_password(request: Request, body: PasswordIn) -> Response:
    errors = change_password(_web(request), request, body.old, body.new, body.new)
    if errors:
        return JSONResponse({"error": "invalid", "fields": errors}, status_code=422)
    return JSONResponse({"ok": True})


def system_info(web: WebContext) -> dict[str, Any]:
    s = web.services
    return {"version": s.version, "uptime_ms": s.clock_ms() - s.started_ms,
            "disk_free_bytes": s.store.data.free_bytes()}


@router.get("/api/system", tags=["settings"], summary="Version, uptime, free space")
async def api_system(request: Request) -> dict[str, Any]:
    return system_info(_web(request))


@router.get("/api/settings", tags=["settings"], summary="A summary of the settings (no secrets)")
async def api_summary(request: Request) -> dict[str, Any]:
    return summary(_web(request))
