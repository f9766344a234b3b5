"""Per-app state and the helpers every route uses: sessions, CSRF, language, rendering.

API:
    WebContext(services)                 built once by `create_app`, at `app.state.web`
        .services .auth .publisher .catalogues .templates
        .request_state(conn) -> RequestState      session, csrf, language, translator
        .has_owner() -> bool
        .check_csrf(request) / .check_origin(conn)   raise Refused(403)
        .render(request, template, status=200, **values) -> HTMLResponse
        .error_response(request, status, message=None) -> Response
        .secure_headers(request, response)
        .settings() -> Settings                   the published config
        .login_cookies(response, token) / .clear_login(response)
    RequestState                          session, csrf, lang, t (gettext), pre_csrf
    Redirect(url, status) / Refused(status, message)   raised by routes and the gate
    N_(message)                           marks a Refused message for translation
    wants_json(request) -> bool           /api/... and JSON clients get JSON, not pages
    client_source(conn) -> str            the address login throttling counts by
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import HTTPConnection

from firmware.settings import Settings
from firmware.store import WebSession
from firmware.web import fmt
from firmware.web.auth import Auth, csrf_ok, new_token
from firmware.web.configs import ConfigPublisher
from firmware.web.i18n import UI_LANGUAGES, Catalogues, pick_language
from firmware.web.services import WebServices

log = logging.getLogger("ivrbox.web")

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
SESSION_COOKIE = "ivrbox_session"
PRE_COOKIE = "ivrbox_pre"  # double-submit CSRF token before login
LANG_COOKIE = "ivrbox_lang"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
LANG_COOKIE_AGE_S = 365 * 24 * 3600

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self' blob:; connect-src 'self' {ws}; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def N_(message: str) -> str:
    """Marks a message for translation where it is raised; translated when shown."""
    return message


class Redirect(Exception):
    def __init__(self, url: str, status: int = 303):
        super().__init__(url)
        self.url = url
        self.status = status


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class RequestState:
    session: WebSession | None
    csrf: str
    lang: str
    t: Any  # gettext function of the page's language
    pre_csrf: str | None = None  # set when a new pre-login token must be sent as a cookie


def wants_json(request: HTTPConnection) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def client_source(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


class WebContext:
    def __init__(self, services: WebServices):
        self.services = services
        self.auth = Auth(services.store, services.clock_ms, services.password_hasher)
        self.publisher = ConfigPublisher(services.store, services.config_path, services.clock_ms)
        self.catalogues = Catalogues()
        self.templates = Environment(loader=FileSystemLoader(TEMPLATE_DIR),
                                     autoescape=select_autoescape(["html", "svg"]),
                                     trim_blocks=True, lstrip_blocks=True)
        self.templates.globals.update(fmt=fmt, languages=UI_LANGUAGES)
        self._owner = False

    # -- state ---------------------------------------------------------------------------
    def has_owner(self) -> bool:
        if not self._owner:
            self._owner = self.services.store.web.has_users()
        return self._owner

    def settings(self) -> Settings:
        return self.services.settings()

    def request_state(self, conn: HTTPConnection) -> RequestState:
        state = getattr(conn.state, "web", None)
        if state is not None:
            return state
        session = self.auth.resolve(conn.cookies.get(SESSION_COOKIE))
        lang = pick_language(conn.cookies.get(LANG_COOKIE), conn.headers.get("accept-language"))
        t = self.catalogues.translator(lang).gettext
        if session is not None:
            state = RequestState(session, session.csrf, lang, t)
        else:
            pre = conn.cookies.get(PRE_COOKIE)
            fresh = None if pre and 20 <= len(pre) <= 64 else new_token()
            state = RequestState(None, pre if fresh is None else fresh, lang, t, fresh)
        conn.state.web = state
        return state

    # -- checks --------------------------------------------------------------------------
    async def check_csrf(self, request: Request) -> None:
        state = self.request_state(request)
        given = request.headers.get(CSRF_HEADER)
        if given is None:
            ctype = request.headers.get("content-type", "")
            if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                try:
                    form = await request.form(max_part_size=self.services.max_upload_bytes + 1)
                except Exception:  # noqa: BLE001 - a broken body is refused below
                    form = None
                value = form.get(CSRF_FIELD) if form is not None else None
                given = value if isinstance(value, str) else None
        expected = state.csrf if state.session is not None else request.cookies.get(PRE_COOKIE)
        if not csrf_ok(expected, given):
            raise Refused(403, state.t("This form has expired or did not come from this page. "
                                       "Go back, reload the page and try again."))

    def check_origin(self, conn: HTTPConnection) -> None:
        origin = conn.headers.get("origin")
        if origin and urlsplit(origin).netloc != conn.headers.get("host"):
            raise Refused(403, "cross-site request refused")

    # -- responses -----------------------------------------------------------------------
    def base_values(self, request: Request) -> dict[str, Any]:
        state = self.request_state(request)
        try:
            settings: Settings | None = self.settings()
        except Exception:  # noqa: BLE001 - a broken config must not take the page down
            log.exception("cannot read the published config")
            settings = None
        zone = settings.business.zone if settings else dt.timezone.utc
        return {
            "request": request, "t": state.t, "_": state.t, "lang": state.lang,
            "csrf": state.csrf, "logged_in": state.session is not None,
            "business": settings.business.name if settings else "ivrbox",
            "zone": zone, "path": request.url.path, "notice": request.query_params.get("notice"),
            "version": self.services.version,
        }

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        context = {**self.base_values(request), **values}
        html = self.templates.get_template(template).render(context)
        return HTMLResponse(html, status_code=status)

    def error_response(self, request: Request, status: int, message: str | None = None) -> Response:
        if message:
            message = self.request_state(request).t(message)  # marked with N_ where raised
        if wants_json(request):
            return JSONResponse({"error": message or _status_text(status)}, status_code=status)
        try:
            return self.render(request, "error.html", status=status, status_code=status, message=message)
        except Exception:  # noqa: BLE001 - the error page itself failed: plain text
            log.exception("the error page failed")
            return HTMLResponse("<h1>Something went wrong</h1>", status_code=status)

    def secure_headers(self, request: Request, response: Response) -> None:
        host = request.headers.get("host", "")
        h = response.headers
        h["Content-Security-Policy"] = CSP.format(ws=f"ws://{host} wss://{host}" if host else "")
        h["X-Frame-Options"] = "DENY"
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), geolocation=(), microphone=(self)"
        if not request.url.path.startswith("/static/"):
            h["Cache-Control"] = "no-store"
        state = getattr(request.state, "web", None)
        if state is not None and state.pre_csrf and state.session is None:
            response.set_cookie(PRE_COOKIE, state.pre_csrf, httponly=True, samesite="strict",
                                secure=self.services.secure_cookies, path="/")

    def login_cookies(self, response: Response, token: str) -> None:
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=self.services.secure_cookies, path="/")

    def clear_login(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")

    def lang_cookie(self, response: Response, lang: str) -> None:
        response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_AGE_S, httponly=True,
                            samesite="strict", secure=self.services.secure_cookies, path="/")


def _status_text(status: int) -> str:
    return {400: "bad request", 401: "log in first", 403: "forbidden", 404: "not found",
            413: "too large", 422: "invalid request"}.get(status, "something went wrong")
