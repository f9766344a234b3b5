"""Callback requests: who asked to be called back, and marking them done.

Pages: GET /callbacks ; POST /callbacks/{id}/done (optional note).
API: GET /api/callbacks ; POST /api/callbacks/{id}/done {"note"}.
A request from a text-telephone (TTY) caller is marked (`by_tty`): a voice call back
would reach someone who cannot hear it, so the owner calls back by TTY or relay.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from firmware.errors import StoreError
from firmware.store import Callback
from firmware.web.context import N_, Refused, WebContext
from firmware.web.forms import form_values

router = APIRouter()

DONE_SHOWN = 20
MAX_NOTE_CHARS = 500


def _web(request: Request) -> WebContext:
    return request.app.state.web


def callback_json(c: Callback) -> dict[str, Any]:
    return {"id": c.id, "number": c.number, "name": c.name, "requested_ms": c.requested_ms,
            "done_ms": c.done_ms, "note": c.note, "call_id": c.call_id, "by_tty": c.by_tty}


def mark_done(web: WebContext, callback_id: int, note: str | None) -> None:
    try:
        web.services.store.callbacks.done(callback_id, (note or "").strip()[:MAX_NOTE_CHARS] or None)
    except StoreError:
        raise Refused(404, N_("That callback request no longer exists.")) from None


@router.get("/callbacks", include_in_schema=False)
async def page(request: Request) -> Response:
    web = _web(request)
    store = web.services.store
    done = [c for c in store.callbacks.list(limit=DONE_SHOWN * 3) if c.done_ms is not None][:DONE_SHOWN]
    return web.render(request, "callbacks.html", pending=store.callbacks.open(), done=done,
                      now_ms=web.services.clock_ms(), title=web.request_state(request).t("Callbacks"))


@router.get("/api/callbacks", tags=["callbacks"], summary="Pending requests (oldest first) and recent done ones")
async def api_list(request: Request) -> dict[str, Any]:
    store = _web(request).services.store
    return {"pending": [callback_json(c) for c in store.callbacks.open()],
            "recent": [callback_json(c) for c in store.callbacks.list(limit=DONE_SHOWN)]}


@router.post("/callbacks/{callback_id}/done", include_in_schema=False)
async def done_form(request: Request, callback_id: int) -> Response:
    v = await form_values(request, ("note",))
    mark_done(_web(request), callback_id, v["note"])
    return RedirectResponse("/callbacks?notice=done", status_code=303)


class DoneIn(BaseModel):
    note: str | None = Field(None, max_length=MAX_NOTE_CHARS)


@router.post("/api/callbacks/{callback_id}/done", tags=["callbacks"], summary="Mark a request done")
async def api_done(request: Request, callback_id: int, body: DoneIn) -> dict[str, bool]:
    mark_done(_web(request), callback_id, body.note)
    return {"ok": True}
