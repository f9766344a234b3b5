"""A step form the page refuses (a key listed twice, a language row with no language)
comes back as the owner left it: the rows as sent (each error beside its own row), and
the other fields, the chosen destinations and the words typed for a new prompt, so
nothing has to be typed again; the draft is not changed."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from tests.web.conftest import post
from tests.web.test_menus import main_menu_form
from tests.web.test_menus_language import welcome_form
from tests.web.test_menus_lookup import err


def selected(page: str, name: str) -> str | None:
    select = re.search(rf'<select name="{name}"[^>]*>.*?</select>', page, re.S)
    assert select is not None, name
    found = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return unescape(found.group(1)) if found else None


def value(page: str, name: str) -> str:
    return unescape(re.search(rf'<input type="[a-z]+" name="{name}" value="([^"]*)"', page).group(1))


def test_a_refused_language_step_keeps_what_was_typed(client: TestClient, services) -> None:
    form = welcome_form(["8", "9", "8"], ["zh-TW", "en", "en"], timeout_s="7", next="main_menu",
                        note="front door", prompt="text:", **{"prompt_text_en": "Press 8 or 9, please."})
    r = post(client, "/menus/node/welcome", form)
    assert r.status_code == 422 and err(r.text, "opt-2") == "This key is listed twice."
    assert value(r.text, "timeout_s") == "7"
    assert value(r.text, "note") == "front door"
    assert selected(r.text, "next") == "main_menu"
    assert selected(r.text, "prompt") == "text:"
    assert "Press 8 or 9, please.</textarea>" in r.text
    assert services.store.kv.get("web.config_draft") is None


def test_a_refused_menu_keeps_its_rows_and_a_new_destination(client: TestClient, services) -> None:
    r = post(client, "/menus/node/main_menu",
             main_menu_form(opt_key=["1", "2", "1", "4", ""], opt_target=["info", "sales", "support", "new:play", ""],
                            retries="5"))
    assert r.status_code == 422
    assert re.findall(r'name="opt_key" value="([^"]*)"', r.text)[:4] == ["1", "2", "1", "4"]
    assert err(r.text, "opt-2") == "This key is listed twice." and err(r.text, "opt-0") == ""
    targets = re.findall(r'<select name="opt_target".*?</select>', r.text, re.S)
    assert re.search(r'<option value="new:play" selected>', targets[3])
    assert "new:play (" not in r.text  # a new step is not a "missing" one
    assert value(r.text, "retries") == "5"
    assert services.store.kv.get("web.config_draft") is None
