"""Greetings & prompts: hear each one, replace it (upload, browser recording, typed text),
preview before saving, revert to the spoken text.

Pages: GET /greetings ; GET /greetings/audio/{prompt}/{lang} (what callers hear now) ;
POST /greetings/{prompt}/{lang}/upload (multipart `file`) ; POST .../speak (`text`) ;
GET .../preview?token= ; GET /greetings/preview/{token}.wav ; POST .../save (`token`) ;
POST .../discard (`token`) ; POST .../revert.
API: GET /api/greetings ; POST /api/greetings/{prompt}/{lang}/upload -> {"token", "preview_url"}.
Saving publishes a config version whose prompt `file` names the new recording.
"""

from __future__ import annotations

import io
import re
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from firmware.errors import AudioFormatError, UploadRejected
from firmware.settings import Settings
from firmware.web import fmt
from firmware.web.context import N_, Refused, WebContext
from firmware.web.forms import form_values
from firmware.web.greetings import Limits, Previews, prepare, receive
from firmware.web.routes.mailbox_greetings import mailbox_rows

router = APIRouter()

MAX_TEXT_CHARS = 2000
# Why an upload or typed text was refused (firmware/web/greetings.py words it in English
# for the API), re-said for the owner in the page's language; an unknown one as is.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"^no file was chosen$", N_("Choose a file first.")),
    (r"^the file is empty$", N_("The file is empty.")),
    (r"^the file is larger than (?P<mb>\d+) MB$", N_("The file is larger than {mb} MB.")),
    (r"^this is not an audio file ivrbox can read", N_(
        "This is not a sound file the box can read. Try a WAV, MP3 or M4A file.")),
    (r"^the recording is (?P<long>[\d.]+) minutes long; at most (?P<most>\d+) minutes",
     N_("The recording is {long} minutes long; at most {most} minutes are allowed.")),
    (r"^the recording is longer than (?P<most>\d+) minutes$", N_("The recording is longer than {most} minutes.")),
    (r"^the recording is silent", N_("The recording is silent: nothing in it is louder than background noise.")),
    (r"^write the words to speak \(1 to (?P<n>\d+) characters\)$", N_("Write the words to speak (1 to {n} characters).")),
))


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _limits(web: WebContext) -> Limits:
    return Limits(web.services.max_upload_bytes, web.services.max_upload_s)


def _previews(web: WebContext) -> Previews:
    return Previews(web.services.store.data.greetings)


def _check(settings: Settings, prompt: str, lang: str) -> None:
    if prompt not in settings.prompts:
        raise Refused(404, N_("There is no such greeting."))
    if lang not in settings.business.languages:
        raise Refused(404, N_("Callers cannot choose that language."))


GROUPS = ("mailbox", "menu", "other")  # the page's order of the greetings' groups


def _group_of(settings: Settings) -> dict[str, str]:
    """Prompt id -> "mailbox" (a mailbox greeting), "menu" (a flow node plays it) or
    "other" (played by the engine itself, or by nothing): how the page sorts them."""
    found: dict[str, str] = {}
    for box in settings.mailboxes.values():
        for kind in ("unavailable", "busy", "temporary"):
            greeting = getattr(box.greetings, kind)
            if greeting is not None and greeting.prompt:
                found.setdefault(greeting.prompt, "mailbox")
    for node in settings.flow.all_nodes().values():
        for pid in node.prompt_refs().values():
            found.setdefault(pid, "menu")
    return found


def prompt_rows(settings: Settings) -> list[dict[str, Any]]:
    groups = _group_of(settings)
    rows = []
    for pid, p in settings.prompts.items():
        langs = [{"lang": lang, "text": p.text(lang) or "", "file": p.file.get(lang)}
                 for lang in settings.business.languages]
        rows.append({"id": pid, "langs": langs, "group": groups.get(pid, "other")})
    return rows


