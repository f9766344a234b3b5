"""Voicemail inbox per mailbox: play, download, mark heard, delete with undo.

Pages: GET /voicemail?box=ID ; GET /voicemail/{id} (one message: where webhook and
e-mail links point) ; GET /voicemail/{id}/audio[?download=1] ;
POST /voicemail/{id}/heard | /unheard | /delete | /undelete.
API: GET /api/voicemail?box=ID ; POST /api/voicemail/{id}/{heard|unheard|delete|undelete}.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from firmware.errors import StoreError, UsageError
from firmware.store import Message
from firmware.web import fmt
from firmware.web.context import N_, Refused, WebContext

router = APIRouter()

Action = Literal["heard", "unheard", "delete", "undelete"]
NOTICES = {"heard": "heard", "unheard": "saved", "delete": "deleted", "undelete": "restored"}


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _message(web: WebContext, message_id: int) -> Message:
    message = web.services.voicemail.get(message_id)
    if message is None:
        raise Refused(404, N_("That message no longer exists."))
    return message


def message_json(m: Message) -> dict[str, Any]:
    return {"id": m.id, "mailbox": m.mailbox, "caller_number": m.caller_number,
            "caller_name": m.caller_name, "received_ms": m.received_ms, "duration_ms": m.duration_ms,
            "heard": m.heard, "text": m.text, "deleted": m.deleted,
            "audio_url": f"/voicemail/{m.id}/audio" if m.path else None}


def apply(web: WebContext, message_id: int, action: str) -> Message:
    vm = web.services.voicemail
    _message(web, message_id)
    if action == "heard":
        vm.mark_heard(message_id)
    elif action == "unheard":
        vm.mark_heard(message_id, False)
    elif action == "delete":
        vm.delete(message_id)
    elif action == "undelete":
        vm.undelete(message_id)
    else:
        raise Refused(404, "unknown action")
    return _message(web, message_id)


@router.get("/voicemail", include_in_schema=False)
async def inbox(request: Request, box: str | None = None) -> Response:
    web = _web(request)
    settings = web.settings()
    boxes = [(key, mb.name, *web.services.voicemail.counts(key)) for key, mb in settings.mailboxes.items()]
    current = box if box in settings.mailboxes else (boxes[0][0] if boxes else None)
    messages = web.services.voicemail.list(current) if current else []
    return web.render(request, "voicemail.html", boxes=boxes, current=current, messages=messages,
                      now_ms=web.services.clock_ms(), title=web.request_state(request).t("Voicemail"))


@router.get("/voicemail/{message_id}", include_in_schema=False)
async def one_message(request: Request, message_id: int) -> Response:
    web = _web(request)
    message = _message(web, message_id)
    box = web.settings().mailboxes.get(message.mailbox)
    return web.render(request, "voicemail_message.html", m=message, box_name=box.name if box else message.mailbox,
                      now_ms=web.services.clock_ms(), title=web.request_state(request).t("Voicemail"))


@router.get("/api/voicemail", tags=["voicemail"], summary="Messages of a mailbox, newest first")
async def api_inbox(request: Request, box: str | None = None) -> dict[str, Any]:
    web = _web(request)
    settings = web.settings()
    return {"mailboxes": {k: {"name": mb.name, "new": web.services.voicemail.counts(k)[0],
                              "total": web.services.voicemail.counts(k)[1]}
                          for k, mb in settings.mailboxes.items()},
            "messages": [message_json(m) for m in web.services.voicemail.list(box)]}


@router.get("/voicemail/{message_id}/audio", include_in_schema=False)
async def audio(request: Request, message_id: int, download: int = 0) -> Response:
    web = _web(request)
    message = _message(web, message_id)
    try:
        path = web.services.voicemail.audio_path(message)
    except StoreError:
        path = None
    if path is None or not path.is_file():
        raise Refused(404, N_("The recording of this message is missing."))
    zone = web.settings().business.zone
    stamp = fmt.local(message.received_ms, zone).strftime("%Y%m%d-%H%M")
    caller = "".join(c for c in (message.caller_number or "unknown") if c.isalnum())[:20] or "unknown"
    name = f"message-{stamp}-{caller}.wav"
    return FileResponse(path, media_type="audio/wav", filename=name if download else None,
                        content_disposition_type="attachment" if download else "inline")


@router.post("/voicemail/{message_id}/{action}", include_in_schema=False)
async def act(request: Request, message_id: int, action: Action) -> Response:
    web = _web(request)
    try:
        message = apply(web, message_id, action)
    except UsageError as exc:
        raise Refused(400, str(exc)) from None
    url = f"/voicemail?box={message.mailbox}&notice={NOTICES[action]}"
    if action == "delete":
        url += f"&undo={message.id}"
    return RedirectResponse(url, status_code=303)


@router.post("/api/voicemail/{message_id}/{action}", tags=["voicemail"],
             summary="Mark heard/unheard, delete (undo possible for a day), undelete")
async def api_act(request: Request, message_id: int, action: Action) -> dict[str, Any]:
    return message_json(apply(_web(request), message_id, action))
