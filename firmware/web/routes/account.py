"""First run, login, logout, language, and the session's CSRF token for API clients.

Pages: GET/POST /setup (only before an owner exists), GET/POST /login, POST /logout,
POST /lang. API: POST /api/setup, POST /api/login, POST /api/logout, GET /api/session.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from firmware.settings import COUNTRY_DEFAULTS
from firmware.web.auth import LoginRefused, check_new_password
from firmware.web.context import SESSION_COOKIE, WebContext, client_source, wants_json
from firmware.web.forms import form_values
from firmware.web.i18n import UI_LANGUAGES

router = APIRouter()

COUNTRY_ZONES = {"us": "America/New_York", "tw": "Asia/Taipei", "cn": "Asia/Shanghai",
                 "uk": "Europe/London", "de": "Europe/Berlin", "jp": "Asia/Tokyo"}
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def country_names(t: Any) -> dict[str, str]:
    names = {"us": t("United States"), "tw": t("Taiwan"), "cn": t("China"),
             "uk": t("United Kingdom"), "de": t("Germany"), "jp": t("Japan")}
    return {code: names[code] for code in COUNTRY_DEFAULTS}


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# -- first run ---------------------------------------------------------------------------

class SetupIn(BaseModel):
    password: str
    password2: str
    business: str
    timezone: str
    country: str
    language: str


def _setup_errors(web: WebContext, t: Any, v: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    problem = check_new_password(v.get("password", ""), t)
    if problem:
        errors["password"] = problem
    elif v.get("password") != v.get("password2"):
        errors["password2"] = t("The two passwords are not the same.")
    name = v.get("business", "").strip()
    if not name or len(name) > 80:
        errors["business"] = t("Write the business name (1 to 80 characters).")
    if v.get("timezone") not in ZONES:
        errors["timezone"] = t("Choose a time zone from the list.")
    if v.get("country") not in COUNTRY_DEFAULTS:
        errors["country"] = t("Choose the country of the phone line.")
    if v.get("language") not in UI_LANGUAGES:
        errors["language"] = t("Choose a language.")
    return errors


def _apply_setup(web: WebContext, v: dict[str, str]) -> str:
    lang = v["language"]

    def change(data: dict[str, Any]) -> None:
        business = data.setdefault("business", {})
        business.update(name=v["business"].strip(), timezone=v["timezone"], country=v["country"])
        languages = list(business.get("languages") or ["en"])
        if lang not in languages:
            languages.insert(0, lang)
        business["languages"] = languages
        business["default_language"] = lang

    web.publisher.edit(change, "first-run setup")
    token, _ = web.auth.create_owner(v["password"])
    web._owner = True
    return token


@router.get("/setup", include_in_schema=False)
async def setup_page(request: Request) -> Response:
    web = _web(request)
    settings = web.settings()
    b = settings.business
    values = {"business": b.name, "timezone": b.timezone, "country": b.country,
              "language": web.request_state(request).lang}
    return web.render(request, "setup.html", values=values, errors={}, zones=ZONES,
                      countries=country_names(web.request_state(request).t))


@router.post("/setup", include_in_schema=False)
async def setup_submit(request: Request) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    v = await form_values(request, ("password", "password2", "business", "timezone", "country", "language"))
    errors = _setup_errors(web, t, v)
    if errors:
        shown = {k: v[k] for k in ("business", "timezone", "country", "language")}
        return web.render(request, "setup.html", status=422, values=shown, errors=errors,
                          zones=ZONES, countries=country_names(t))
    token = _apply_setup(web, v)
    response = RedirectResponse("/?notice=welcome", status_code=303)
    web.login_cookies(response, token)
    web.lang_cookie(response, v["language"])
    return response


@router.post("/api/setup", tags=["account"], summary="First-run setup: owner password and business")
async def api_setup(request: Request, body: SetupIn) -> Response:
    web = _web(request)
    errors = _setup_errors(web, web.request_state(request).t, body.model_dump())
    if errors:
        return JSONResponse({"error": "invalid", "fields": errors}, status_code=422)
    token = _apply_setup(web, body.model_dump())
    response = JSONResponse({"ok": True})
    web.login_cookies(response, token)
    return response


# -- login / logout ----------------------------------------------------------------------

def _refusal_text(t: Any, exc: LoginRefused) -> str:
    if exc.wait_ms:
        seconds = max(1, (exc.wait_ms + 999) // 1000)
        return t("Too many wrong passwords. Wait {seconds} seconds and try again.").format(seconds=seconds)
    return t("That password is not right.")


@router.get("/login", include_in_schema=False)
async def login_page(request: Request) -> Response:
    web = _web(request)
    if web.request_state(request).session is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return web.render(request, "login.html", error=None, next=_safe_next(request.query_params.get("next")))


@router.post("/login", include_in_schema=False)
async def login_submit(request: Request) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    v = await form_values(request, ("password", "next"))
    try:
        token, _ = web.auth.login(v["password"], client_source(request))
    except LoginRefused as exc:
        status = 429 if exc.wait_ms and str(exc) == "throttled" else 401
        return web.render(request, "login.html", status=status, error=_refusal_text(t, exc),
                          next=_safe_next(v["next"]))
    response = RedirectResponse(_safe_next(v["next"]), status_code=303)
    web.login_cookies(response, token)
    return response


class LoginIn(BaseModel):
    password: str


@router.post("/api/login", tags=["account"], summary="Log in; returns the CSRF token for later requests")
async def api_login(request: Request, body: LoginIn) -> Response:
    web = _web(request)
    try:
        token, session = web.auth.login(body.password, client_source(request))
    except LoginRefused as exc:
        return JSONResponse({"error": _refusal_text(web.request_state(request).t, exc),
                             "retry_after_ms": exc.wait_ms},
                            status_code=429 if str(exc) == "throttled" else 401)
    response = JSONResponse({"csrf": session.csrf})
    web.login_cookies(response, token)
    return response


@router.post("/logout", include_in_schema=False)
@router.post("/api/logout", tags=["account"], summary="End this session")
async def logout(request: Request) -> Response:
    web = _web(request)
    web.auth.logout(request.cookies.get(SESSION_COOKIE))
    response: Response = (JSONResponse({"ok": True}) if wants_json(request)
                          else RedirectResponse("/login?notice=logged_out", status_code=303))
    web.clear_login(response)
    return response


@router.get("/api/session", tags=["account"], summary="Whether logged in, the CSRF token, the language")
async def api_session(request: Request) -> dict[str, Any]:
    web = _web(request)
    state = web.request_state(request)
    return {"logged_in": state.session is not None, "csrf": state.csrf, "lang": state.lang,
            "set_up": web.has_owner()}


@router.post("/lang", include_in_schema=False)
async def set_language(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("lang", "next"))
    response = RedirectResponse(_safe_next(v["next"]), status_code=303)
    if v["lang"] in UI_LANGUAGES:
        web.lang_cookie(response, v["lang"])
    return response


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
