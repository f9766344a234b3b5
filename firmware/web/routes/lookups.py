"""Lookup tables: what the `lookup` step reads back to a caller who keys a number.

Pages: GET /lookups (tables with entry counts, the steps that read them, published or
only in the draft, a button that adds a step reading a table no step reads, a new table) ;
POST /lookups/upload (table, file or text: create or replace a table) ;
GET /lookups/{table}?page=N&edit=KEY (entries, paged) ; POST /lookups/{table}/replace
(file or text) ; POST /lookups/{table}/entry (key, text, text_en, text_zh, valid_until:
add or change one) ; POST /lookups/{table}/delete (key) ; POST /lookups/{table}/drop.
API: GET /api/lookups ; GET /api/lookups/{table}?limit=&offset=.

Tables are data, not config: a change takes effect on the next lookup, with no config
version. A replacement (upload or pasted rows) is checked whole first and every problem
is listed by its row; on any problem nothing is replaced (`firmware.store.lookup_import`).
Uploads are bounded in size (`MAX_UPLOAD_BYTES`) before they are parsed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from firmware.errors import ConfigError, UploadRejected, UsageError
from firmware.store.lookup_import import MAX_UPLOAD_BYTES, parse_text, parse_upload
from firmware.store.lookups import ANY_LANGUAGE, LookupEntry
from firmware.web.configs import text_data
from firmware.web.context import N_, Refused, WebContext
from firmware.web.forms import MAX_FIELD_CHARS, form_values
from firmware.web.lookuptext import problem_text

router = APIRouter()

PAGE_SIZE = 50  # entries per page
API_MAX_LIMIT = 1000
ENTRY_FIELDS = ("key", "text", "text_en", "text_zh", "valid_until")
TEXT_FIELDS = {"text": ANY_LANGUAGE, "text_en": "en", "text_zh": "zh-TW"}


def _web(request: Request) -> WebContext:
    return request.app.state.web


def used_by(web: WebContext) -> dict[str, list[str]]:
    """Table name -> the flow's lookup steps that read it."""
    out: dict[str, list[str]] = {}
    try:
        nodes = web.settings().flow.nodes
    except Exception:  # noqa: BLE001 - a broken config must not hide the tables
        return out
    for node_id, node in nodes.items():
        table = getattr(node, "table", None) if getattr(node, "type", "") == "lookup" else None
        if table:
            out.setdefault(str(table), []).append(str(node_id))
    return out


def draft_users(web: WebContext) -> dict[str, list[str]]:
    """Table name -> the lookup steps of the unpublished draft that read it (none without
    a draft), so a step just added on the Menus page shows here before it is published."""
    if not web.publisher.has_draft():
        return {}
    try:
        flow = text_data(web.publisher.draft_text()).get("flow")
    except ConfigError:
        return {}
    nodes = flow.get("nodes") if isinstance(flow, dict) else None
    out: dict[str, list[str]] = {}
    for node_id, node in (nodes.items() if isinstance(nodes, dict) else ()):
        if isinstance(node, dict) and node.get("type") == "lookup" and isinstance(node.get("table"), str):
            out.setdefault(node["table"], []).append(str(node_id))
    return out


