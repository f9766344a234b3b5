"""Settings: the phone line (backend, device, rings, transfer, entry) and the mail server.

Pages: GET /settings/line ; POST /settings/line (backend, device, rings, transfer, entry) ;
GET /settings/email ; POST /settings/email (host, port, security, username, password,
forget_password, sender, attach_as) ; POST /settings/email/off ; POST /settings/email/test (to).
API: PUT /api/settings/line ; PUT /api/settings/smtp ; DELETE /api/settings/smtp ;
POST /api/settings/smtp/test {"to"}.
Each save publishes a new config version (history, rollback); a value the config check
refuses is shown beside its field and nothing is published. The SMTP password is never
sent back to the page: an empty password field keeps the saved one.

A line's entry (the step its calls start at; empty = the shared `flow.entry`) is
checked by the config's own models, as on the add-a-line form. The one line of a box
with only `line:` gets an entry by becoming `lines: [line1]` (lines_edit.line_entries),
so the running box sees the same line and does not restart it.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from firmware.errors import IvrboxError
from firmware.notify.attachment import FORMATS, available_formats
from firmware.notify.email import send_test_email
from firmware.notify.notifier import smtp_config
from firmware.settings import Settings, devices, line_list
from firmware.web.context import WebContext
from firmware.web.forms import form_values
from firmware.web.lines_edit import line_entries
from firmware.web.problemtext import say
from firmware.web.settings_forms import publish_change, whole_number

router = APIRouter()

BACKENDS = ("sim", "modem", "fxo")
TRANSFERS = ("transfer", "conference")
SECURITIES = ("starttls", "tls", "none")
SERIAL_GLOBS = ("serial/by-id/*", "ttyACM*", "ttyUSB*")  # under /dev; by-id first: the stable name
ASOUND_CARDS = Path("/proc/asound/cards")
LINE_FIELDS = {"line.backend": "backend", "line.device": "device", "line.rings": "rings", "line.transfer": "transfer",
               "line": "device"}
SMTP_FIELDS = {"smtp.host": "host", "smtp.port": "port", "smtp.security": "security",
               "smtp.username": "username", "smtp.password": "password", "smtp.sender": "sender",
               "smtp.attach_as": "attach_as",
               "smtp": "host"}


def _web(request: Request) -> WebContext:
    return request.app.state.web


def detected_devices() -> dict[str, list[str]]:
    """Serial ports (modems) and sound cards (FXO boards) this machine has now. A port
    with a /dev/serial/by-id name is offered by that name only (it survives re-plugging
    into another USB socket; ttyACM0 and its by-id link are one modem)."""
    ports: dict[str, str] = {}  # the real port -> the name offered
    for pattern in SERIAL_GLOBS:
        for path in sorted(glob.glob(str(devices.DEV / pattern))):
            name = "/dev/" + Path(path).relative_to(devices.DEV).as_posix()
            ports.setdefault(devices.same_port(name), name)
    cards = []
    try:
        for text in ASOUND_CARDS.read_text(encoding="utf-8").splitlines():
            head = text.strip().split(" ", 1)[0]
            if head.isdigit():
                cards.append(f"hw:{head}")
    except OSError:
        pass
    return {"modem": sorted(ports.values()), "fxo": cards}


def devices_in_use(settings: Any, offered: list[str]) -> dict[str, str]:
    """Offered device -> the line that already has it, comparing real ports (a line set
    to /dev/ttyACM0 holds /dev/serial/by-id/usb-... too)."""
    taken = {devices.same_port(e.device): e.name for e in line_list(settings) if e.backend != "sim" and e.device}
    return {d: taken[devices.same_port(d)] for d in offered if devices.same_port(d) in taken}


# -- the line -----------------------------------------------------------------------
def entry_choices(settings: Settings, t: Any) -> list[tuple[str, str]]:
    """(node id, what kind of step, in the page's words) of every step a line's calls may
    start at: the owner knows "Opening hours", not the config's `schedule`."""
    from firmware.web.routes.menus import type_labels

    labels = type_labels(t)
    kinds = ((node_id, getattr(node, "type", "")) for node_id, node in settings.flow.nodes.items())
    return [(node_id, labels.get(kind, kind)) for node_id, kind in kinds]


def _field_map(web: WebContext, line_name: str | None) -> dict[str, str]:
    """Config paths -> form fields: `line:`, and the edited item of `lines:`."""
    names = [entry.name for entry in web.settings().lines]
    here = f"lines[{names.index(line_name) if line_name in names else 0}]"
    return {**LINE_FIELDS, **{f"{here}.{name}": name for name in ("backend", "device", "rings", "transfer", "entry")},
            here: "device"}


def save_line(web: WebContext, t: Any, values: dict[str, Any],
              line_name: str | None = None) -> tuple[int | None, dict[str, list[str]]]:
    """Save the line form: the one line (`line:`), or the named entry of `lines:`. Without
    an "entry" value (the API left it out) the line's entry stays as it is."""
    errors: dict[str, list[str]] = {}
    entry_node = values.get("entry")
    if entry_node is not None:
        entry_node = entry_node.strip()
    if values["backend"] not in BACKENDS:
        errors["backend"] = [t("Choose one of the listed kinds of line.")]
    if values["transfer"] not in TRANSFERS:
        errors["transfer"] = [t("Choose how your line transfers calls.")]
    try:
        rings = whole_number(values["rings"], 1, 15)
    except ValueError:
        errors["rings"] = [t("Write a whole number from 1 to 15.")]
    if errors:
        return None, errors

    def change(data: dict[str, Any]) -> None:
        entries = data.get("lines") or []
        if not entries and entry_node:  # the one line starts elsewhere: it needs an item
            entries = line_entries(data)
        line = next((e for e in entries if e.get("name") == line_name), None) if entries else None
        if entries and line is None:
            line = entries[0]
        if line is None:
            line = data.setdefault("line", {})
        line.update(backend=values["backend"], rings=rings, transfer=values["transfer"])
        line["device"] = values["device"].strip() or None
        if entries and entry_node:
            line["entry"] = entry_node
        elif entries and entry_node is not None:
            line.pop("entry", None)  # empty: the shared start

    version, problems = publish_change(web, change, "line settings", _field_map(web, line_name))
    return version, {field: [say(m, t) for m in messages] for field, messages in problems.items()}


def _chosen_line(web: WebContext, name: str | None) -> str | None:
    """With several lines, the one the form edits (the first unless named)."""
    names = [entry.name for entry in web.settings().lines]
    if not names:
        return None
    return name if name in names else names[0]


def _line_rows(web: WebContext) -> list[dict[str, Any]]:
    """Every line the box answers, with its state (the list with add and remove)."""
    states = dict(web.services.lines_state()) if web.services.lines_state is not None else {}
    return [{"name": e.name, "backend": e.backend, "device": e.device or "", "entry": e.entry or "",
             "state": states[e.name].state if e.name in states else ""}
            for e in line_list(web.settings())]


def _line_page(request: Request, web: WebContext, values: dict[str, str], errors: dict[str, list[str]],
               status: int = 200, line_name: str | None = None) -> Response:
    t = web.request_state(request).t
    settings = web.settings()
    return web.render(request, "settings_line.html", status=status, v=values, errors=errors,
                      backends=BACKENDS, transfers=TRANSFERS, devices=detected_devices(), title=t("Phone line"),
                      line_names=[entry.name for entry in settings.lines], line_name=line_name,
                      lines=_line_rows(web), announce_tty=settings.business.announce_tty,
                      nodes=entry_choices(settings, t), shared_entry=settings.flow.entry)


def line_page_with(request: Request, web: WebContext, errors: dict[str, list[str]], status: int) -> Response:
    """The line page of the first line with `errors` on top (a removal that was refused)."""
    name = _chosen_line(web, None)
    return _line_page(request, web, _line_values(web, name), errors, status, line_name=name)


def save_announce_tty(web: WebContext, on: bool) -> tuple[int | None, dict[str, list[str]]]:
    """`business.announce_tty`: Baudot "TTY users: press any key" after the first prompt."""
    def change(data: dict[str, Any]) -> None:
        data.setdefault("business", {})["announce_tty"] = on

    return publish_change(web, change, "TTY announcement " + ("on" if on else "off"),
                          {"business.announce_tty": "announce_tty"})


def _line_values(web: WebContext, line_name: str | None) -> dict[str, str]:
    line = web.settings().line
    values = {"backend": line.backend, "device": line.device or "", "rings": str(line.rings),
              "transfer": line.transfer, "entry": ""}
    entry = next((e for e in web.settings().lines if e.name == line_name), None)
    if entry is not None:
        values.update(backend=entry.backend, device=entry.device or "", entry=entry.entry or "",
                      rings=str(entry.rings or line.rings), transfer=entry.transfer or line.transfer)
    return values


@router.get("/settings/line", include_in_schema=False)
async def line_page(request: Request) -> Response:
    web = _web(request)
    name = _chosen_line(web, request.query_params.get("line"))
    return _line_page(request, web, _line_values(web, name), {}, line_name=name)


@router.post("/settings/line", include_in_schema=False)
async def line_form(request: Request) -> Response:
    web = _web(request)
    v: dict[str, Any] = await form_values(request, ("backend", "device", "rings", "transfer", "line", "entry"))
    if "entry" not in await request.form():
        v["entry"] = None  # a form without the field (an older page) keeps the entry
    name = _chosen_line(web, v.get("line"))
    version, errors = save_line(web, web.request_state(request).t, v, name)
    if version is None:
        return _line_page(request, web, v, errors, 422, line_name=name)
    suffix = f"&line={name}" if name else ""
    return RedirectResponse(f"/settings/line?notice=saved{suffix}", status_code=303)


@router.post("/settings/tty", include_in_schema=False)
async def tty_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("announce_tty",))
    version, errors = save_announce_tty(web, v["announce_tty"] == "on")
    if version is None:
        return _line_page(request, web, _line_values(web, None), errors, 422)
    return RedirectResponse("/settings/line?notice=saved", status_code=303)


