"""Hours & holidays: weekly opening ranges (several a day), holidays (a day, a range of
days, or every year), temporary closures, and each mailbox's temporary greeting with the
time it expires. Saving writes the draft; publishing is on the banner (`routes.history`).

Page: GET /hours ; POST /hours (the whole form).
API: GET /api/hours -> {"hours", "temporary", "problems"} ; PUT /api/hours {"hours", "temporary"}
(the `hours` section and {mailbox: temporary greeting or null}, as the config writes them).
The day/night switch of the dashboard is separate: it overrides these hours for a while.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from firmware.errors import ConfigError, ConfigProblem
from firmware.settings import problems as config_problems
from firmware.settings.hours import DAYS, expand_days
from firmware.web.configs import FILENAME, text_data, to_text
from firmware.web.context import N_, Refused, WebContext
from firmware.web.forms import form_lists, form_values, problems_by_field
from firmware.web.problemtext import say
from firmware.web.routes.history import draft_state

router = APIRouter()

BLANK_HOLIDAYS = 2  # empty rows offered under the holidays
BLANK_CLOSURES = 1
TEMP_PROMPT = "temporary_{box}"  # the prompt typed words for a temporary greeting become
ROW_FIELDS = ("h_name", "h_from", "h_to", "h_annual", "c_name", "c_from", "c_to")


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def by_day(hours: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Weekly ranges per day (mon..sun) as (start, end) texts, whatever the keys' grouping."""
    out: dict[str, list[tuple[str, str]]] = {d: [] for d in DAYS}
    for spec, ranges in _dict(hours.get("weekly")).items():
        try:
            days = expand_days(str(spec))
        except ValueError:
            continue
        for text in _list(ranges):
            start, _, end = str(text).partition("-")
            for d in days:
                out[DAYS[d]].append((start.strip(), end.strip()))
    return out


def weekly_of(days: dict[str, list[str]]) -> dict[str, list[str]]:
    """Per-day ranges written back with neighbouring equal days joined ("mon-fri")."""
    out: dict[str, list[str]] = {}
    i = 0
    while i < len(DAYS):
        ranges = days.get(DAYS[i], [])
        j = i
        while j + 1 < len(DAYS) and days.get(DAYS[j + 1], []) == ranges:
            j += 1
        if ranges:
            out[DAYS[i] if i == j else f"{DAYS[i]}-{DAYS[j]}"] = list(ranges)
        i = j + 1
    return out


def _languages(data: dict[str, Any]) -> list[str]:
    langs = _list(_dict(data.get("business")).get("languages"))
    return [str(x) for x in langs] or ["en"]


