"""What each mailbox's callers hear now, on the greetings page: the greeting that plays
for "nobody can answer" and "line busy" (a prompt set here, a recording made by phone,
a temporary greeting, or the built-in sentence), and the owner's phone recordings, to
hear in the browser and to remove (so the greeting set here plays again).

Pages: GET /greetings/mailbox/{box}/{kind}/audio (a phone recording) ;
GET /greetings/mailbox/{box}/{kind}/file (the recording the config names in
mailboxes.{box}.greetings.{kind}.file, only if it resolves inside the data dir) ;
POST /greetings/mailbox/{box}/{kind}/remove. API: GET /api/greetings/mailboxes.
`kind` is one of greetings.PHONE_KINDS. The answer comes from ivr/greetings.plays_now,
the same function a call asks, so the page cannot disagree with what callers hear.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from firmware.ivr.greetings import (PHONE_KINDS, Where, drop_phone_greeting, phone_greeting_on,
                                    phone_greeting_path, plays_now)
from firmware.ivr.phrases import phrase
from firmware.web import fmt
from firmware.errors import StoreError, UsageError
from firmware.web.context import N_, Refused, WebContext

router = APIRouter()

CALLER_KINDS = ("unavailable", "busy")


def _web(request: Request) -> WebContext:
    return request.app.state.web


def where(web: WebContext) -> Where:
    settings = web.settings()
    return Where(settings, web.services.store, fmt.local(web.services.clock_ms(), settings.business.zone))


def _recorded_ms(path: Path) -> int:
    return int(path.stat().st_mtime * 1000)


def _until(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _phone_path(at: Where, box: str, kind: str) -> Path | None:
    """The phone recording's path; None when it is a symlink out of the greetings folder
    (ivr/greetings refuses to read it, and the page must not break or show the path)."""
    try:
        return phone_greeting_path(at, box, kind)
    except UsageError:
        return None


def _playing(at: Where, box: str, kind: str) -> dict[str, Any]:
    """One caller kind: where its greeting comes from, in words the template picks."""
    try:
        choice = plays_now(at, box, kind)
    except UsageError:  # a phone recording that points outside the data folder
        return {"kind": kind, "source": "outside", "slot": kind, "prompt": None, "fallback": False}
    mailbox = at.settings.mailboxes[box]
    row: dict[str, Any] = {"kind": kind, "source": choice.source, "slot": choice.slot,
                           "prompt": choice.prompt, "fallback": kind == "busy" and choice.slot == "unavailable"}
    if choice.source == "phone" and choice.file is not None:
        row["recorded"] = fmt.stamp(_recorded_ms(choice.file), at.settings.business.zone)
        row["audio_url"] = f"/greetings/mailbox/{box}/{choice.slot}/audio?v={_recorded_ms(choice.file)}"
    if choice.source == "config" and choice.slot == "temporary" and mailbox.greetings.temporary:
        row["until"] = _until(mailbox.greetings.temporary.until)
    if choice.source == "config" and not choice.prompt:
        # a file named in the config: played as is, or (missing, unreadable, outside the
        # data dir) the built-in sentence is spoken instead, as mailnodes does
        configured = getattr(mailbox.greetings, choice.slot)
        row["file"] = configured.file if configured is not None else None
        if choice.file is not None and choice.file.is_file():
            row["audio_url"] = f"/greetings/mailbox/{box}/{choice.slot}/file?v={_recorded_ms(choice.file)}"
        else:
            row["file_missing"] = True
    if choice.source == "built-in" or row.get("file_missing"):
        texts = [{"lang": lang, "text": phrase(f"{kind}_greeting", lang, name=mailbox.name)}
                 for lang in at.settings.business.languages]
        row["texts"] = texts
        row["text"] = texts[0]["text"]  # the business's first language (API callers read it)
    return row


def _recordings(at: Where, box: str) -> list[dict[str, Any]]:
    rows = []
    for kind in PHONE_KINDS:
        path = _phone_path(at, box, kind)
        if path is not None and path.exists():
            rows.append({"kind": kind, "on": phone_greeting_on(at, box, kind),
                         "recorded": fmt.stamp(_recorded_ms(path), at.settings.business.zone),
                         "audio_url": f"/greetings/mailbox/{box}/{kind}/audio?v={_recorded_ms(path)}"})
    return rows


def mailbox_rows(web: WebContext) -> list[dict[str, Any]]:
    """Per mailbox: what plays now for each caller kind, and its phone recordings."""
    at = where(web)
    return [{"id": box, "name": mailbox.name,
             "playing": [_playing(at, box, kind) for kind in CALLER_KINDS],
             "recordings": _recordings(at, box)}
            for box, mailbox in at.settings.mailboxes.items()]


def _check(web: WebContext, box: str, kind: str) -> None:
    if box not in web.settings().mailboxes:
        raise Refused(404, N_("There is no such mailbox."))
    if kind not in PHONE_KINDS:
        raise Refused(404, N_("There is no such greeting."))


@router.get("/api/greetings/mailboxes", tags=["greetings"],
            summary="Per mailbox: the greeting callers hear now, and the recordings made by phone")
async def api_mailboxes(request: Request) -> dict[str, Any]:
    return {"mailboxes": mailbox_rows(_web(request))}


@router.get("/greetings/mailbox/{box}/{kind}/audio", include_in_schema=False)
async def phone_audio(request: Request, box: str, kind: str) -> Response:
    web = _web(request)
    _check(web, box, kind)
    path = _phone_path(where(web), box, kind)
    if path is None or not path.is_file():
        raise Refused(404, N_("No greeting was recorded by phone for this."))
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "no-store"})


def configured_file(web: WebContext, box: str, kind: str) -> Path:
    """The recording mailboxes.{box}.greetings.{kind}.file names, resolved inside the
    data dir (a symlink out of it is refused like a missing file)."""
    _check(web, box, kind)
    greeting = getattr(web.settings().mailboxes[box].greetings, kind)
    if greeting is None or not greeting.file:
        raise Refused(404, N_("No recording is set in the configuration for this."))
    try:
        path = web.services.store.data.absolute(greeting.file)
    except StoreError:
        raise Refused(404, N_("The recording set in the configuration is outside the data folder.")) from None
    if not path.is_file():
        raise Refused(404, N_("The recording set in the configuration is missing."))
    return path


@router.get("/greetings/mailbox/{box}/{kind}/file", include_in_schema=False)
async def configured_audio(request: Request, box: str, kind: str) -> Response:
    return FileResponse(configured_file(_web(request), box, kind), media_type="audio/wav",
                        headers={"Cache-Control": "no-store"})


@router.post("/greetings/mailbox/{box}/{kind}/remove", include_in_schema=False)
async def remove_form(request: Request, box: str, kind: str) -> Response:
    web = _web(request)
    _check(web, box, kind)
    if not drop_phone_greeting(where(web), box, kind):
        raise Refused(409, N_("No greeting was recorded by phone for this."))
    return RedirectResponse(f"/greetings?removed={kind}#m-{box}", status_code=303)


@router.post("/api/greetings/mailbox/{box}/{kind}/remove", tags=["greetings"],
             summary="Remove a greeting recorded by phone (the one set here plays again)")
async def api_remove(request: Request, box: str, kind: str) -> dict[str, bool]:
    web = _web(request)
    _check(web, box, kind)
    return {"removed": drop_phone_greeting(where(web), box, kind)}
