"""Settings: the system page (version, uptime, disk, config state, log tail, self-test).

Pages: GET /settings/system ; POST /settings/selftest (runs the self-test, shows it).
API: GET /api/system/log -> {"lines"} ; POST /api/selftest -> {"ok", "results"}.

The self-test is the appliance's (`WebServices.selftest`: config, disk, clock, mail
server, the engine's view of its line). It blocks -- the mail server check waits up to
its timeout -- so it runs in a worker thread and the page's event loop keeps serving
(and test calls keep their audio). Only one runs at a time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from firmware.web import fmt
from firmware.web.context import WebContext
from firmware.web.services import SelfTestResult

router = APIRouter()

LOG_TAIL_LINES = 200
LOG_TAIL_BYTES = 64 * 1024  # read at most this much from the end of the log


def _web(request: Request) -> WebContext:
    return request.app.state.web


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> list[str] | None:
    """The last lines of the log file; None when the page has no log file to show."""
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - LOG_TAIL_BYTES))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    if len(data) == LOG_TAIL_BYTES and text:
        text = text[1:]  # the first line was cut by the window
    return text[-lines:]


async def run_selftest(request: Request) -> list[SelfTestResult] | None:
    web = _web(request)
    if web.services.selftest is None:
        return None
    lock = getattr(request.app.state, "selftest_lock", None)
    if lock is None:
        lock = request.app.state.selftest_lock = asyncio.Lock()
    async with lock:
        return await asyncio.to_thread(web.services.selftest)


def _page(request: Request, web: WebContext, results: list[SelfTestResult] | None = None,
          ran: bool = False) -> Response:
    s = web.services
    t = web.request_state(request).t
    return web.render(request, "settings_system.html", title=t("System"),
                      uptime=fmt.duration(max(0, s.clock_ms() - s.started_ms)),
                      free=fmt.size(s.store.data.free_bytes()), data_dir=str(s.store.data.root),
                      config_error=s.config_error(), log=log_tail(s.log_path), log_path=s.log_path,
                      can_selftest=s.selftest is not None, results=results, ran=ran)


@router.get("/settings/system", include_in_schema=False)
async def page(request: Request) -> Response:
    return _page(request, _web(request))


@router.post("/settings/selftest", include_in_schema=False)
async def selftest_form(request: Request) -> Response:
    web = _web(request)
    return _page(request, web, await run_selftest(request), ran=True)


@router.get("/api/system/log", tags=["settings"], summary="The last lines of the log")
async def api_log(request: Request) -> dict[str, Any]:
    return {"lines": log_tail(_web(request).services.log_path) or []}


@router.post("/api/selftest", tags=["settings"], summary="Run the self-test")
async def api_selftest(request: Request) -> Response:
    results = await run_selftest(request)
    if results is None:
        return JSONResponse({"error": "no self-test in this process"}, status_code=501)
    return JSONResponse({"ok": all(r.ok for r in results),
                         "results": [{"name": r.name, "ok": r.ok, "detail": r.detail} for r in results]})