@router.get("/greetings", include_in_schema=False)
async def page(request: Request) -> Response:
    web = _web(request)
    return web.render(request, "greetings.html", prompts=prompt_rows(web.settings()),
                      mailboxes=mailbox_rows(web), max_mb=web.services.max_upload_bytes // (1024 * 1024),
                      max_min=int(web.services.max_upload_s // 60), title=web.request_state(request).t("Greetings"))


@router.get("/api/greetings", tags=["greetings"], summary="Every prompt, per language: text and recording")
async def api_list(request: Request) -> dict[str, Any]:
    return {"prompts": prompt_rows(_web(request).settings())}


def _wav(audio: Any) -> Response:
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, audio, 8000, subtype="PCM_16", format="WAV")
    return Response(buf.getvalue(), media_type="audio/wav")


@router.get("/greetings/audio/{prompt}/{lang}", include_in_schema=False)
async def current_audio(request: Request, prompt: str, lang: str) -> Response:
    web = _web(request)
    settings = web.settings()
    _check(settings, prompt, lang)
    p = settings.prompts[prompt]
    rel = p.file.get(lang)
    path = web.services.store.data.absolute(rel) if rel else None
    try:
        audio = web.services.prompts.render(p.text(lang) or "", lang, path)
    except AudioFormatError as exc:
        raise Refused(503, str(exc)) from None
    return _wav(audio)


async def _upload(web: WebContext, prompt: str, lang: str, file: UploadFile) -> str:
    _check(web.settings(), prompt, lang)
    limits = _limits(web)
    incoming = web.services.store.data.greetings / "incoming"
    path = await receive(file, incoming, limits)
    try:
        audio = prepare(path, limits)
    finally:
        path.unlink(missing_ok=True)
    return _previews(web).put(audio)


def _rejected_page(request: Request, web: WebContext, exc: UploadRejected, prompt: str, lang: str) -> Response:
    t = web.request_state(request).t
    return web.render(request, "greetings.html", status=422, prompts=prompt_rows(web.settings()),
                      mailboxes=mailbox_rows(web),
                      max_mb=web.services.max_upload_bytes // (1024 * 1024),
                      max_min=int(web.services.max_upload_s // 60),
                      rejected={"prompt": prompt, "lang": lang, "message": reason_text(str(exc), t)},
                      title=t("Greetings"))


def reason_text(reason: str, t: Any) -> str:
    """Why an upload was refused, as the owner should read it."""
    for pattern, template in _REASONS:
        if m := pattern.match(reason):
            return t(template).format(**m.groupdict())
    return t("This file was not accepted: {reason}.").format(reason=reason)


@router.post("/greetings/{prompt}/{lang}/upload", include_in_schema=False)
async def upload_form(request: Request, prompt: str, lang: str) -> Response:
    web = _web(request)
    form = await request.form(max_part_size=web.services.max_upload_bytes + 1)
    file = form.get("file")
    try:
        if file is None or isinstance(file, str) or not file.filename:
            raise UploadRejected("no file was chosen")
        token = await _upload(web, prompt, lang, file)
    except UploadRejected as exc:
        return _rejected_page(request, web, exc, prompt, lang)
    return RedirectResponse(f"/greetings/{prompt}/{lang}/preview?token={token}", status_code=303)


@router.post("/api/greetings/{prompt}/{lang}/upload", tags=["greetings"],
             summary="Upload or record audio (any common format); returns a preview to save")
async def api_upload(request: Request, prompt: str, lang: str, file: UploadFile) -> Response:
    web = _web(request)
    try:
        token = await _upload(web, prompt, lang, file)
    except UploadRejected as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return JSONResponse({"token": token, "preview_url": f"/greetings/{prompt}/{lang}/preview?token={token}"})


@router.post("/greetings/{prompt}/{lang}/speak", include_in_schema=False)
async def speak_form(request: Request, prompt: str, lang: str) -> Response:
    web = _web(request)
    _check(web.settings(), prompt, lang)
    text = " ".join((await form_values(request, ("text",)))["text"].split())
    if not text or len(text) > MAX_TEXT_CHARS:
        return _rejected_page(request, web, UploadRejected(
            f"write the words to speak (1 to {MAX_TEXT_CHARS} characters)"), prompt, lang)
    try:
        audio = web.services.prompts.render(text, lang)
    except AudioFormatError as exc:
        raise Refused(503, str(exc)) from None
    token = _previews(web).put(audio, text=text)
    return RedirectResponse(f"/greetings/{prompt}/{lang}/preview?token={token}", status_code=303)


@router.get("/greetings/{prompt}/{lang}/preview", include_in_schema=False)
async def preview_page(request: Request, prompt: str, lang: str, token: str = "") -> Response:
    web = _web(request)
    _check(web.settings(), prompt, lang)
    try:
        previews = _previews(web)
        previews.path(token)
        text = previews.text(token)
    except UploadRejected as exc:
        raise Refused(404, str(exc)) from None
    return web.render(request, "greeting_preview.html", prompt=prompt, glang=lang, token=token, text=text,
                      title=web.request_state(request).t("Preview"))


@router.get("/greetings/preview/{token}.wav", include_in_schema=False)
async def preview_audio(request: Request, token: str) -> Response:
    try:
        path = _previews(_web(request)).path(token)
    except UploadRejected as exc:
        raise Refused(404, str(exc)) from None
    return FileResponse(path, media_type="audio/wav")


def save_preview(web: WebContext, prompt: str, lang: str, token: str) -> int:
    _check(web.settings(), prompt, lang)
    previews = _previews(web)
    text = previews.text(token)
    data_dir = web.services.store.data
    if text is not None:
        previews.drop(token)

        def change(data: dict[str, Any]) -> None:
            entry = data["prompts"][prompt]
            entry[lang] = text
            files = entry.get("file") or {}
            files.pop(lang, None)
            entry["file"] = files
            if not files:
                entry.pop("file")

        return web.publisher.edit(change, f"greeting {prompt} ({lang}): new text")
    stamp = fmt.local(web.services.clock_ms(), web.settings().business.zone).strftime("%Y%m%d-%H%M%S")
    final = data_dir.inside(data_dir.greetings, f"{prompt}-{lang}-{stamp}.wav")
    previews.take(token, final)
    rel = data_dir.relative(final)

    def change_file(data: dict[str, Any]) -> None:
        entry = data["prompts"][prompt]
        entry["file"] = {**(entry.get("file") or {}), lang: rel}

    return web.publisher.edit(change_file, f"greeting {prompt} ({lang}): new recording")


@router.post("/greetings/{prompt}/{lang}/save", include_in_schema=False)
async def save_form(request: Request, prompt: str, lang: str) -> Response:
    web = _web(request)
    token = (await form_values(request, ("token",)))["token"]
    try:
        save_preview(web, prompt, lang, token)
    except UploadRejected as exc:
        raise Refused(404, str(exc)) from None
    return RedirectResponse(f"/greetings?notice=greeting#p-{prompt}", status_code=303)


@router.post("/api/greetings/{prompt}/{lang}/save", tags=["greetings"], summary="Save a preview (publishes)")
async def api_save(request: Request, prompt: str, lang: str, token: str) -> dict[str, int]:
    try:
        return {"version": save_preview(_web(request), prompt, lang, token)}
    except UploadRejected as exc:
        raise Refused(404, str(exc)) from None


@router.post("/greetings/{prompt}/{lang}/discard", include_in_schema=False)
async def discard_form(request: Request, prompt: str, lang: str) -> Response:
    web = _web(request)
    token = (await form_values(request, ("token",)))["token"]
    try:
        _previews(web).drop(token)
    except UploadRejected:
        pass
    return RedirectResponse(f"/greetings#p-{prompt}", status_code=303)


def revert(web: WebContext, prompt: str, lang: str) -> int:
    settings = web.settings()
    _check(settings, prompt, lang)
    p = settings.prompts[prompt]
    if lang not in p.file:
        raise Refused(409, N_("This greeting already uses the spoken text."))
    if p.text(lang) is None:
        raise Refused(409, N_("Write a text for this greeting first, so callers still hear something."))

    def change(data: dict[str, Any]) -> None:
        entry = data["prompts"][prompt]
        files = dict(entry.get("file") or {})
        files.pop(lang, None)
        if files:
            entry["file"] = files
        else:
            entry.pop("file", None)

    return web.publisher.edit(change, f"greeting {prompt} ({lang}): back to text")


@router.post("/greetings/{prompt}/{lang}/revert", include_in_schema=False)
async def revert_form(request: Request, prompt: str, lang: str) -> Response:
    revert(_web(request), prompt, lang)
    return RedirectResponse(f"/greetings?notice=reverted#p-{prompt}", status_code=303)


@router.post("/api/greetings/{prompt}/{lang}/revert", tags=["greetings"], summary="Back to the spoken text")
async def api_revert(request: Request, prompt: str, lang: str) -> dict[str, int]:
    return {"version": revert(_web(request), prompt, lang)}
