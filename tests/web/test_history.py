"""Drafts, publishing and history: versions listed with time, note, who and what changed;
one-click rollback (CSRF-protected); a draft with problems is never published."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from firmware.settings import load
from firmware.web import configdiff
from firmware.web.configs import text_data
from firmware.web.context import LANG_COOKIE
from tests.web.conftest import post
from tests.web.test_menus import main_menu_form


def test_publish_lists_a_version_with_note_who_and_changes(client: TestClient, services) -> None:
    post(client, "/menus/node/main_menu", main_menu_form(opt_target=["info", "support", "sales", "", ""]))
    page = client.get("/history").text
    assert "Unpublished changes" in page
    assert "main_menu: key 2 → support (was sales)" in page
    assert post(client, "/draft/publish", {"note": "swap 2 and 3"}).status_code == 303
    page = client.get("/history").text
    first = re.search(r'<li class="version current">.*?</li>\s*</ul>', page, re.S).group(0)
    assert "swap 2 and 3" in first and "Owner, from testclient" in first
    assert "main_menu: key 3 → sales (was support)" in first
    assert "Restore this version" not in first  # the version in use has no button
    assert client.get("/api/history").json()["versions"][0]["note"] == "swap 2 and 3"


def test_one_click_rollback(client: TestClient, services) -> None:
    original = services.config_path.read_text()
    v0 = services.store.configs.latest().version  # the first-run setup
    post(client, "/menus/node/main_menu", main_menu_form(opt_target=["info", "support", "sales", "", ""]))
    post(client, "/draft/publish", {"note": "swap"})
    assert services.config_path.read_text() != original
    assert client.post(f"/history/{v0}/rollback", follow_redirects=False).status_code == 403  # no CSRF token
    r = post(client, f"/history/{v0}/rollback")
    assert r.status_code == 303 and r.headers["location"] == "/history?notice=rolled_back"
    assert services.config_path.read_text() == original
    latest = services.store.configs.latest()
    assert latest.version == v0 + 2 and latest.note == f"back to version {v0}"
    assert load(services.config_path).flow.nodes["main_menu"].options["2"] == "sales"
    assert post(client, "/history/999/rollback").status_code == 404


def test_a_draft_with_problems_is_not_published(client: TestClient, services) -> None:
    before = services.config_path.read_text()
    post(client, "/menus/node/main_menu", main_menu_form(opt_target=["info", "nowhere", "support", "", ""]))
    r = post(client, "/draft/publish", {"note": "broken"})
    assert r.status_code == 422 and "Not published" in r.text and "There is no step" in r.text
    assert services.config_path.read_text() == before
    csrf = client.get("/api/session").json()["csrf"]
    r = client.post("/api/draft/publish", json={"note": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json()["problems"]


def test_discard_and_api_draft(client: TestClient, services) -> None:
    csrf = client.get("/api/session").json()["csrf"]
    assert client.get("/api/draft").json()["draft"] is False
    post(client, "/menus/node/main_menu", main_menu_form(retries="2"))
    body = client.get("/api/draft").json()
    assert body["draft"] is True and body["changes"] == ["main_menu: retries changed"]
    r = post(client, "/draft/discard", {"back": "/menus"})
    assert r.headers["location"] == "/menus?notice=discarded"
    assert client.get("/api/draft").json()["draft"] is False
    r = client.post("/api/draft/publish", json={}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 409


def test_diff_summary_shapes() -> None:
    t = lambda s: s  # noqa: E731
    old = text_data(open("config/default.yaml", encoding="utf-8").read())
    new = text_data(open("config/default.yaml", encoding="utf-8").read())
    new["flow"]["nodes"]["extra"] = {"type": "hangup"}
    del new["flow"]["nodes"]["info"]
    new["hours"]["weekly"] = {"mon": ["09:00-10:00"]}
    new["mailboxes"]["general"]["greetings"]["temporary"] = {"prompt": "goodbye", "until": "2030-01-01T00:00"}
    lines = configdiff.summary(old, new, t)
    assert lines == ["new step extra", "step info removed", "weekly hours changed", "temporary greeting changed (general)"]
    assert configdiff.summary(None, new, t) == ["first saved version"]
    assert configdiff.summary_texts("a: [", "b: {", t) == ["this version cannot be read"]


def test_the_box_own_notes_are_said_in_the_page_language_and_the_owner_note_as_typed(
        client: TestClient, services) -> None:
    """Notes the box writes ("first-run setup", "back to version 1", a caller rule) read
    in the owner's language; a note the owner typed shows word for word; the API keeps
    the stored note."""
    post(client, "/menus/node/main_menu", main_menu_form(opt_target=["info", "support", "sales", "", ""]))
    post(client, "/draft/publish", {"note": "swap 2 and 3"})
    post(client, "/calls/rule", {"number": "0912345678", "rule": "block"})
    post(client, f"/history/{services.store.configs.latest().version - 1}/rollback")
    notes = re.findall(r'<p class="note">([^<]*)</p>', client.get("/history").text)
    assert notes[:3] == [f"Back to version {services.store.configs.latest().version - 2}",
                         "Caller 0912345678 blocked", "swap 2 and 3"]
    assert "First-time setup" in notes
    client.cookies.set(LANG_COOKIE, "zh-TW")
    notes = re.findall(r'<p class="note">([^<]*)</p>', client.get("/history").text)
    assert notes[1:3] == ["已封鎖來電者 0912345678", "swap 2 and 3"] and notes[0].startswith("還原為第 ")
    assert "首次設定" in notes and "first-run setup" not in notes
    api = client.get("/api/history").json()["versions"]
    assert api[1]["note"] == "caller 0912345678: block"


def test_a_greeting_note_names_the_language_not_its_code(client: TestClient, services) -> None:
    r = post(client, "/greetings/goodbye/en/speak", {"text": "Bye now."})
    token = re.search(r"token=([0-9a-f]{32})", r.headers["location"]).group(1)
    post(client, "/greetings/goodbye/en/save", {"token": token})
    notes = re.findall(r'<p class="note">([^<]*)</p>', client.get("/history").text)
    assert notes[0] == "Greeting goodbye (English): new text"
    client.cookies.set(LANG_COOKIE, "zh-TW")
    notes = re.findall(r'<p class="note">([^<]*)</p>', client.get("/history").text)
    assert notes[0] == "問候語 goodbye（English）：新文字"
