"""The Menus page's language step ("for English press 9"): offered under "Add a step" with
a key per business language; its form (prompt, a row per key with a language select
limited to business.languages, timeout, next) saved to the draft as other steps are;
a key listed twice or with no language refused beside its row; a language callers are
not offered, or one the box does not speak, shown by the config's own check beside its
row (en and zh-TW) and never published; a published change answers a call (keys as DTMF
audio on the simulated line) and the next prompt is heard in the chosen language."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.settings import load
from tests.web.conftest import post
from tests.web.menus_helpers import call
from tests.web.test_menus import draft
from tests.web.test_menus_lookup import err

WELCOME = {"type": "language", "prompt": "welcome", "options": {"8": "zh-TW", "9": "en"}, "timeout_s": 3,
           "next": "office_hours"}


def welcome_form(keys: list[str], langs: list[str], **changes: str) -> dict:
    """The default welcome step's form as the page sends it, with these rows and changes."""
    form: dict = {"prompt": "welcome", "prompt_text_en": "", "prompt_text_zh-TW": "", "lang_key": keys,
                  "lang_choice": langs, "timeout_s": "3", "next": "office_hours", "note": ""}
    form.update(changes)
    return form


def rows(page: str) -> list[tuple[str, str, list[str]]]:
    """Each choice row as the page shows it: (key, language chosen, languages offered)."""
    out = []
    for row in re.findall(r'<div class="opt-row lang-row">(.*?)</div>', page, re.S):
        key, lang = (re.search(rf'<select name="{n}".*?</select>', row, re.S).group(0) for n in ("lang_key", "lang_choice"))
        chosen = [re.search(r'<option value="([^"]*)" selected>', s) for s in (key, lang)]
        offered = [html.unescape(x) for v, x in re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', lang)]
        out.append(tuple(m.group(1) if m else "" for m in chosen) + (offered,))
    return out


def prompts_heard(services, call_id: int) -> list[tuple[str, str]]:
    return [(e.detail["prompt"], e.detail["language"]) for e in services.store.calls.events(call_id)
            if e.kind == "prompt" and "prompt" in e.detail]


def test_add_a_language_step_with_a_key_per_business_language(client: TestClient, services) -> None:
    assert '<option value="language">Language choice</option>' in client.get("/menus").text
    r = post(client, "/menus/add", {"type": "language", "id": "pick_language"})
    assert r.headers["location"] == "/menus/node/pick_language?notice=added"
    # keys 1, 2 for zh-TW, en (business.languages in order); then on to the call's entry
    assert draft(services)["flow"]["nodes"]["pick_language"] == {
        "type": "language", "prompt": "pick_language", "options": {"1": "zh-TW", "2": "en"}, "next": "welcome"}
    page = client.get("/menus/node/pick_language").text
    assert "edited in the config file" not in page and "Asks callers to choose" in page
    assert rows(page) == [("1", "zh-TW", ["繁體中文", "English"]), ("2", "en", ["繁體中文", "English"]),
                          ("", "", ["繁體中文", "English"])]


def test_edit_then_a_published_call_presses_the_new_key_and_hears_chinese(client: TestClient, services) -> None:
    assert rows(client.get("/menus/node/welcome").text)[:2] == [("8", "zh-TW", ["繁體中文", "English"]),
                                                                  ("9", "en", ["繁體中文", "English"])]
    r = post(client, "/menus/node/welcome", welcome_form(
        ["8", "9", "7"], ["zh-TW", "en", "zh-TW"], timeout_s="5", note="7 for 中文 too",
        **{"prompt_text_en": "Hello. 中文請按 8 或 7.", "prompt_text_zh-TW": "您好。For English, press 9."}))
    assert r.status_code == 303 and r.headers["location"] == "/menus/node/welcome?notice=draft_saved"
    data = draft(services)
    assert data["flow"]["nodes"]["welcome"] == {**WELCOME, "options": {"8": "zh-TW", "9": "en", "7": "zh-TW"},
                                                "timeout_s": 5, "note": "7 for 中文 too"}
    assert data["prompts"]["welcome"] == {"en": "Hello. 中文請按 8 或 7.", "zh-TW": "您好。For English, press 9."}
    assert [r[:2] for r in rows(client.get("/menus/node/welcome").text)] == [
        ("8", "zh-TW"), ("9", "en"), ("7", "zh-TW"), ("", "")]

    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    script = "wait 1; press 7; wait 4; hangup"
    before = call(services, script)  # the draft is not live: 7 is a wrong key in the menu, in English
    assert ("main_menu", "en") in prompts_heard(services, before.call_id)
    assert post(client, "/draft/publish", {"note": "7 for 中文", "back": "/menus"}).status_code == 303
    assert load(services.config_path).flow.nodes["welcome"].options == {"8": "zh-TW", "9": "en", "7": "zh-TW"}
    after = call(services, script)
    assert after.path[:3] == ("welcome", "office_hours", "main_menu")
    heard = prompts_heard(services, after.call_id)
    # the call starts in English (the owner's setup language), 7 switches it: the menu speaks 中文
    assert heard == [("welcome", "en"), ("main_menu", "zh-TW")]


def test_a_key_twice_or_with_no_language_is_refused_beside_its_row(client: TestClient, services) -> None:
    r = post(client, "/menus/node/welcome", welcome_form(["8", "9", "8"], ["zh-TW", "en", "en"]))
    assert r.status_code == 422
    assert err(r.text, "opt-2") == "This key is listed twice." and err(r.text, "opt-0") == ""
    assert [x[:2] for x in rows(r.text)] == [("8", "zh-TW"), ("9", "en"), ("8", "en")]  # as sent
    r = post(client, "/menus/node/welcome", welcome_form(["8", "9", "7"], ["zh-TW", "en", ""]))
    assert r.status_code == 422 and err(r.text, "opt-2") == "Choose a language."
    assert client.get("/api/flow").json()["flow"]["nodes"]["welcome"] == WELCOME  # nothing saved
    post(client, "/lang", {"lang": "zh-TW", "next": "/"})
    r = post(client, "/menus/node/welcome", welcome_form(["8", "8"], ["zh-TW", "en"]))
    assert err(r.text, "opt-1") == "這個按鍵重複了。"


def test_a_language_not_offered_is_named_beside_its_row_and_not_published(client: TestClient, services) -> None:
    client.app.state.web.publisher.edit_draft(lambda data: data["business"].update(languages=["zh-TW"]))
    page = client.get("/menus/node/welcome").text
    # the select offers only the business's languages; the step's English is shown, flagged
    assert rows(page)[:2] == [("8", "zh-TW", ["繁體中文"]),
                              ("9", "en", ["English (not one of the business's languages)", "繁體中文"])]
    assert err(page, "opt-1") == ("English is not one of the business's languages, so callers cannot be "
                                  "spoken to in it: choose another.")
    r = post(client, "/menus/node/welcome/preview", welcome_form(["8", "9"], ["zh-TW", "fr"]))
    assert r.json()["fields"]["opt-1"] == ["'fr' is not a language the box speaks: choose English or 繁體中文."]
    post(client, "/menus/node/welcome", welcome_form(["8", "9"], ["zh-TW", "fr"], timeout_s="-1", next=""))
    page = client.get("/menus/node/welcome").text
    assert err(page, "opt-1") == "'fr' is not a language the box speaks: choose English or 繁體中文."
    assert err(page, "timeout_s") == "Must be more than 0." and err(page, "next") == "Required."
    post(client, "/lang", {"lang": "zh-TW", "next": "/"})
    page = client.get("/menus/node/welcome").text
    assert err(page, "opt-1") == "本機不會說「fr」這個語言：請選 English 或繁體中文。"
    assert "請來電者選擇的語音" in page and "等待按鍵（秒）" in page
    assert post(client, "/draft/publish", {"note": "", "back": "/menus"}).status_code == 422
    assert load(services.config_path).flow.nodes["welcome"].options == {"8": "zh-TW", "9": "en"}


def test_a_hand_written_step_saves_unchanged(client: TestClient, services) -> None:
    csrf = client.get("/api/session").json()["csrf"]
    written = {"type": "language", "prompt": "welcome", "options": {"#": "en", "0": "zh-TW", "5": "en"},
               "timeout_s": 2.5, "next": "main_menu", "note": "by hand"}
    assert client.put("/api/flow/nodes/welcome", json=written, headers={"X-CSRF-Token": csrf}).status_code == 200
    page = client.get("/menus/node/welcome").text
    shown = rows(page)
    form = welcome_form([k for k, _, _ in shown], [v for _, v, _ in shown], timeout_s="2.5", next="main_menu",
                        note="by hand")
    assert post(client, "/menus/node/welcome", form).status_code == 303
    assert draft(services)["flow"]["nodes"]["welcome"] == written
