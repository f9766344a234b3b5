"""The owner's web page: `create_app(services)` builds it; nothing here is global.

API:
    create_app(services: WebServices) -> FastAPI
    serve(app, host, port) -> awaitable          run it with uvicorn inside a running loop
    WebContext                                   per-app state the routes reach through
                                                 `request.app.state.web` (see `context.py`)

Every request passes one gate (an app-wide dependency), in this order:
1. before the first-run page has set a password, only `/setup` (and static files) answer;
2. every other page needs a session, except `/login`;
3. every state-changing request (POST, PUT, PATCH, DELETE) must carry the session's
   CSRF token, in the form field `csrf` or the `X-CSRF-Token` header (before login, a
   double-submit cookie stands in for the session's token).
A middleware adds the security headers (a CSP with no inline script, no framing,
nosniff, no referrer) to every response. Errors never show a traceback: the owner
sees a friendly page (or JSON under /api), the details go to the log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from firmware.errors import IvrboxError
from firmware.web.context import STATIC_DIR, Redirect, Refused, WebContext, wants_json
from firmware.web.services import WebServices

log = logging.getLogger("ivrbox.web")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PUBLIC_PATHS = {"/login", "/api/login", "/api/session", "/lang", "/healthz"}
SETUP_PATHS = {"/setup", "/api/setup", "/api/session", "/lang", "/healthz"}


async def gate(conn: HTTPConnection) -> None:
    """First run, login and CSRF, for every route (see the module docstring)."""
    web: WebContext = conn.app.state.web
    path = conn.url.path
    state = web.request_state(conn)
    if not web.has_owner():
        if path not in SETUP_PATHS:
            raise Redirect("/setup", 409)
    elif path in ("/setup", "/api/setup"):
        raise Redirect("/", 409)
    elif path not in PUBLIC_PATHS and state.session is None:
        raise Redirect("/login?next=" + path if not path.startswith("/api") else "/login", 401)
    if conn.scope["type"] == "websocket":
        web.check_origin(conn)
        return
    if conn.scope.get("method", "GET") not in SAFE_METHODS:
        await web.check_csrf(conn)  # type: ignore[arg-type]


def create_app(services: WebServices) -> FastAPI:
    app = FastAPI(
        title="ivrbox owner's page",
        version=services.version,
        description="Everything the owner's page does, as JSON. Log in first (POST /api/login); "
                    "send the session's CSRF token (GET /api/session) as X-CSRF-Token.",
        docs_url=None, redoc_url=None,  # Swagger UI would load scripts from a CDN
        openapi_url=None,  # served below, behind the gate like every other route
        dependencies=[Depends(gate)],
    )
    web = WebContext(services)
    app.state.web = web
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        try:
            response = await call_next(request)
        except Exception:  # noqa: BLE001 - the owner never sees a traceback
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            response = web.error_response(request, 500)
        web.secure_headers(request, response)
        return response

    @app.exception_handler(Redirect)
    async def on_redirect(request: Request, exc: Redirect) -> Response:
        if wants_json(request):
            messages = {401: "log in first", 409: "finish the first-run setup first" if exc.url == "/setup"
                        else "already set up"}
            return JSONResponse({"error": messages.get(exc.status, "redirect"), "location": exc.url},
                                status_code=exc.status)
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(Refused)
    async def on_refused(request: Request, exc: Refused) -> Response:
        return web.error_response(request, exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else None
        return web.error_response(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [{"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
                  for e in exc.errors()]
        if wants_json(request):
            return JSONResponse({"error": "invalid request", "fields": fields}, status_code=422)
        return web.error_response(request, 422, "; ".join(f"{f['field']}: {f['message']}" for f in fields))

    @app.exception_handler(IvrboxError)
    async def on_ivrbox(request: Request, exc: IvrboxError) -> Response:
        log.warning("refused on %s: %s", request.url.path, exc)
        return web.error_response(request, 400, str(exc))

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return web.error_response(request, 500)

    from firmware.web.routes import ROUTERS

    for router in ROUTERS:
        app.include_router(router)

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    return app


async def serve(app: FastAPI, host: str, port: int) -> None:
    """Run the page with uvicorn on the current event loop (beside the engine)."""
    import uvicorn

    # lifespan off: the app has no start-up hooks, and a stop would log a cancelled
    # lifespan task as a traceback.
    config = uvicorn.Config(app, host=host, port=port, log_level="info", access_log=False,
                            proxy_headers=False, server_header=False, ws="auto",
                            lifespan="off")
    await uvicorn.Server(config).serve()