async def _replacement(request: Request) -> tuple[list[LookupEntry] | None, list[str]]:
    """The entries of an uploaded file or pasted rows; (None, problems) when refused."""
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES + 1)
    file = form.get("file")
    text = form.get("text")
    t = _web(request).request_state(request).t
    try:
        if file is not None and not isinstance(file, str) and file.filename:
            data = await file.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                raise UploadRejected(t("the file is larger than {mb} MB").format(mb=MAX_UPLOAD_BYTES // 2**20))
            return parse_upload(data, file.filename), []
        if isinstance(text, str) and text.strip():
            if len(text) > MAX_UPLOAD_BYTES:
                raise UploadRejected(t("the pasted rows are larger than {mb} MB").format(mb=MAX_UPLOAD_BYTES // 2**20))
            return parse_text(text.replace("\r\n", "\n")), []
        return None, [t("Choose a file or paste rows.")]
    except UploadRejected as exc:
        return None, [problem_text(p, t) for p in str(exc).split("; ") if p]


async def _pasted(request: Request) -> str:
    """The pasted rows, shown again after a refusal so the owner fixes a row instead of
    pasting everything anew (not when too long to edit in the box)."""
    text = (await request.form()).get("text")
    return text.replace("\r\n", "\n") if isinstance(text, str) and len(text) <= MAX_FIELD_CHARS else ""


def _table(web: WebContext, table: str) -> int:
    count = web.services.store.lookups.tables().get(table)
    if count is None:
        raise Refused(404, N_("There is no such table."))
    return count


# -- the list of tables -------------------------------------------------------------------
def _index(request: Request, web: WebContext, *, problems: list[str] | None = None,
           errors: dict[str, list[str]] | None = None, name: str = "", pasted: str = "",
           status: int = 200) -> Response:
    t = web.request_state(request).t
    tables = web.services.store.lookups.tables()
    users = used_by(web)
    missing = sorted(name for name in users if name not in tables)
    return web.render(request, "lookups.html", status=status, tables=tables, users=users, missing=missing,
                      drafted=draft_users(web),
                      problems=problems or [], errors=errors or {}, name=name, pasted=pasted,
                      max_mb=MAX_UPLOAD_BYTES // 2**20, title=t("Lookup tables"))


@router.get("/lookups", include_in_schema=False)
async def index(request: Request) -> Response:
    return _index(request, _web(request))


@router.post("/lookups/upload", include_in_schema=False)
async def upload(request: Request) -> Response:
    web = _web(request)
    t = web.request_state(request).t
    name = (await form_values(request, ("table",)))["table"].strip()
    entries, problems = await _replacement(request)
    pasted = await _pasted(request)
    try:
        if entries is not None:
            web.services.store.lookups.replace(name, entries)
    except UsageError:
        return _index(request, web, errors={"table": [t("A table name starts with a letter, then letters, digits, _ or -.")]},
                      name=name, pasted=pasted, status=422)
    if entries is None:
        return _index(request, web, problems=problems, name=name, pasted=pasted, status=422)
    return RedirectResponse(f"/lookups/{name}?notice=table_saved", status_code=303)


# -- one table ------------------------------------------------------------------------------
def _entry_values(entry: LookupEntry | None) -> dict[str, str]:
    if entry is None:
        return {k: "" for k in ENTRY_FIELDS}
    texts = entry.texts
    return {"key": entry.key, "text": texts.get(ANY_LANGUAGE, ""), "text_en": texts.get("en", ""),
            "text_zh": texts.get("zh-TW", ""), "valid_until": (entry.valid_until or "").replace("T", " ")}


def _table_page(request: Request, web: WebContext, table: str, page: int = 1, *, values: dict[str, str] | None = None,
                errors: dict[str, list[str]] | None = None, problems: list[str] | None = None,
                pasted: str = "", status: int = 200) -> Response:
    t = web.request_state(request).t
    count = _table(web, table)
    pages = max(1, -(-count // PAGE_SIZE))
    page = min(max(1, page), pages)
    entries = web.services.store.lookups.entries(table, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    if values is None:
        edit = request.query_params.get("edit")
        values = _entry_values(web.services.store.lookups.find(table, edit) if edit else None)
    return web.render(request, "lookup_table.html", status=status, table=table, count=count, page=page,
                      pages=pages, entries=entries, v=values, errors=errors or {}, problems=problems or [],
                      users=used_by(web).get(table, []), max_mb=MAX_UPLOAD_BYTES // 2**20, title=table, pasted=pasted,
                      any_language=ANY_LANGUAGE, page_title=t("Lookup tables"))


@router.get("/lookups/{table}", include_in_schema=False)
async def table_page(request: Request, table: str, page: int = 1) -> Response:
    return _table_page(request, _web(request), table, page)


@router.post("/lookups/{table}/replace", include_in_schema=False)
async def replace(request: Request, table: str) -> Response:
    web = _web(request)
    _table(web, table)
    entries, problems = await _replacement(request)
    if entries is None:
        return _table_page(request, web, table, problems=problems, pasted=await _pasted(request), status=422)
    web.services.store.lookups.replace(table, entries)
    return RedirectResponse(f"/lookups/{table}?notice=table_saved", status_code=303)


def save_entry(web: WebContext, t: Any, table: str, v: dict[str, str]) -> dict[str, list[str]]:
    """Add or change one entry; the problems by field (nothing saved when there are any)."""
    errors: dict[str, list[str]] = {}
    try:
        key = LookupEntry(v["key"], {"": "x"}).key
    except UsageError:
        errors["key"] = [t("Write the number callers key: digits only, at most 20.")]
        key = ""
    texts = {lang: v[name] for name, lang in TEXT_FIELDS.items() if v[name].strip()}
    if not texts:
        errors["text"] = [t("Write what the caller hears, for every language or per language.")]
    try:
        entry = LookupEntry(key or "0", texts or {"": "x"}, v["valid_until"])
    except UsageError as exc:
        message = str(exc)
        if "valid_until" in message:
            errors["valid_until"] = [t("Write a date (2027-12-31) or a date and time (2027-12-31 18:00).")]
        elif "longer than" in message:
            errors["text"] = [t("At most 1000 characters.")]
        else:
            errors["text"] = [message]
    if not errors:
        web.services.store.lookups.upsert(table, LookupEntry(key, texts, entry.valid_until))
    return errors


@router.post("/lookups/{table}/entry", include_in_schema=False)
async def entry_form(request: Request, table: str) -> Response:
    web = _web(request)
    _table(web, table)
    v = await form_values(request, ENTRY_FIELDS)
    errors = save_entry(web, web.request_state(request).t, table, v)
    if errors:
        return _table_page(request, web, table, values=v, errors=errors, status=422)
    return RedirectResponse(f"/lookups/{table}?notice=saved", status_code=303)


@router.post("/lookups/{table}/delete", include_in_schema=False)
async def delete_entry(request: Request, table: str) -> Response:
    web = _web(request)
    _table(web, table)
    key = (await form_values(request, ("key",)))["key"]
    try:
        gone = web.services.store.lookups.delete(table, key)
    except UsageError:
        gone = False
    if not gone:
        raise Refused(404, N_("There is no such entry."))
    left = web.services.store.lookups.tables().get(table)
    return RedirectResponse(f"/lookups/{table}?notice=entry_deleted" if left else "/lookups?notice=entry_deleted",
                            status_code=303)


@router.post("/lookups/{table}/drop", include_in_schema=False)
async def drop(request: Request, table: str) -> Response:
    web = _web(request)
    _table(web, table)
    web.services.store.lookups.drop(table)
    return RedirectResponse("/lookups?notice=table_dropped", status_code=303)


# -- API --------------------------------------------------------------------------------------
def entry_json(entry: LookupEntry) -> dict[str, Any]:
    return {"key": entry.key, "texts": dict(entry.texts), "valid_until": entry.valid_until}


@router.get("/api/lookups", tags=["lookups"], summary="Lookup tables and their entry counts")
async def api_tables(request: Request) -> dict[str, Any]:
    web = _web(request)
    return {"tables": web.services.store.lookups.tables(), "used_by": used_by(web)}


@router.get("/api/lookups/{table}", tags=["lookups"], summary="Entries of a table, by key")
async def api_entries(request: Request, table: str, limit: int = PAGE_SIZE, offset: int = 0) -> dict[str, Any]:
    web = _web(request)
    count = _table(web, table)
    entries = web.services.store.lookups.entries(table, max(1, min(limit, API_MAX_LIMIT)), max(0, offset))
    return {"table": table, "count": count, "entries": [entry_json(e) for e in entries]}
