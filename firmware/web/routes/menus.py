"""Menus: the call flow, edited step by step with forms, drawn as a diagram that follows
the edits. Every change goes to the draft (see `routes.history` for publishing).

Pages: GET /menus ; POST /menus/flow (entry, operator) ; POST /menus/add (type, id; table: the one a new
lookup step reads, else the first table kept on the Lookups page) ;
GET /menus/node/{id} ; POST /menus/node/{id} (the step's form) ;
POST /menus/node/{id}/delete ; POST /menus/node/{id}/preview -> JSON {svg, fields, general}
(the form applied to a copy of the draft, not saved: the live diagram) ;
GET /menus/diagram.svg?node= (the draft's diagram).
API: GET /api/flow ; PUT /api/flow/nodes/{id} (a node as JSON) ; DELETE /api/flow/nodes/{id} ;
GET /api/flow/diagram.svg.
Problems are those of `ivrbox config check` (the same code), shown beside the fields.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from firmware.errors import ConfigError, ConfigProblem
from firmware.settings import problems as config_problems
from firmware.settings.yamlio import write as write_yaml
from firmware.web import flowedit, flowsvg, language_step, lookup_step
from firmware.web.configs import FILENAME, text_data, to_text
from firmware.web.context import N_, Refused, WebContext
from firmware.web.forms import form_lists, form_values
from firmware.web.problemtext import say
from firmware.web.routes.history import draft_state

router = APIRouter()

FORM_FIELDS = ("note", "prompt", "final", "operator", "next", "open", "closed", "holiday", "mailbox",
               "greeting", "person", "fallback", "whisper", "invalid_prompt", "timeout_prompt", "retries",
               "first_key_timeout_s", "inter_key_timeout_s", "ring_timeout_s", "back_key",
               "source", "table", "url", "private", "found_prompt", "not_found_prompt",
               *lookup_step.NUMBERS, *lookup_step.MENU_KEYS)
BLANK_OPTION_ROWS = 2  # empty key rows offered under a menu's options
BLANK_HUNT_ROWS = 2  # empty "then try" rows offered under a forward step's people
BLANK_LANGUAGE_ROWS = 1  # an empty key row offered under a language step's choices
ROW_ERRORS = {"no key": N_("Give the key."), "twice": N_("This key is listed twice."),
              "no language": N_("Choose a language.")}


def _web(request: Request) -> WebContext:
    return request.app.state.web


def type_labels(t: Any) -> dict[str, str]:
    return {"menu": t("Menu"), "play": t("Announcement"), "hangup": t("Hang up"), "schedule": t("Opening hours"),
            "voicemail": t("Voicemail"), "forward": t("Forward to a person"), "language": t("Language choice"),
            "extension": t("Dial by extension"), "callback": t("Call-back request"), "survey": t("Survey"),
            "mailbox_login": t("Mailbox by phone"), "screen": t("Robocall check"),
            "lookup": t("Information by phone")}


def _draft(web: WebContext) -> tuple[dict[str, Any], list[ConfigProblem]]:
    text = web.publisher.draft_text()
    try:
        data = text_data(text)
    except ConfigError as exc:
        raise Refused(500, "; ".join(p.message for p in exc.problems)) from None
    return data, config_problems(text, FILENAME)


def _languages(data: dict[str, Any]) -> list[str]:
    langs = data.get("business", {}).get("languages") if isinstance(data.get("business"), dict) else None
    return [str(x) for x in langs] if isinstance(langs, list) and langs else ["en"]


def _prompt_text(data: dict[str, Any], pid: Any, lang: str) -> str:
    prompts = data.get("prompts") if isinstance(data.get("prompts"), dict) else {}
    entry = prompts.get(pid) if isinstance(pid, str) else None
    if not isinstance(entry, dict):
        return ""
    text = entry.get(lang) or next((v for k, v in entry.items() if k != "file" and isinstance(v, str)), "")
    return str(text) if text else ("🎙" if entry.get("file") else "")


def details(data: dict[str, Any], lang: str, t: Any) -> dict[str, str]:
    """One line about each step for the diagram and the list (what it says, who, which box)."""
    out: dict[str, str] = {}
    flow = data.get("flow") if isinstance(data.get("flow"), dict) else {}
    nodes = flow.get("nodes") if isinstance(flow.get("nodes"), dict) else {}
    people = data.get("people") if isinstance(data.get("people"), dict) else {}
    boxes = data.get("mailboxes") if isinstance(data.get("mailboxes"), dict) else {}
    for nid, node in nodes.items():
        node = node if isinstance(node, dict) else {}
        kind = node.get("type")
        text = ""
        if kind == "forward":  # one person, or a hunt list in its order
            names = []
            for key, _, _ in flowedit.hunt_rows(node):
                p = people.get(key)
                names.append((p.get("name") if isinstance(p, dict) else None) or key)
            text = " → ".join(names)
        elif kind in ("voicemail", "callback", "mailbox_login"):
            b = boxes.get(node.get("mailbox") or node.get("notify"))
            text = (b.get("name") if isinstance(b, dict) else None) or str(node.get("mailbox") or "")
        elif kind == "schedule":
            text = t("open / closed / holiday")
        else:
            text = _prompt_text(data, node.get("prompt") or node.get("question"), lang)
        out[f"detail:{nid}"] = str(node.get("note") or text or "")
    return out


def diagram(data: dict[str, Any], problems: list[ConfigProblem], t: Any, lang: str,
            selected: str | None = None) -> str:
    labels = {**type_labels(t), **details(data, lang, t)}
    bad = {flowedit.node_of(p.path) for p in problems} - {None}
    flow = data.get("flow") if isinstance(data.get("flow"), dict) else {}
    return flowsvg.render_svg(flow, t, labels, selected=selected, bad=bad)  # type: ignore[arg-type]


def destinations(data: dict[str, Any], t: Any) -> list[tuple[str, str]]:
    labels = type_labels(t)
    nodes = data.get("flow", {}).get("nodes", {}) if isinstance(data.get("flow"), dict) else {}
    return [(nid, f"{nid} · {labels.get(n.get('type'), n.get('type')) if isinstance(n, dict) else ''}")
            for nid, n in nodes.items()]


def _lang(request: Request, data: dict[str, Any]) -> str:
    langs = _languages(data)
    ui = _web(request).request_state(request).lang
    return ui if ui in langs else langs[0]


def _problem_lists(problems: list[ConfigProblem], t: Any) -> tuple[dict[str, list[str]], list[str]]:
    """Problems by step, and those about no step (said in the page's language)."""
    by_node: dict[str, list[str]] = {}
    general: list[str] = []
    for p in problems:
        nid = flowedit.node_of(p.path)
        if nid:
            by_node.setdefault(nid, []).append(say(p.message, t))
        else:
            general.append(f"{p.path}: {say(p.message, t)}" if p.path else say(p.message, t))
    return by_node, general


@router.get("/menus", include_in_schema=False)
async def menus_page(request: Request) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    data, problems = _draft(web)
    by_node, general = _problem_lists(problems, t)
    lang = _lang(request, data)
    flow = data.get("flow", {})
    return web.render(request, "menus.html", title=t("Menus"), flow=flow, svg=diagram(data, problems, t, lang),
                      labels=type_labels(t), info=details(data, lang, t), by_node=by_node, general=general,
                      choices=destinations(data, t), editable=flowedit.EDITABLE, **draft_state(web, t))


@router.get("/menus/diagram.svg", include_in_schema=False)
@router.get("/api/flow/diagram.svg", tags=["menus"], summary="The draft's call flow as an SVG diagram")
async def diagram_svg(request: Request) -> Response:
    web = _web(request)
    data, problems = _draft(web)
    t = web.request_state(request).t
    svg = diagram(data, problems, t, _lang(request, data), selected=request.query_params.get("node"))
    return Response(svg, media_type="image/svg+xml")


@router.post("/menus/flow", include_in_schema=False)
async def flow_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("entry", "operator"))

    def change(data: dict[str, Any]) -> None:
        flow = data.setdefault("flow", {})
        flow["entry"] = v["entry"].strip()
        if v["operator"].strip():
            flow["operator"] = v["operator"].strip()
        else:
            flow.pop("operator", None)

    web.publisher.edit_draft(change)
    return RedirectResponse("/menus?notice=draft_saved", status_code=303)