class TtyIn(BaseModel):
    announce_tty: bool


@router.put("/api/settings/tty", tags=["settings"], summary="Announce to TTY callers (publishes a version)")
async def api_tty(request: Request, body: TtyIn) -> Response:
    return _api_result(*save_announce_tty(_web(request), body.announce_tty))


class LineIn(BaseModel):
    backend: Literal["sim", "modem", "fxo"]
    device: str = ""
    rings: int = 2
    transfer: Literal["transfer", "conference"] = "transfer"
    entry: str | None = None  # the step this line's calls start at; "" = the shared start; absent = keep
    line: str | None = None  # with several lines, which one (the first when absent)


def _api_result(version: int | None, errors: dict[str, list[str]]) -> Response:
    if version is None:
        return JSONResponse({"error": "invalid", "fields": errors}, status_code=422)
    return JSONResponse({"version": version})


@router.put("/api/settings/line", tags=["settings"], summary="Line backend, device, rings (publishes a version)")
async def api_line(request: Request, body: LineIn) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    if body.line is not None and body.line not in [entry.name for entry in web.settings().lines]:
        return _api_result(None, {"line": [t("There is no line called '{name}'.").format(name=body.line)]})
    values: dict[str, Any] = {"backend": body.backend, "device": body.device, "rings": str(body.rings),
                              "transfer": body.transfer, "entry": body.entry}
    return _api_result(*save_line(web, t, values, _chosen_line(web, body.line)))


