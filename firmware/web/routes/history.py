"""Drafts, publishing and history: what the Menus and Hours pages change is a draft until
the owner publishes it; every published version can be restored with one click.

Pages: GET /history ; POST /history/{version}/rollback ; POST /draft/publish (note, back) ;
POST /draft/discard (back).
API: GET /api/history ; POST /api/history/{version}/rollback ; GET /api/draft ;
POST /api/draft/publish {"note"} ; POST /api/draft/discard.

Publishing goes through `ConfigPublisher` (validate, atomic write, a history row), so a
draft with problems is never published. Who published a version is kept beside the
history (key-value `web.config_who`, by version), since the history table has no such
column; versions from elsewhere are told apart by their note.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from firmware.errors import ConfigError
from firmware.web import configdiff
from firmware.web.configs import FILENAME
from firmware.web.context import N_, Refused, WebContext, client_source
from firmware.web.forms import form_values
from firmware.web.notetext import note_text
from firmware.web.problemtext import say

router = APIRouter()

WHO_KEY = "web.config_who"
HISTORY_LIMIT = 30
MAX_NOTE_CHARS = 200
WHO_KEEP = 400  # entries kept in WHO_KEY
_NOTE_WHO = {"before the first change": N_("config file"), "first boot (preseed)": N_("first-boot file")}


def _web(request: Request) -> WebContext:
    return request.app.state.web


def draft_state(web: WebContext, t: Any) -> dict[str, Any]:
    """For the "unpublished changes" banner: is there a draft, and how many problems."""
    pub = web.publisher
    if not pub.has_draft():
        return {"draft": False, "draft_problems": 0}
    from firmware.settings import problems

    return {"draft": True, "draft_problems": len(problems(pub.draft_text(), FILENAME))}


def remember_who(web: WebContext, request: Request, version: int) -> None:
    kv = web.services.store.kv
    who = kv.get(WHO_KEY)
    who = who if isinstance(who, dict) else {}
    who[str(version)] = {"who": "owner", "from": client_source(request)}
    if len(who) > WHO_KEEP:
        for key in sorted(who, key=int)[: len(who) - WHO_KEEP]:
            del who[key]
    kv.set(WHO_KEY, who)


def _who(web: WebContext, t: Any, version: int, note: str | None) -> str:
    who = web.services.store.kv.get(WHO_KEY)
    entry = who.get(str(version)) if isinstance(who, dict) else None
    if isinstance(entry, dict):
        return t("Owner, from {address}").format(address=entry.get("from", "?"))
    if note in _NOTE_WHO:
        return t(_NOTE_WHO[note])
    return t("Owner")


def versions(web: WebContext, t: Any, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    rows = web.services.store.configs.list(limit + 1)
    try:
        current = web.publisher.published_text()
    except Exception:  # noqa: BLE001 - no file yet: nothing is current
        current = None
    found = False
    out = []
    for i, v in enumerate(rows[:limit]):
        older = rows[i + 1].text if i + 1 < len(rows) else None
        is_current = not found and v.text == current
        found = found or is_current
        out.append({"version": v.version, "published_ms": v.published_ms, "note": v.note or "",
                    "note_said": note_text(v.note or "", t),
                    "who": _who(web, t, v.version, v.note), "current": is_current,
                    "changes": configdiff.summary_texts(older, v.text, t)})
    return out


def publish(web: WebContext, request: Request, note: str) -> int:
    note = " ".join(note.split())[:MAX_NOTE_CHARS] or "changes from the page"
    if not web.publisher.has_draft():
        raise Refused(409, N_("There are no unpublished changes."))
    version = web.publisher.publish_draft(note)
    remember_who(web, request, version)
    return version


def rollback(web: WebContext, request: Request, version: int) -> int:
    if web.services.store.configs.get(version) is None:
        raise Refused(404, N_("There is no such version."))
    new = web.publisher.rollback(version)
    remember_who(web, request, new)
    return new


def _back(value: str, default: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\n" not in value else default


def _page(request: Request, web: WebContext, status: int = 200, publish_problems: list[str] | None = None) -> Response:
    t = web.request_state(request).t
    pub = web.publisher
    changes: list[str] = []
    if pub.has_draft():
        changes = configdiff.summary_texts(pub.published_text(), pub.draft_text(), t)
    return web.render(request, "history.html", status=status, versions=versions(web, t),
                      draft_changes=changes, publish_problems=publish_problems or [],
                      now_ms=web.services.clock_ms(), title=t("History"), **draft_state(web, t))


@router.get("/history", include_in_schema=False)
async def history_page(request: Request) -> Response:
    return _page(request, _web(request))


@router.post("/history/{version}/rollback", include_in_schema=False)
async def rollback_form(request: Request, version: int) -> Response:
    web = _web(request)
    rollback(web, request, version)
    return RedirectResponse("/history?notice=rolled_back", status_code=303)


@router.post("/draft/publish", include_in_schema=False)
async def publish_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("note", "back"))
    try:
        publish(web, request, v["note"])
    except ConfigError as exc:
        t = web.request_state(request).t
        found = [f"{p.path}: {say(p.message, t)}" if p.path else say(p.message, t) for p in exc.problems]
        return _page(request, web, 422, found)
    back = _back(v["back"], "/history")
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}notice=published", status_code=303)


@router.post("/draft/discard", include_in_schema=False)
async def discard_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("back",))
    web.publisher.discard_draft()
    back = _back(v["back"], "/history")
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}notice=discarded", status_code=303)


@router.get("/api/history", tags=["history"], summary="Published versions, newest first, with what changed")
async def api_history(request: Request) -> dict[str, Any]:
    web = _web(request)
    return {"versions": versions(web, web.request_state(request).t)}


@router.post("/api/history/{version}/rollback", tags=["history"], summary="Publish an old version again")
async def api_rollback(request: Request, version: int) -> dict[str, Any]:
    return {"version": rollback(_web(request), request, version)}


@router.get("/api/draft", tags=["history"], summary="The unpublished draft: text, problems, changes")
async def api_draft(request: Request) -> dict[str, Any]:
    web = _web(request)
    t = web.request_state(request).t
    from firmware.settings import problems

    pub = web.publisher
    text = pub.draft_text()
    return {"draft": pub.has_draft(), "text": text,
            "problems": [{"path": p.path, "line": p.line, "message": p.message, "said": say(p.message, t)}
                         for p in problems(text, FILENAME)],
            "changes": configdiff.summary_texts(pub.published_text(), text, t) if pub.has_draft() else []}


class PublishIn(BaseModel):
    note: str = ""


@router.post("/api/draft/publish", tags=["history"], summary="Validate and publish the draft")
async def api_publish(request: Request, body: PublishIn) -> Response:
    web = _web(request)
    try:
        version = publish(web, request, body.note)
    except ConfigError as exc:
        return JSONResponse({"error": "the draft has problems", "problems": [
            {"path": p.path, "line": p.line, "message": p.message} for p in exc.problems]}, status_code=422)
    return JSONResponse({"version": version})


@router.post("/api/draft/discard", tags=["history"], summary="Throw the draft away")
async def api_discard(request: Request) -> dict[str, Any]:
    _web(request).publisher.discard_draft()
    return {"draft": False}

