"""Settings: integrations -- webhooks (generic, LINE, Telegram) and the page's own address.

Pages: GET /settings/integrations ; POST /settings/integrations/page_url (page_url) ;
POST /settings/integrations/hook (key = the hook's name, empty for a new one; name,
preset, url, secret, rotate_secret, token, target, events (repeated), enabled, language) ;
POST /settings/integrations/{name}/test (send a test event now, show the answer) ;
POST /settings/integrations/{name}/delete ;
POST /settings/integrations/{name}/resend (settings_deliveries.py).
API: GET /api/settings/webhooks ; POST /api/settings/webhooks/{name}/test ;
POST /api/settings/webhooks/{name}/resend.

Every save publishes a new config version through the same config check as
`ivrbox config check`; what it refuses is shown beside the field it concerns and nothing
is published. Secrets and tokens are never sent back to the page once saved: it shows
"set", an empty field keeps them. A secret the page generates (a new generic hook with
no secret typed, or "rotate") is shown once, right after saving, so the owner can copy
it to the receiver; the redirect carries a one-time token, not the secret.
Failed deliveries are listed under their hook (the newest 20, with how many more there
are), each with "send again", and "send all again" for every one; see settings_deliveries.py.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from firmware.errors import ConfigError
from firmware.notify.webhook import send_test_event
from firmware.settings import EVENTS, PRESETS
from firmware.web.context import N_, Refused, WebContext
from firmware.web.forms import form_lists, form_values, problems_by_field
from firmware.web.routes.settings_deliveries import resent_rows, undelivered, undelivered_totals
from firmware.web.settings_forms import new_key, publish_change

router = APIRouter()

NEW = "new"  # the field suffix of the form that adds a hook
SECRET_BYTES = 32  # a generated secret: 43 URL-safe characters
MAX_REVEALS = 20  # generated secrets waiting to be shown once (per process)
LANGUAGES = ("", "en", "zh-TW")
HOOK_FIELDS = ("key", "name", "preset", "url", "secret", "rotate_secret", "token", "target", "enabled",
               "language")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")

# The config check's messages about a whole hook, said in the owner's words and placed
# beside the field they concern (the check names only the hook).
_HOOK_SHAPES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple((re.compile(p), m, f) for p, m, f in (
    (r"needs url", N_("Write the address events are sent to."), "url"),
    (r"needs secret", N_("A generic hook needs a secret."), "secret"),
    (r"needs token", N_("Paste the token."), "token"),
    (r"needs target", N_("Write who receives the messages."), "target"),
    (r"is not a LINE user", N_("Not a LINE user, group or room id (U, C or R and 32 hex digits)."), "target"),
    (r"is not a Telegram bot token", N_("Not a Telegram bot token (digits, ':' and the key from @BotFather)."),
     "token"),
    (r"is not a Telegram chat id", N_("Not a Telegram chat id (a number such as -1001234567890, or @channel)."),
     "target"),
    (r"is not an http:// or https:// address", N_("Write an address starting with http:// or https://."), "url"),
    (r"put no user name or password", N_("Put no user name or password in the address."), "url"),
    (r"at least 16 characters", N_("A secret has at least 16 characters."), "secret"),
))


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _published_hooks(web: WebContext) -> dict[str, Any]:
    from firmware.web.configs import text_data

    hooks = text_data(web.publisher.published_text()).get("webhooks") or {}
    return hooks if isinstance(hooks, dict) else {}


def _placed(t: Any, errors: dict[str, list[str]], field: str) -> dict[str, list[str]]:
    """Config problems of one hook, re-said and moved beside their field."""
    out: dict[str, list[str]] = {}
    for name, messages in errors.items():
        for message in messages:
            target = name
            for pattern, said, where in _HOOK_SHAPES:
                if pattern.search(message):
                    message, target = t(said), (f"{where}-{field}" if name.endswith(field) else name)
                    break
            out.setdefault(target, []).append(message)
    return out


# -- saving a hook ----------------------------------------------------------------------
def save_hook(web: WebContext, t: Any, v: dict[str, str], events: list[str]
              ) -> tuple[int | None, dict[str, list[str]], str | None, str]:
    """Publish one hook; returns (version, errors, generated secret or None, hook name)."""
    existing = _published_hooks(web)
    key = v["key"]
    if key and key not in existing:
        raise Refused(404, N_("That webhook no longer exists."))
    field = key or NEW
    errors: dict[str, list[str]] = {}
    name = key or v["name"].strip()
    if not key and name:
        if not _NAME.match(name):
            errors[f"name-{field}"] = [t("Start with a letter, then letters, digits, _ or -.")]
        elif name in existing:
            errors[f"name-{field}"] = [t("There already is a webhook of this name.")]
    if not name:
        name = new_key(v["preset"], existing, "hook")
    if v["preset"] not in PRESETS:
        errors[f"preset-{field}"] = [t("Choose one of the listed kinds.")]
    if v["language"] not in LANGUAGES:
        errors[f"language-{field}"] = [t("Choose one of the listed languages.")]
    chosen = [e for e in events if e in EVENTS]
    if not chosen:
        errors[f"events-{field}"] = [t("Choose at least one event, or turn the hook off.")]
    if errors:
        return None, errors, None, name
    old = existing.get(key) if key else None
    old = dict(old) if isinstance(old, dict) else {}
    generated: str | None = None
    hook: dict[str, Any] = {k: old[k] for k in ("timeout_s",) if k in old}
    hook["preset"] = v["preset"]
    if v["preset"] == "generic":
        hook["url"] = v["url"].strip()
        secret = v["secret"].strip() or (None if v["rotate_secret"] else old.get("secret"))
        if secret is None:
            secret = generated = secrets.token_urlsafe(SECRET_BYTES)
        hook["secret"] = secret
    else:
        token = v["token"].strip() or (old.get("token") if old.get("preset") == v["preset"] else None)
        if token is not None:
            hook["token"] = token
        hook["target"] = v["target"].strip()
        if old.get("api_base") and old.get("preset") == v["preset"]:
            hook["api_base"] = old["api_base"]
    if set(chosen) != set(EVENTS):
        hook["events"] = [e for e in EVENTS if e in chosen]
    hook["enabled"] = bool(v["enabled"])
    if v["language"]:
        hook["language"] = v["language"]

    def change(data: dict[str, Any]) -> None:
        hooks = data.get("webhooks")
        hooks = dict(hooks) if isinstance(hooks, dict) else {}
        hooks[name] = hook
        data["webhooks"] = hooks

    p = f"webhooks.{name}"
    fields = {p: f"preset-{field}", f"{p}.preset": f"preset-{field}", f"{p}.url": f"url-{field}",
              f"{p}.secret": f"secret-{field}", f"{p}.token": f"token-{field}", f"{p}.target": f"target-{field}",
              f"{p}.events": f"events-{field}", f"{p}.language": f"language-{field}",
              f"{p}.enabled": f"enabled-{field}", "webhooks": f"name-{field}"}
    version, problems = publish_change(web, change, f"webhook {name}", fields, t)
    return version, _placed(t, problems, field), generated if version is not None else None, name


def delete_hook(web: WebContext, name: str) -> int:
    if name not in _published_hooks(web):
        raise Refused(404, N_("That webhook no longer exists."))

    def change(data: dict[str, Any]) -> None:
        hooks = dict(data.get("webhooks") or {})
        hooks.pop(name, None)
        if hooks:
            data["webhooks"] = hooks
        else:
            data.pop("webhooks", None)

    return web.publisher.edit(change, f"webhook {name} removed")


# -- reading ----------------------------------------------------------------------------
def hook_rows(web: WebContext) -> list[dict[str, Any]]:
    """The hooks as the page shows them: never a secret or token, only whether one is set."""
    rows = []
    for name, hook in web.settings().webhooks.items():
        rows.append({"key": name, "name": name, "preset": hook.preset, "url": hook.url or "",
                     "target": hook.target or "", "events": list(hook.events or EVENTS),
                     "enabled": hook.enabled, "language": hook.language or "",
                     "has_secret": hook.secret is not None, "has_token": hook.token is not None})
    return rows


def _blank() -> dict[str, Any]:
    return {"key": "", "name": "", "preset": "generic", "url": "", "target": "", "events": list(EVENTS),
            "enabled": True, "language": "", "has_secret": False, "has_token": False}


def _reveals(request: Request) -> dict[str, tuple[str, str]]:
    reveals = getattr(request.app.state, "hook_reveals", None)
    if reveals is None:
        reveals = request.app.state.hook_reveals = {}
    return reveals


def _page(request: Request, web: WebContext, *, editing: dict[str, Any] | None = None,
          errors: dict[str, list[str]] | None = None, tests: dict[str, Any] | None = None,
          page_url: str | None = None, status: int = 200) -> Response:
    t = web.request_state(request).t
    rows = hook_rows(web)
    if editing is not None:
        known = {r["key"]: r for r in rows}
        base = known.get(editing["key"], _blank())
        editing = {**base, **editing, "has_secret": base["has_secret"], "has_token": base["has_token"]}
        rows = [editing if r["key"] == editing["key"] else r for r in rows]
    adding = editing if editing is not None and not editing["key"] else _blank()
    reveal = None
    token = request.query_params.get("reveal")
    if token:
        reveal = _reveals(request).pop(token, None)
    settings = web.settings()
    return web.render(request, "settings_integrations.html", status=status, hooks=rows, adding=adding,
                      errors=errors or {}, tests=tests or {}, dead=undelivered(web),
                      dead_total=undelivered_totals(web), events=EVENTS,
                      resent=resent_rows(web, request.query_params.get("resent")),
                      presets=PRESETS, reveal=reveal, title=t("Integrations"),
                      page_url=settings.page_url or "" if page_url is None else page_url)


@router.get("/settings/integrations", include_in_schema=False)
async def page(request: Request) -> Response:
    return _page(request, _web(request))


@router.post("/settings/integrations/hook", include_in_schema=False)
async def hook_form(request: Request) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    v = await form_values(request, HOOK_FIELDS)
    events = (await form_lists(request, ("events",)))["events"]
    version, errors, generated, name = save_hook(web, t, v, events)
    if version is None:
        editing = {**{k: v[k] for k in ("key", "name", "preset", "url", "target", "language")},
                   "events": events, "enabled": bool(v["enabled"])}
        return _page(request, web, editing=editing, errors=errors, status=422)
    url = f"/settings/integrations?notice=saved#hook-{name}"
    if generated:
        reveals = _reveals(request)
        while len(reveals) >= MAX_REVEALS:
            reveals.pop(next(iter(reveals)))
        token = secrets.token_urlsafe(16)
        reveals[token] = (name, generated)
        url = f"/settings/integrations?notice=saved&reveal={token}#hook-{name}"
    return RedirectResponse(url, status_code=303)


@router.post("/settings/integrations/page_url", include_in_schema=False)
async def page_url_form(request: Request) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    value = (await form_values(request, ("page_url",)))["page_url"].strip()

    def change(data: dict[str, Any]) -> None:
        if value:
            data["page_url"] = value
        else:
            data.pop("page_url", None)

    version, errors = publish_change(web, change, "page address", {"page_url": "page_url"}, t)
    if version is None:
        errors = {k: [t("Write an address starting with http:// or https://.") if "http://" in m else m
                      for m in ms] for k, ms in errors.items()}
        return _page(request, web, errors=errors, page_url=value, status=422)
    return RedirectResponse("/settings/integrations?notice=saved", status_code=303)


@router.post("/settings/integrations/{name}/delete", include_in_schema=False)
async def delete_form(request: Request, name: str) -> Response:
    web = _web(request)
    try:
        delete_hook(web, name)
    except ConfigError as exc:
        return _page(request, web, errors=problems_by_field(exc.problems, {}), status=422)
    return RedirectResponse("/settings/integrations?notice=saved", status_code=303)


async def run_test(web: WebContext, name: str) -> dict[str, Any]:
    settings = web.settings()
    hook = settings.webhooks.get(name)
    if hook is None:
        raise Refused(404, N_("That webhook no longer exists."))
    result = await send_test_event(hook, settings)
    return {"ok": result.ok, "status": result.status, "body": result.body, "error": result.error,
            "elapsed_ms": result.elapsed_ms}


@router.post("/settings/integrations/{name}/test", include_in_schema=False)
async def test_form(request: Request, name: str) -> Response:
    web = _web(request)
    return _page(request, web, tests={name: await run_test(web, name)})


@router.get("/api/settings/webhooks", tags=["settings"], summary="Webhooks (secrets and tokens never shown)")
async def api_hooks(request: Request) -> dict[str, Any]:
    web = _web(request)
    dead, totals = undelivered(web), undelivered_totals(web)
    return {"webhooks": [{**r, "failed": dead.get(r["key"], []), "failed_total": totals.get(r["key"], 0)}
                         for r in hook_rows(web)]}


@router.post("/api/settings/webhooks/{name}/test", tags=["settings"], summary="Send a test event now")
async def api_test(request: Request, name: str) -> Response:
    return JSONResponse(await run_test(_web(request), name))