# -- the mail server ------------------------------------------------------------------
SMTP_NAMES = ("host", "port", "security", "username", "password", "forget_password", "sender",
              "attach_as")


def save_smtp(web: WebContext, t: Any, values: dict[str, str]) -> tuple[int | None, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if values["security"] not in SECURITIES:
        errors["security"] = [t("Choose how the connection is secured.")]
    attach_as = values.get("attach_as") or ""  # absent (a disabled choice is not sent): kept
    if attach_as and attach_as not in FORMATS:
        errors["attach_as"] = [t("Choose how recordings are attached.")]
    try:
        port = whole_number(values["port"] or "587", 1, 65535)
    except ValueError:
        errors["port"] = [t("Write a port number from 1 to 65535 (usually 587, or 465 for TLS).")]
    if errors:
        return None, errors

    def change(data: dict[str, Any]) -> None:
        old = data.get("smtp") or {}
        smtp: dict[str, Any] = {"host": values["host"].strip(), "port": port, "security": values["security"],
                                "sender": values["sender"].strip()}
        if values["username"].strip():
            smtp["username"] = values["username"].strip()
        password = values["password"] or (None if values["forget_password"] else old.get("password"))
        if password:
            smtp["password"] = password
        if old.get("timeout_s"):
            smtp["timeout_s"] = old["timeout_s"]
        chosen = attach_as or old.get("attach_as") or "wav"
        if chosen != "wav":
            smtp["attach_as"] = chosen
        data["smtp"] = smtp

    return publish_change(web, change, "e-mail server", SMTP_FIELDS, t)


def _smtp_values(web: WebContext) -> dict[str, str]:
    smtp = web.settings().smtp
    if smtp is None:
        return {"host": "", "port": "587", "security": "starttls", "username": "", "sender": "",
                "attach_as": "wav"}
    return {"host": smtp.host, "port": str(smtp.port), "security": smtp.security,
            "username": smtp.username or "", "sender": smtp.sender, "attach_as": smtp.attach_as}


def _email_page(request: Request, web: WebContext, values: dict[str, str], errors: dict[str, list[str]],
                status: int = 200, test: dict[str, str] | None = None) -> Response:
    t = web.request_state(request).t
    smtp = web.settings().smtp
    values = {k: v for k, v in values.items() if k != "password"}  # never rendered back
    values["attach_as"] = values.get("attach_as") or (smtp.attach_as if smtp is not None else "wav")  # not sent: kept
    return web.render(request, "settings_email.html", status=status, v=values, errors=errors,
                      securities=SECURITIES, configured=smtp is not None,
                      attach_formats=available_formats(),
                      has_password=bool(smtp and smtp.password), test=test or {}, title=t("E-mail"))


@router.get("/settings/email", include_in_schema=False)
async def email_page(request: Request) -> Response:
    web = _web(request)
    return _email_page(request, web, _smtp_values(web), {})


@router.post("/settings/email", include_in_schema=False)
async def email_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, SMTP_NAMES)
    version, errors = save_smtp(web, web.request_state(request).t, v)
    if version is None:
        return _email_page(request, web, v, errors, 422)
    return RedirectResponse("/settings/email?notice=saved", status_code=303)