@router.post("/menus/add", include_in_schema=False)
async def add_form(request: Request) -> Response:
    web = _web(request)
    v = await form_values(request, ("type", "id", "table"))
    if v["type"] not in flowedit.EDITABLE:
        raise Refused(422, N_("Choose what kind of step to add."))
    wanted = v["id"].strip()
    if wanted and not flowedit.NODE_ID.match(wanted):
        raise Refused(422, N_("A name starts with a letter, then letters, digits, _ or -."))
    tables = web.services.store.lookups.tables()
    table = v["table"].strip() if v["table"].strip() in tables else next(iter(tables), "")
    made: list[str] = []
    web.publisher.edit_draft(lambda data: made.append(flowedit.add_node(data, v["type"], wanted, table)))
    return RedirectResponse(f"/menus/node/{made[0]}?notice=added", status_code=303)


def _node_page(request: Request, web: WebContext, nid: str, status: int = 200,
               form_errors: dict[str, str] | None = None, sent: dict[str, list[str]] | None = None,
               typed: dict[str, str] | None = None) -> Response:
    """`sent`, `typed`: the refused form's rows and fields, shown as the owner left them
    (each row error beside its row), so nothing has to be typed again."""
    t = web.request_state(request).t
    data, problems = _draft(web)
    saved = data.get("flow", {}).get("nodes", {}).get(nid)
    if not isinstance(saved, dict):
        raise Refused(404, N_("There is no such step."))
    node = {**saved, **{k: v for k, v in (typed or {}).items() if k in FORM_FIELDS}}
    fields = {k: [say(m, t) for m in v] for k, v in flowedit.node_fields(problems, data, nid).items()}
    for key, code in (form_errors or {}).items():
        fields.setdefault(key, []).append(t(ROW_ERRORS[code]))
    lang = _lang(request, data)
    prompts = data.get("prompts") if isinstance(data.get("prompts"), dict) else {}
    options = node.get("options") if isinstance(node.get("options"), dict) else {}
    rows = [(str(k), str(v)) for k, v in options.items()] + [("", "")] * BLANK_OPTION_ROWS
    if sent and sent.get("opt_key"):
        rows = list(zip(sent["opt_key"], sent.get("opt_target", []))) + [("", "")] * BLANK_OPTION_ROWS
    choices = destinations(data, t)
    hunt = flowedit.hunt_rows(node) if node.get("type") == "forward" else []
    hunt = (hunt or [("", "", True)]) + [("", "", True)] * BLANK_HUNT_ROWS
    return web.render(
        request, "menu_node.html", status=status, title=t("Menus"), nid=nid, node=node, kind=node.get("type"),
        labels=type_labels(t), fields=fields, editable=node.get("type") in flowedit.EDITABLE,
        choices=choices, ids=[c[0] for c in choices], phone_keys=flowedit.PHONE_KEYS, prompts=[(p, _prompt_text(data, p, lang)) for p in prompts],
        prompt_ids=list(prompts), prompt_langs=_languages(data), rows=rows,
        typed_words={k[len("prompt_text_"):]: v for k, v in (typed or {}).items() if k.startswith("prompt_text_")},
        hunt=hunt[:flowedit.MAX_HUNT_ROWS], people=list((data.get("people") or {}).items()),
        mailboxes=list((data.get("mailboxes") or {}).items()), flow=data.get("flow", {}),
        tables=web.services.store.lookups.tables(), source=lookup_step.source_of(node),
        lookup_keys=lookup_step.MENU_KEYS, business_langs=_languages(data),
        lang_rows=(list(zip(sent["lang_key"], sent["lang_choice"])) if sent and sent.get("lang_key")
                   else language_step.language_rows(node) + [("", "")] * BLANK_LANGUAGE_ROWS),
        yaml_text=write_yaml({nid: saved}), svg=diagram(data, problems, t, lang, selected=nid),
        **draft_state(web, t))