def _field_names(data: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for box in _dict(data.get("mailboxes")):
        names += [f"tg_{box}_prompt", f"tg_{box}_until"] + [f"tg_{box}_text_{lang}" for lang in _languages(data)]
    return names


def apply_form(data: dict[str, Any], single: dict[str, str], rows: dict[str, list[str]],
               weekly_rows: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """The hours form into the document; returns form errors (then nothing is written)."""
    errors: dict[str, str] = {}
    days: dict[str, list[str]] = {}
    for d in DAYS:
        ranges = []
        for start, end in weekly_rows.get(d, []):
            if bool(start) != bool(end):
                errors[f"w-{d}"] = "both"
            elif start:
                ranges.append(f"{start}-{end}")
        days[d] = ranges
    holidays = []
    for i, (name, first, last, annual) in enumerate(zip(*(rows.get(k, []) for k in ("h_name", "h_from", "h_to", "h_annual")))):
        if not (name.strip() or first or last):
            continue
        if not first:
            errors[f"h-{i}"] = "date"
            continue
        entry: dict[str, Any] = {"name": name.strip()} if name.strip() else {}
        entry.update({"date": first} if not last or last == first else {"from": first, "to": last})
        if annual == "annual":
            entry["annual"] = True
        holidays.append(entry)
    closures = []
    for i, (name, first, last) in enumerate(zip(*(rows.get(k, []) for k in ("c_name", "c_from", "c_to")))):
        if not (name.strip() or first or last):
            continue
        if not first or not last:
            errors[f"c-{i}"] = "both"
            continue
        entry = {"name": name.strip()} if name.strip() else {}
        entry.update({"from": first, "to": last})
        closures.append(entry)
    if errors:
        return errors
    hours = data.setdefault("hours", {})
    for key, value in (("weekly", weekly_of(days)), ("holidays", holidays), ("closures", closures)):
        if value:
            hours[key] = value
        else:
            hours.pop(key, None)
    for box_name, box in _dict(data.get("mailboxes")).items():
        _apply_temporary(data, box_name, _dict(box), single)
    return errors


def _apply_temporary(data: dict[str, Any], name: str, box: dict[str, Any], single: dict[str, str]) -> None:
    choice = single.get(f"tg_{name}_prompt", "")
    until = single.get(f"tg_{name}_until", "").strip()
    typed = {lang: single.get(f"tg_{name}_text_{lang}", "").strip() for lang in _languages(data)}
    typed = {k: v for k, v in typed.items() if v}
    greetings = box.setdefault("greetings", {})
    old = _dict(greetings.get("temporary"))
    if typed:
        pid = TEMP_PROMPT.format(box=name)
        prompts = data.setdefault("prompts", {})
        entry = _dict(prompts.get(pid))
        entry.update(typed)
        prompts[pid] = entry
        choice = pid
    if not choice:
        greetings.pop("temporary", None)
    else:
        temp: dict[str, Any] = {"file": old.get("file")} if choice == "file:" else {"prompt": choice}
        if until:
            temp["until"] = until
        greetings["temporary"] = temp
    if not greetings:
        box.pop("greetings", None)
    data["mailboxes"][name] = box


def _draft(web: WebContext) -> tuple[dict[str, Any], list[ConfigProblem]]:
    text = web.publisher.draft_text()
    try:
        return text_data(text), config_problems(text, FILENAME)
    except ConfigError as exc:
        raise Refused(500, "; ".join(p.message for p in exc.problems)) from None


def _fields(problems: list[ConfigProblem], data: dict[str, Any], t: Any) -> dict[str, list[str]]:
    hours = _dict(data.get("hours"))
    fields = {"hours": "", "hours.weekly": "weekly"}
    fields.update({f"hours.holidays[{i}]": f"h-{i}" for i in range(len(_list(hours.get("holidays"))))})
    fields.update({f"hours.closures[{i}]": f"c-{i}" for i in range(len(_list(hours.get("closures"))))})
    for box in _dict(data.get("mailboxes")):
        fields[f"mailboxes.{box}.greetings.temporary"] = f"tg-{box}"
        fields[f"prompts.{TEMP_PROMPT.format(box=box)}"] = f"tg-{box}"
    mine = [p for p in problems if p.path.startswith("hours") or ".greetings.temporary" in p.path
            or p.path.startswith("prompts.temporary_")]
    return {k: [say(m, t) for m in v] for k, v in problems_by_field(mine, fields).items()}


FORM_ERRORS = {"both": N_("Give both times, or neither."), "date": N_("Give the date (the first day)."),
               "both_dt": N_("Give when it starts and when it ends.")}


def _page(request: Request, web: WebContext, status: int = 200, form_errors: dict[str, str] | None = None) -> Response:
    t = web.request_state(request).t
    data, problems = _draft(web)
    fields = _fields(problems, data, t)
    for key, code in (form_errors or {}).items():
        message = FORM_ERRORS["both_dt" if key.startswith("c-") else code]
        fields.setdefault(key, []).append(t(message))
    hours = _dict(data.get("hours"))
    days = by_day(hours)
    zone_name = str(_dict(data.get("business")).get("timezone", "UTC"))
    now = dt.datetime.fromtimestamp(web.services.clock_ms() / 1000, dt.timezone.utc)
    try:
        local_now = now.astimezone(web.settings().business.zone).replace(tzinfo=None)
    except Exception:  # noqa: BLE001 - a broken published config: compare in UTC
        local_now = now.replace(tzinfo=None)
    prompts = _dict(data.get("prompts"))
    boxes = []
    for name, box in _dict(data.get("mailboxes")).items():
        temp = _dict(_dict(_dict(box).get("greetings")).get("temporary"))
        until = str(temp.get("until", ""))[:16]
        try:
            expired = bool(until) and dt.datetime.fromisoformat(until) <= local_now
        except ValueError:
            expired = False
        boxes.append({"key": name, "name": _dict(box).get("name", name), "temp": temp, "until": until,
                      "expired": expired, "texts": _dict(prompts.get(temp.get("prompt")))})
    return web.render(
        request, "hours.html", status=status, title=t("Hours & holidays"), days=days, day_names=_day_names(t),
        holidays=_list(hours.get("holidays")), closures=_list(hours.get("closures")),
        blank_holidays=BLANK_HOLIDAYS, blank_closures=BLANK_CLOSURES, fields=fields, boxes=boxes,
        prompts=[(p, (_dict(v).get(web.request_state(request).lang) or next(iter(_dict(v).values()), "")))
                 for p, v in prompts.items()],
        prompt_langs=_languages(data), zone_name=zone_name, **draft_state(web, t))


def _day_names(t: Any) -> dict[str, str]:
    return {"mon": t("Monday"), "tue": t("Tuesday"), "wed": t("Wednesday"), "thu": t("Thursday"),
            "fri": t("Friday"), "sat": t("Saturday"), "sun": t("Sunday")}


@router.get("/hours", include_in_schema=False)
async def hours_page(request: Request) -> Response:
    return _page(request, _web(request))


@router.post("/hours", include_in_schema=False)
async def hours_form(request: Request) -> Response:
    web = _web(request)
    data, _ = _draft(web)
    single = await form_values(request, _field_names(data))
    rows = await form_lists(request, ROW_FIELDS + tuple(f"w_{d}_{k}" for d in DAYS for k in ("start", "end")))
    weekly = {d: list(zip(rows[f"w_{d}_start"], rows[f"w_{d}_end"])) for d in DAYS}
    errors = apply_form(data, single, rows, weekly)
    if errors:
        return _page(request, web, 422, errors)
    web.publisher.save_draft(to_text(data))
    return RedirectResponse("/hours?notice=draft_saved", status_code=303)


@router.get("/api/hours", tags=["hours"], summary="The draft's hours, holidays, closures and temporary greetings")
async def api_hours(request: Request) -> dict[str, Any]:
    web = _web(request)
    data, problems = _draft(web)
    temporary = {name: _dict(_dict(box).get("greetings")).get("temporary")
                 for name, box in _dict(data.get("mailboxes")).items()}
    mine = [p for p in problems if p.path.startswith("hours") or ".greetings.temporary" in p.path]
    return {"hours": data.get("hours", {}), "temporary": temporary,
            "problems": [{"path": p.path, "message": p.message} for p in mine]}


@router.put("/api/hours", tags=["hours"], summary="Put the hours section (and temporary greetings) into the draft")
async def api_put_hours(request: Request) -> Response:
    web = _web(request)
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("hours", {}), dict):
        raise Refused(422, N_("Send {\"hours\": {...}} as the config writes it."))

    def change(data: dict[str, Any]) -> None:
        data["hours"] = body.get("hours", {})
        for name, temp in _dict(body.get("temporary")).items():
            box = _dict(_dict(data.get("mailboxes")).get(name))
            if not box:
                continue
            greetings = box.setdefault("greetings", {})
            if temp:
                greetings["temporary"] = temp
            else:
                greetings.pop("temporary", None)

    problems = web.publisher.edit_draft(change)
    mine = [p for p in problems if p.path.startswith("hours") or ".greetings.temporary" in p.path]
    return JSONResponse({"problems": [{"path": p.path, "message": p.message} for p in mine]})