def turn_off_email(web: WebContext) -> tuple[int | None, dict[str, list[str]]]:
    return publish_change(web, lambda data: data.pop("smtp", None), "e-mail turned off",
                          {"mailboxes": "off"})


@router.post("/settings/email/off", include_in_schema=False)
async def email_off(request: Request) -> Response:
    web = _web(request)
    version, errors = turn_off_email(web)
    if version is None:
        return _email_page(request, web, _smtp_values(web), errors, 422)
    return RedirectResponse("/settings/email?notice=saved", status_code=303)


async def send_test(web: WebContext, t: Any, to: str) -> str | None:
    """None when sent; else why not, in words the owner can act on."""
    config = smtp_config(web.settings())
    if config is None:
        return t("Save the mail server settings first.")
    if "@" not in to.strip():
        return t("Write the address to send the test to.")
    try:
        await send_test_email(config, to.strip())
    except IvrboxError as exc:
        return t("The mail server did not take the test e-mail: {reason}").format(reason=str(exc))
    return None


@router.post("/settings/email/test", include_in_schema=False)
async def email_test(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("to",))
    problem = await send_test(web, web.request_state(request).t, v["to"])
    if problem:
        return _email_page(request, web, _smtp_values(web), {}, 422, test={"to": v["to"], "error": problem})
    return RedirectResponse("/settings/email?notice=email_sent", status_code=303)


class SmtpIn(BaseModel):
    host: str
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = ""  # empty keeps the saved password
    sender: str
    attach_as: Literal["wav", "mp3", "opus"] | None = None  # absent: as it is


@router.put("/api/settings/smtp", tags=["settings"], summary="Mail server (publishes a version)")
async def api_smtp(request: Request, body: SmtpIn) -> Response:
    web = _web(request)
    values = {**body.model_dump(), "port": str(body.port), "forget_password": ""}
    return _api_result(*save_smtp(web, web.request_state(request).t, values))


@router.delete("/api/settings/smtp", tags=["settings"], summary="Stop sending e-mail (publishes a version)")
async def api_smtp_off(request: Request) -> Response:
    return _api_result(*turn_off_email(_web(request)))


class TestMailIn(BaseModel):
    to: str


@router.post("/api/settings/smtp/test", tags=["settings"], summary="Send a test e-mail now")
async def api_smtp_test(request: Request, body: TestMailIn) -> Response:
    web = _web(request)
    problem = await send_test(web, web.request_state(request).t, body.to)
    if problem:
        return JSONResponse({"error": problem}, status_code=422)
    return JSONResponse({"sent": True})
