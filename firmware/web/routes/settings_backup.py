"""Settings: backup (download one zip) and restore (upload it back).

Pages: GET /settings/backup ; GET /settings/backup/download?history=1 ;
POST /settings/restore (multipart `file`).
API: GET /api/backup (the zip) ; POST /api/restore (multipart `file`) -> {"restored": ...}.

The zip is `firmware.store.backup`'s (config and its history, greetings, messages, and
the call log unless left out). A restore is checked completely first (a readable zip,
safe names and sizes, a sound database of a known schema, every message's recording,
a config that passes the config check) and replaces nothing if any of that fails: the
owner sees why. It is refused while a call is in progress. Afterwards the web page's
own database connections are reopened on the restored data; logins are not part of a
backup, so the owner logs in again with the password the backup was made with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from firmware.errors import UploadRejected
from firmware.settings import parse
from firmware.store import Store, free_bytes
from firmware.store.backup import BackupInfo, inspect_backup, restore_backup
from firmware.web.context import N_, Refused, WebContext
from firmware.web.routes.testcall import calls_of

router = APIRouter()

MAX_BACKUP_BYTES = 4 * 1024**3  # an upload larger than this is not one of our backups
COPY_CHUNK_BYTES = 1024 * 1024
BUSY_STATES = ("ringing", "in_call")
WORK_DIR = ".web-backup"  # inside the data dir: same disk as the restore's staging


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _work_dir(web: WebContext) -> Path:
    path = web.services.store.data.root / WORK_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _validate_config(text: str) -> None:
    parse(text, "backup:config/current.yaml")


def _page(request: Request, web: WebContext, error: str | None = None, status: int = 200) -> Response:
    t = web.request_state(request).t
    return web.render(request, "settings_backup.html", status=status, error=error, title=t("Backup"),
                      free=web.services.store.data.free_bytes())


@router.get("/settings/backup", include_in_schema=False)
async def page(request: Request) -> Response:
    return _page(request, _web(request))


async def make_zip(web: WebContext, history: bool) -> Path:
    from firmware.store.backup import make_backup

    fd, name = tempfile.mkstemp(prefix="backup-", suffix=".zip", dir=_work_dir(web))
    os.close(fd)
    path = Path(name)
    try:
        await asyncio.to_thread(make_backup, web.services.store.data.root, path, history=history,
                                version=web.services.version)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@router.get("/settings/backup/download", include_in_schema=False)
@router.get("/api/backup", tags=["settings"], summary="A backup zip: config, greetings, messages, call log")
async def download(request: Request) -> Response:
    web = _web(request)
    history = request.query_params.get("history", "1") != "0"
    path = await make_zip(web, history)
    stamp = dt.datetime.fromtimestamp(web.services.clock_ms() / 1000, web.settings().business.zone)
    filename = f"ivrbox-backup-{stamp:%Y%m%d-%H%M}.zip"
    return FileResponse(path, media_type="application/zip", filename=filename,
                        background=BackgroundTask(path.unlink, missing_ok=True))


async def _receive(web: WebContext, upload: Any) -> Path:
    fd, name = tempfile.mkstemp(prefix="restore-", suffix=".zip", dir=_work_dir(web))
    total = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(COPY_CHUNK_BYTES):
                total += len(chunk)
                if total > MAX_BACKUP_BYTES:
                    raise UploadRejected(f"the file is larger than {MAX_BACKUP_BYTES // 1024**3} GB")
                out.write(chunk)
        if total == 0:
            raise UploadRejected("the file is empty")
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _swap(store: Store, zip_path: Path) -> BackupInfo:
    """Check, close the page's database, restore, and open the restored one in place."""
    root = store.data.root
    inspect_backup(zip_path, validate_config=_validate_config, free_bytes=free_bytes(root))
    store.close()
    try:
        return restore_backup(zip_path, root, validate_config=_validate_config)
    finally:
        # Every part of the page holds this Store object: reopening it in place points
        # them all at the database now in the data dir (the restored or, if the swap
        # failed, the original one put back). A separate engine process notices the
        # new file between calls (Store.replaced) and reopens too.
        store.reopen()


async def restore(request: Request, web: WebContext, upload: Any) -> BackupInfo:
    t = web.request_state(request).t
    if upload is None or not hasattr(upload, "read"):
        raise UploadRejected(t("Choose the backup file first."))
    if web.services.line_state().state in BUSY_STATES or calls_of(request.app).active:
        raise Refused(409, t("A call is in progress. Restore when the line is quiet."))
    path = await _receive(web, upload)
    try:
        if web.services.restore is not None:  # the engine runs apart: it does the swap
            inspect_backup(path, validate_config=_validate_config,
                           free_bytes=free_bytes(web.services.store.data.root))
            return await asyncio.to_thread(web.services.restore, path)
        return await asyncio.to_thread(_swap, web.services.store, path)
    finally:
        path.unlink(missing_ok=True)


# The restore's commonest refusals in the owner's words (store/backup.py says them in
# English for the CLI and API, with the temp file's name); others are shown as they are.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"is not a readable zip file", N_("this is not a backup file from this box (it is not a zip file)")),
    (r"^this is not an ivrbox backup", N_("this zip file is not a backup from this box")),
    (r"^the file is empty$", N_("the file is empty")),
    (r"^the file is larger than (?P<n>\d+) GB$", N_("the file is larger than {n} GB")),
    (r"^not enough free space: the backup needs (?P<mb>\d+) MB", N_("not enough free space: the backup needs {mb} MB")),
    (r"^the backup( is|'s database is) damaged", N_("the backup file is damaged")),
))


def reason_text(reason: str, t: Any) -> str:
    for pattern, template in _REASONS:
        if m := pattern.search(reason):
            return t(template).format(**m.groupdict())
    return reason.rstrip(".")


@router.post("/settings/restore", include_in_schema=False)
async def restore_form(request: Request) -> Response:
    web = _web(request)
    form = await request.form()
    t = web.request_state(request).t
    try:
        await restore(request, web, form.get("file"))
    except UploadRejected as exc:
        return _page(request, web, t("This file was not restored, and nothing was changed: {reason}.")
                     .format(reason=reason_text(str(exc), t)), 422)
    except Refused as exc:
        return _page(request, web, exc.message, exc.status)
    response = RedirectResponse("/login?notice=restored_backup", status_code=303)
    web.clear_login(response)
    return response


@router.post("/api/restore", tags=["settings"], summary="Restore a backup zip (multipart `file`)")
async def api_restore(request: Request) -> Response:
    web = _web(request)
    form = await request.form()
    try:
        info = await restore(request, web, form.get("file"))
    except UploadRejected as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return JSONResponse({"restored": {"files": info.files, "schema_version": info.schema_version,
                                      "version": info.version, "history": info.history}})