@router.get("/menus/node/{nid}", include_in_schema=False)
async def node_page(request: Request, nid: str) -> Response:
    return _node_page(request, _web(request), nid)


async def _read_form(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    form = await form_values(request, FORM_FIELDS + tuple(f"prompt_text_{lang}" for lang in ("en", "zh-TW")))
    rows = await form_lists(request, ("opt_key", "opt_target", "hunt_person", "hunt_ring", "hunt_accept",
                                      "lang_key", "lang_choice"))
    return form, rows


@router.post("/menus/node/{nid}", include_in_schema=False)
async def node_form(request: Request, nid: str) -> Response:
    web = _web(request)
    form, rows = await _read_form(request)
    data, _ = _draft(web)
    if nid not in data.get("flow", {}).get("nodes", {}):
        raise Refused(404, N_("There is no such step."))
    created, errors = flowedit.apply_node_form(data, nid, form, rows, _languages(data))
    if errors:
        sent_names = set((await request.form()).keys())
        return _node_page(request, web, nid, 422, errors, rows, {k: v for k, v in form.items() if k in sent_names})
    web.publisher.save_draft(to_text(data))
    target = created or nid
    return RedirectResponse(f"/menus/node/{target}?notice={'added' if created else 'draft_saved'}", status_code=303)


@router.post("/menus/node/{nid}/preview", include_in_schema=False)
async def node_preview(request: Request, nid: str) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    form, rows = await _read_form(request)
    data, _ = _draft(web)
    if nid not in data.get("flow", {}).get("nodes", {}):
        raise Refused(404, N_("There is no such step."))
    trial = copy.deepcopy(data)
    _, errors = flowedit.apply_node_form(trial, nid, form, rows, _languages(trial))
    if errors:
        trial = data
    problems = config_problems(to_text(trial), FILENAME)
    fields = {k: [say(m, t) for m in v] for k, v in flowedit.node_fields(problems, trial, nid).items()}
    _, general = _problem_lists([p for p in problems if flowedit.node_of(p.path) != nid], t)
    return JSONResponse({"svg": diagram(trial, problems, t, _lang(request, trial), selected=nid),
                         "fields": fields, "others": len(problems) - sum(len(v) for v in fields.values())})


@router.post("/menus/node/{nid}/delete", include_in_schema=False)
async def delete_form(request: Request, nid: str) -> Response:
    web = _web(request)
    web.publisher.edit_draft(lambda data: flowedit.delete_node(data, nid))
    return RedirectResponse("/menus?notice=step_deleted", status_code=303)


@router.get("/api/flow", tags=["menus"], summary="The draft's call flow and every problem in the draft")
async def api_flow(request: Request) -> dict[str, Any]:
    web = _web(request)
    data, problems = _draft(web)
    return {"draft": web.publisher.has_draft(), "flow": data.get("flow"),
            "problems": [{"path": p.path, "message": p.message} for p in problems]}


@router.put("/api/flow/nodes/{nid}", tags=["menus"], summary="Put one step (as the config writes it) into the draft")
async def api_put_node(request: Request, nid: str) -> Response:
    web = _web(request)
    if not flowedit.NODE_ID.match(nid):
        raise Refused(422, N_("A name starts with a letter, then letters, digits, _ or -."))
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise Refused(422, N_("Send the step as a JSON object with its type."))

    def change(data: dict[str, Any]) -> None:
        data.setdefault("flow", {}).setdefault("nodes", {})[nid] = body

    problems = web.publisher.edit_draft(change)
    return JSONResponse({"problems": [{"path": p.path, "message": p.message} for p in problems]})


@router.delete("/api/flow/nodes/{nid}", tags=["menus"], summary="Remove one step from the draft")
async def api_delete_node(request: Request, nid: str) -> dict[str, Any]:
    web = _web(request)
    problems = web.publisher.edit_draft(lambda data: flowedit.delete_node(data, nid))
    return {"problems": [{"path": p.path, "message": p.message} for p in problems]}
