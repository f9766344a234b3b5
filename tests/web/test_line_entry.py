"""A line's entry step on the line settings form (/settings/line): chosen when the line is
edited, not only when it is added; checked by the config's own models as on the add
form (a problem beside the field, nothing published); shown for every line in the list;
a form or API call that leaves the field out keeps the entry."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from firmware.settings import for_line, load
from firmware.web.context import LANG_COOKIE
from tests.web.conftest import csrf_of, post

FIELD_ERROR = re.compile(r'<span class="field-error" id="err-(\w+)"[^>]*>([^<]*)</span>')


def _errors(html: str) -> dict[str, str]:
    return {field: unescape(text) for field, text in FIELD_ERROR.findall(html)}


def _version(services) -> int:
    latest = services.store.configs.latest()
    return latest.version if latest else 0


def _entry_cell(page: str, line: str) -> str:
    row = re.search(rf'<tr data-line-row="{line}">.*?</tr>', page, re.S)
    assert row is not None, f"no row for {line}"
    cell = re.search(r'class="line-entry">(.*?)</td>', row.group(0), re.S)
    assert cell is not None
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", cell.group(1))).split())


def _chosen_entry(page: str) -> str:
    select = re.search(r'<select name="entry"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None, "no entry field on the form"
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(1))
    return chosen.group(1) if chosen else ""


def _line_form(line: str, entry: str | None, **extra: str) -> dict[str, str]:
    form = {"line": line, "backend": "sim", "device": "", "rings": "2", "transfer": "transfer", **extra}
    if entry is not None:
        form["entry"] = entry
    return form


def test_edit_a_lines_entry_and_see_it_in_the_list(client: TestClient, services) -> None:
    assert post(client, "/settings/lines", {"name": "front", "backend": "sim"}).status_code == 303
    page = client.get("/settings/line?line=front").text
    assert _chosen_entry(page) == "" and "The shared start (welcome)" in page
    assert '<option value="support">support · Voicemail</option>' in page
    assert _entry_cell(page, "line1") == _entry_cell(page, "front") == "The shared start (welcome)"

    r = post(client, "/settings/line", _line_form("front", "support"))
    assert r.status_code == 303 and r.headers["location"] == "/settings/line?notice=saved&line=front"
    settings = load(services.config_path)
    assert [(e.name, e.entry) for e in settings.lines] == [("line1", None), ("front", "support")]
    assert for_line(settings, "front").flow.entry == "support" and for_line(settings, "line1").flow.entry == "welcome"
    page = client.get(r.headers["location"]).text
    assert _chosen_entry(page) == "support"
    assert _entry_cell(page, "front") == "support" and _entry_cell(page, "line1") == "The shared start (welcome)"
    assert _chosen_entry(client.get("/settings/line?line=line1").text) == ""

    # a form without the field (a page drawn before it existed) keeps the entry
    assert post(client, "/settings/line", _line_form("front", None, rings="4")).status_code == 303
    front = load(services.config_path).lines[1]
    assert (front.rings, front.entry) == (4, "support")
    # empty: back to the shared start
    assert post(client, "/settings/line", _line_form("front", "")).status_code == 303
    assert load(services.config_path).lines[1].entry is None


def test_a_step_that_does_not_exist_is_refused_beside_the_field(client: TestClient, services) -> None:
    assert post(client, "/settings/lines", {"name": "front", "backend": "sim", "entry": "support"}).status_code == 303
    before = _version(services)
    r = post(client, "/settings/line", _line_form("front", "nowhere"))
    assert r.status_code == 422 and "Traceback" not in r.text
    assert _errors(r.text) == {"entry": "There is no step 'nowhere'."}
    assert _chosen_entry(r.text) == "nowhere"  # what was sent stays in the form
    assert _version(services) == before and load(services.config_path).lines[1].entry == "support"
    client.cookies.set(LANG_COOKIE, "zh-TW")
    r = post(client, "/settings/line", _line_form("front", "nowhere"))
    assert _errors(r.text) == {"entry": "沒有「nowhere」這個步驟。"}

    headers = {"X-CSRF-Token": csrf_of(client)}
    client.cookies.set(LANG_COOKIE, "en")
    r = client.put("/api/settings/line", json={"backend": "sim", "line": "front", "entry": "nowhere"}, headers=headers)
    assert r.status_code == 422 and r.json()["fields"] == {"entry": ["There is no step 'nowhere'."]}
    r = client.put("/api/settings/line", json={"backend": "sim", "line": "ghost", "entry": "main_menu"},
                   headers=headers)
    assert r.status_code == 422 and r.json()["fields"] == {"line": ["There is no line called 'ghost'."]}
    assert _version(services) == before
    r = client.put("/api/settings/line", json={"backend": "sim", "line": "front", "rings": 3}, headers=headers)
    assert r.status_code == 200 and load(services.config_path).lines[1].entry == "support"  # left out: kept
    r = client.put("/api/settings/line", json={"backend": "sim", "line": "front", "entry": "main_menu"},
                   headers=headers)
    assert r.status_code == 200 and load(services.config_path).lines[1].entry == "main_menu"


def test_the_one_line_of_a_box_gets_an_entry_of_its_own(client: TestClient, services) -> None:
    assert not load(services.config_path).lines  # `line:` only
    r = post(client, "/settings/line", _line_form("", "main_menu"))
    assert r.status_code == 303
    settings = load(services.config_path)
    assert [(e.name, e.backend, e.entry) for e in settings.lines] == [("line1", "sim", "main_menu")]
    assert settings.flow.entry == "welcome" and for_line(settings, "line1").flow.entry == "main_menu"
    page = client.get("/settings/line").text
    assert _entry_cell(page, "line1") == "main_menu" and _chosen_entry(page) == "main_menu"
    # cleared: the one item stays, and its calls start at the shared start again
    assert post(client, "/settings/line", _line_form("line1", "")).status_code == 303
    assert [(e.name, e.entry) for e in load(services.config_path).lines] == [("line1", None)]
