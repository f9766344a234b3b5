"""Settings: adding and removing phone lines (the `lines:` list of the config).

Pages: GET /settings/lines/new (the add-a-line form) ; POST /settings/lines (name,
backend, device_found, device, board, rings, transfer, entry) ; POST
/settings/lines/{name}/remove (the page asks to confirm first).
API: POST /api/settings/lines {name, backend, device, board, rings, transfer, entry} ;
DELETE /api/settings/lines/{name}. Each publishes a new config version.

Validation is the config's own: the new document goes through the same pydantic models
and cross-field checks as a YAML file (`ConfigPublisher.edit`), and each problem is
shown beside the field of the new line it names, in the page's language. The page only
refuses what the model cannot see: rings that are not a whole number, the last line.

A line removed while it rings or talks is not cut off: the running box finishes that
call, then stops the line (firmware.cli.lines_fleet); a line added answers from the
next ring on, with no restart.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from firmware.settings import problems as config_problems
from firmware.web.configs import FILENAME, text_data, to_text
from firmware.web.context import N_, WebContext
from firmware.web.forms import form_values, problems_by_field
from firmware.web.lines_edit import (LINE_FORM_FIELDS, LastLine, add_line, entry_from_form, line_field_map,
                                     remove_line)
from firmware.web.problemtext import say
from firmware.web.routes.settings_line import (BACKENDS, TRANSFERS, detected_devices, devices_in_use, entry_choices,
                                              line_page_with)
from firmware.web.settings_forms import publish_change, whole_number

router = APIRouter()

# The line checks' messages (firmware.settings.lines), re-said for the owner.
_LINE_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"^'(?P<name>[^']*)' is not a valid name", N_(
        "Start with a letter, then letters, digits, - or _ (no spaces), e.g. front-desk.")),
    (r"^'(?P<name>[^']+)' is also line \d+", N_("There is already a line called '{name}': choose another name.")),
    (r"^backend '\w+' needs 'device'", N_(
        "Choose or type the device: a serial port such as /dev/ttyACM0 for a modem, a sound card such as hw:1 "
        "for an FXO board.")),
    (r"^'(?P<device>[^']+)' is also the device of line \d+", N_(
        "Another line already uses '{device}': one device can answer only one line.")),
    (r"^the pin map '(?P<board>[^']+)' is also used by line \d+", N_(
        "Another line's FXO board already uses the pin map '{board}': each board needs its own.")),
))


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _say(message: str, t: Any) -> str:
    for pattern, template in _LINE_SHAPES:
        m = pattern.match(message)
        if m:
            return str(t(template)).format(**m.groupdict())
    return say(message, t)


def save_new_line(web: WebContext, t: Any, values: dict[str, str]) -> tuple[int | None, dict[str, list[str]]]:
    """Publish the config with one more line; (None, errors by field) when refused."""
    errors: dict[str, list[str]] = {}
    if not values.get("name", "").strip():
        errors["name"] = [t("Give the line a name, e.g. front-desk.")]
    if values.get("backend") not in BACKENDS:
        errors["backend"] = [t("Choose one of the listed kinds of line.")]
    if values.get("transfer") and values["transfer"] not in TRANSFERS:
        errors["transfer"] = [t("Choose how your line transfers calls.")]
    if values.get("rings", "").strip():
        try:
            whole_number(values["rings"], 1, 15)
        except ValueError:
            errors["rings"] = [t("Write a whole number from 1 to 15, or leave it empty.")]
    entry = entry_from_form({k: v for k, v in values.items() if k not in errors})
    index = len(web.settings().lines) or 1  # a one-line config becomes [line1, new]
    fields = line_field_map(index)
    if errors:  # not published; still say everything else the config check finds
        data = text_data(web.publisher.published_text())
        add_line(data, entry)
        problems = problems_by_field(config_problems(to_text(data), FILENAME), fields)
    else:
        version, problems = publish_change(web, lambda data: add_line(data, entry),
                                           f"line {entry.get('name')} added", fields)
        if version is not None:
            return version, {}
    for field, messages in problems.items():
        if field not in errors:  # the page's own word on a field is the clearer one
            errors[field] = [_say(m, t) for m in messages]
    return None, errors


def drop_line(web: WebContext, t: Any, name: str) -> tuple[int | None, dict[str, list[str]]]:
    names = [entry.name for entry in web.settings().lines]
    if name not in names:
        return None, {"": [t("There is no line called '{name}'.").format(name=name)]}
    if len(names) <= 1:
        return None, {"": [t("The box needs at least one line: add another before removing this one.")]}

    def change(data: dict[str, Any]) -> None:
        remove_line(data, name)

    try:
        version, problems = publish_change(web, change, f"line {name} removed", {})
    except (KeyError, LastLine):  # the file changed under us since the page was drawn
        return None, {"": [t("There is no line called '{name}'.").format(name=name)]}
    return version, {field: [_say(m, t) for m in messages] for field, messages in problems.items()}


EMPTY_FORM = {"name": "", "backend": "sim", "device": "", "device_found": "", "board": "", "rings": "",
              "transfer": "", "entry": ""}


def _add_page(request: Request, web: WebContext, values: dict[str, str], errors: dict[str, list[str]],
              status: int = 200) -> Response:
    t = web.request_state(request).t
    settings = web.settings()
    found = detected_devices()
    used = devices_in_use(settings, found["modem"] + found["fxo"])
    nodes = entry_choices(settings, t)
    return web.render(request, "settings_line_add.html", status=status, v=values, errors=errors,
                      backends=BACKENDS, devices=found, used=used, nodes=nodes,
                      shared_entry=settings.flow.entry, line=settings.line, title=t("Add a line"))


@router.get("/settings/lines/new", include_in_schema=False)
async def add_page(request: Request) -> Response:
    web = _web(request)
    return _add_page(request, web, dict(EMPTY_FORM), {})


@router.post("/settings/lines", include_in_schema=False)
async def add_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, (*LINE_FORM_FIELDS, "device_found"))
    v["device"] = v["device"].strip() or v["device_found"].strip()
    version, errors = save_new_line(web, web.request_state(request).t, v)
    if version is None:
        return _add_page(request, web, v, errors, 422)
    name = v["name"].strip()
    return RedirectResponse(f"/settings/line?notice=line_added&line={name}", status_code=303)


@router.post("/settings/lines/{name}/remove", include_in_schema=False)
async def remove_form(request: Request, name: str) -> Response:
    web = _web(request)
    version, errors = drop_line(web, web.request_state(request).t, name)
    if version is None:
        return line_page_with(request, web, errors, 422)
    return RedirectResponse("/settings/line?notice=line_removed", status_code=303)


class NewLineIn(BaseModel):
    name: str
    backend: str = "sim"
    device: str = ""
    board: str = ""
    rings: int | None = None
    transfer: str = ""
    entry: str = ""


def _api_result(version: int | None, errors: dict[str, list[str]]) -> Response:
    if version is None:
        return JSONResponse({"error": "invalid", "fields": errors}, status_code=422)
    return JSONResponse({"version": version})


@router.post("/api/settings/lines", tags=["settings"], summary="Add a phone line (publishes a version)")
async def api_add(request: Request, body: NewLineIn) -> Response:
    web = _web(request)
    values = {**body.model_dump(), "rings": "" if body.rings is None else str(body.rings)}
    return _api_result(*save_new_line(web, web.request_state(request).t, values))


@router.delete("/api/settings/lines/{name}", tags=["settings"],
               summary="Remove a phone line after its call in progress (publishes a version)")
async def api_remove(request: Request, name: str) -> Response:
    web = _web(request)
    return _api_result(*drop_line(web, web.request_state(request).t, name))
