"""Settings: the people calls may be forwarded to, and the voicemail boxes.

Pages: GET /settings/people ; POST /settings/people (rows: key, name, number, hours;
`remove` = keys to delete; the row with an empty key is a new person) ;
GET /settings/mailboxes ; POST /settings/mailboxes (rows: key, name, number, email,
pin; `clear_pin`, `remove` = keys).
API: GET /api/settings/people, PUT /api/settings/people {"people": [...]} ;
GET /api/settings/mailboxes, PUT /api/settings/mailboxes {"mailboxes": [...]}.
A save publishes a new config version. PINs are stored only as scrypt hashes
(`hash_pin`) and never shown; an empty PIN field keeps the PIN. Mailbox greetings and
limits set elsewhere are kept as they are.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from firmware.errors import UsageError
from firmware.settings import hash_pin
from firmware.web.context import WebContext
from firmware.web.forms import form_lists
from firmware.web.settings_forms import address_list, hours_text, new_key, parse_hours, publish_change

router = APIRouter()

PEOPLE_COLUMNS = ("key", "name", "number", "hours")
BOX_COLUMNS = ("key", "name", "number", "email", "pin")
NEW = "new"  # the field suffix of the empty row that adds one


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _rows(lists: dict[str, list[str]], columns: tuple[str, ...]) -> list[dict[str, str]]:
    count = max((len(v) for v in lists.values()), default=0)
    return [{c: (lists[c][i] if i < len(lists[c]) else "").strip() for c in columns} for i in range(count)]


def _published_data(web: WebContext) -> dict[str, Any]:
    from firmware.web.configs import text_data

    return text_data(web.publisher.published_text())


# -- people ---------------------------------------------------------------------------
def save_people(web: WebContext, t: Any, rows: list[dict[str, str]], remove: set[str]) -> tuple[int | None, dict]:
    errors: dict[str, list[str]] = {}
    existing = set((_published_data(web).get("people") or {}).keys())
    wanted: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        key = row["key"]
        if key and key not in existing:
            continue  # a row for someone removed meanwhile
        if not key and not (row["name"] or row["number"] or row["hours"]):
            continue  # the empty "add" row
        field = key or NEW
        if key in remove:
            continue
        if not row["number"]:
            errors[f"number-{field}"] = [t("Write the number to dial.")]
        try:
            weekly = parse_hours(row["hours"])
        except ValueError:
            errors[f"hours-{field}"] = [t("Write days, then times: mon-fri 09:00-18:00; sat 10:00-12:00")]
            weekly = None
        if not key:
            key = new_key(row["name"], existing | {k for k, _ in wanted}, "person")
        wanted.append((key, {"name": row["name"] or None, "number": row["number"], "weekly": weekly,
                             "field": field}))
    if errors:
        return None, errors

    def change(data: dict[str, Any]) -> None:
        old = data.get("people") or {}
        people: dict[str, Any] = {}
        for key, row in wanted:
            before = old.get(key)
            entry: dict[str, Any] = dict(before) if isinstance(before, dict) else {}
            entry["number"] = row["number"]
            if row["name"]:
                entry["name"] = row["name"]
            else:
                entry.pop("name", None)
            hours = dict(entry.get("hours") or {})
            if row["weekly"]:
                hours["weekly"] = row["weekly"]
            else:
                hours.pop("weekly", None)
            if hours:
                entry["hours"] = hours
            else:
                entry.pop("hours", None)
            people[key] = entry
        data["people"] = people

    fields = {}
    for key, row in wanted:
        f = row["field"]
        fields.update({f"people.{key}.number": f"number-{f}", f"people.{key}.name": f"name-{f}",
                       f"people.{key}.hours": f"hours-{f}", f"people.{key}": f"number-{f}"})
    return publish_change(web, change, "people", fields, t)


def people_rows(web: WebContext) -> list[dict[str, str]]:
    settings = web.settings()
    data = _published_data(web).get("people") or {}
    out = []
    for key, person in settings.people.items():
        raw = data.get(key)
        hours = raw.get("hours") if isinstance(raw, dict) else None
        out.append({"key": key, "name": person.name or "", "number": person.number, "hours": hours_text(hours)})
    return out


def _people_page(request: Request, web: WebContext, rows: list[dict[str, str]], errors: dict,
                 status: int = 200) -> Response:
    t = web.request_state(request).t
    if not any(not r["key"] for r in rows):
        rows = [*rows, {"key": "", "name": "", "number": "", "hours": ""}]
    return web.render(request, "settings_people.html", status=status, rows=rows, errors=errors, title=t("People"))


@router.get("/settings/people", include_in_schema=False)
async def people_page(request: Request) -> Response:
    web = _web(request)
    return _people_page(request, web, people_rows(web), {})


@router.post("/settings/people", include_in_schema=False)
async def people_form(request: Request) -> Response:
    web = _web(request)
    lists = await form_lists(request, (*PEOPLE_COLUMNS, "remove"))
    rows = _rows({c: lists[c] for c in PEOPLE_COLUMNS}, PEOPLE_COLUMNS)
    version, errors = save_people(web, web.request_state(request).t, rows, set(lists["remove"]))
    if version is None:
        return _people_page(request, web, rows, errors, 422)
    return RedirectResponse("/settings/people?notice=saved", status_code=303)


class PersonIn(BaseModel):
    key: str = ""
    name: str = ""
    number: str
    hours: str = ""  # "mon-fri 09:00-18:00; sat 10:00-12:00"; empty = any time


class PeopleIn(BaseModel):
    people: list[PersonIn]


def _api_result(version: int | None, errors: dict) -> Response:
    if version is None:
        return JSONResponse({"error": "invalid", "fields": errors}, status_code=422)
    return JSONResponse({"version": version})


@router.get("/api/settings/people", tags=["settings"], summary="People calls may be forwarded to")
async def api_people(request: Request) -> dict[str, Any]:
    return {"people": people_rows(_web(request))}


@router.put("/api/settings/people", tags=["settings"], summary="Replace the people (publishes a version)")
async def api_put_people(request: Request, body: PeopleIn) -> Response:
    web = _web(request)
    existing = set((_published_data(web).get("people") or {}).keys())
    given = {p.key for p in body.people if p.key}
    rows = [{"key": p.key if p.key in existing else "", "name": p.name or p.key, "number": p.number,
             "hours": p.hours} for p in body.people]
    return _api_result(*save_people(web, web.request_state(request).t, rows, existing - given))


# -- mailboxes ------------------------------------------------------------------------
def save_mailboxes(web: WebContext, t: Any, rows: list[dict[str, str]], remove: set[str],
                   clear_pin: set[str]) -> tuple[int | None, dict]:
    errors: dict[str, list[str]] = {}
    existing = set((_published_data(web).get("mailboxes") or {}).keys())
    wanted: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        key = row["key"]
        if (key and key not in existing) or key in remove:
            continue
        if not key and not any(row[c] for c in ("name", "number", "email", "pin")):
            continue
        field = key or NEW
        if not row["name"]:
            errors[f"name-{field}"] = [t("Give the mailbox a name.")]
        pin_hash = None
        if row["pin"]:
            try:
                pin_hash = hash_pin(row["pin"])
            except UsageError:
                errors[f"pin-{field}"] = [t("A PIN is 4 to 12 digits.")]
        if not key:
            key = new_key(row["name"], existing | {k for k, _ in wanted}, "mailbox")
        wanted.append((key, {"name": row["name"], "number": row["number"] or None, "email": address_list(row["email"]),
                             "pin_hash": pin_hash, "clear": key in clear_pin, "field": field}))
    if errors:
        return None, errors

    def change(data: dict[str, Any]) -> None:
        old = data.get("mailboxes") or {}
        boxes: dict[str, Any] = {}
        for key, row in wanted:
            entry: dict[str, Any] = dict(old.get(key) or {})
            entry["name"] = row["name"]
            for name in ("number", "email"):
                if row[name]:
                    entry[name] = row[name]
                else:
                    entry.pop(name, None)
            if row["pin_hash"]:
                entry["pin_hash"] = row["pin_hash"]
            elif row["clear"]:
                entry.pop("pin_hash", None)
            boxes[key] = entry
        data["mailboxes"] = boxes

    fields = {}
    for key, row in wanted:
        f = row["field"]
        fields.update({f"mailboxes.{key}.name": f"name-{f}", f"mailboxes.{key}.number": f"number-{f}",
                       f"mailboxes.{key}.email": f"email-{f}", f"mailboxes.{key}.pin_hash": f"pin-{f}",
                       f"mailboxes.{key}": f"name-{f}"})
    return publish_change(web, change, "mailboxes", fields, t)


def mailbox_rows(web: WebContext) -> list[dict[str, Any]]:
    return [{"key": key, "name": box.name, "number": box.number or "", "email": ", ".join(box.email),
             "pin": "", "has_pin": box.pin_hash is not None}
            for key, box in web.settings().mailboxes.items()]


def _boxes_page(request: Request, web: WebContext, rows: list[dict[str, Any]], errors: dict,
                status: int = 200) -> Response:
    t = web.request_state(request).t
    pins = {key: box.pin_hash is not None for key, box in web.settings().mailboxes.items()}
    rows = [{**r, "pin": "", "has_pin": pins.get(r["key"], False)} for r in rows]  # never echo a PIN
    if not any(not r["key"] for r in rows):
        rows = [*rows, {"key": "", "name": "", "number": "", "email": "", "pin": "", "has_pin": False}]
    return web.render(request, "settings_mailboxes.html", status=status, rows=rows, errors=errors,
                      smtp=web.settings().smtp is not None, title=t("Mailboxes"))


@router.get("/settings/mailboxes", include_in_schema=False)
async def boxes_page(request: Request) -> Response:
    web = _web(request)
    return _boxes_page(request, web, mailbox_rows(web), {})


@router.post("/settings/mailboxes", include_in_schema=False)
async def boxes_form(request: Request) -> Response:
    web = _web(request)
    lists = await form_lists(request, (*BOX_COLUMNS, "remove", "clear_pin"))
    rows = _rows({c: lists[c] for c in BOX_COLUMNS}, BOX_COLUMNS)
    version, errors = save_mailboxes(web, web.request_state(request).t, rows, set(lists["remove"]),
                                     set(lists["clear_pin"]))
    if version is None:
        return _boxes_page(request, web, rows, errors, 422)
    return RedirectResponse("/settings/mailboxes?notice=saved", status_code=303)


class MailboxIn(BaseModel):
    key: str = ""
    name: str
    number: str = ""
    email: list[str] = []
    pin: str = ""  # empty keeps the PIN
    clear_pin: bool = False


class MailboxesIn(BaseModel):
    mailboxes: list[MailboxIn]


@router.get("/api/settings/mailboxes", tags=["settings"], summary="Mailboxes (PINs are never shown)")
async def api_boxes(request: Request) -> dict[str, Any]:
    return {"mailboxes": [{k: v for k, v in r.items() if k != "pin"} for r in mailbox_rows(_web(request))]}


@router.put("/api/settings/mailboxes", tags=["settings"], summary="Replace the mailboxes (publishes a version)")
async def api_put_boxes(request: Request, body: MailboxesIn) -> Response:
    web = _web(request)
    existing = set((_published_data(web).get("mailboxes") or {}).keys())
    given = {b.key for b in body.mailboxes if b.key}
    rows = [{"key": b.key if b.key in existing else "", "name": b.name, "number": b.number,
             "email": ", ".join(b.email), "pin": b.pin} for b in body.mailboxes]
    clear = {b.key for b in body.mailboxes if b.clear_pin}
    return _api_result(*save_mailboxes(web, web.request_state(request).t, rows, existing - given, clear))
