"""The Menus page and a menu's back key: set, cleared, a collision shown beside the
field (en and zh-TW), and a published submenu whose back key a simulated call
(keys as DTMF audio) follows back to the main menu."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.settings import load
from tests.web.conftest import post
from tests.web.menus_helpers import call
from tests.web.test_menus import draft, main_menu_form


def sales_menu_form(**changes: str | list[str]) -> dict:
    """The new sales menu's form: 1 rings sales, 9 goes back (with words that say so)."""
    form: dict = {"prompt": "sales_menu", "prompt_text_en": "Sales. To talk to us, press 1. To go back, press 9.",
                  "prompt_text_zh-TW": "業務。洽詢請按1，回上一層請按9。",
                  "opt_key": ["1", "", ""], "opt_target": ["sales", "", ""], "final": "general_voicemail",
                  "retries": "", "first_key_timeout_s": "", "inter_key_timeout_s": "", "operator": "",
                  "invalid_prompt": "", "timeout_prompt": "", "note": "", "back_key": "9"}
    form.update(changes)
    return form


def err(page: str, field: str) -> str:
    return re.search(rf'data-err="{field}"[^>]*>([^<]*)<', page).group(1)


def selected_back_key(page: str) -> str:
    select = re.search(r'<select name="back_key"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.search(r'<option value="([^"]*)" selected>', select).group(1)


def add_sales_menu(client: TestClient) -> None:
    r = post(client, "/menus/add", {"type": "menu", "id": "sales_menu"})
    assert r.headers["location"] == "/menus/node/sales_menu?notice=added"
    r = post(client, "/menus/node/sales_menu", sales_menu_form())
    assert r.status_code == 303 and "notice=draft_saved" in r.headers["location"]
    r = post(client, "/menus/node/main_menu", main_menu_form(opt_target=["info", "sales_menu", "support", "", ""]))
    assert r.status_code == 303


def test_the_back_key_is_offered_off_by_default(client: TestClient) -> None:
    page = client.get("/menus/node/main_menu").text
    assert "Key to go back to the previous menu" in page
    assert selected_back_key(page) == ""
    assert [m for m in re.findall(r'<option value="([^"]*)"', re.search(
        r'<select name="back_key".*?</select>', page, re.S).group(0))] == ["", *"123456789*0#"]


def test_set_publish_and_a_call_goes_back_then_clear(client: TestClient, services) -> None:
    add_sales_menu(client)
    node = draft(services)["flow"]["nodes"]["sales_menu"]
    assert node["back_key"] == "9" and node["options"] == {"1": "sales"}
    page = client.get("/menus/node/sales_menu").text
    assert selected_back_key(page) == "9" and err(page, "back_key") == ""
    assert post(client, "/draft/publish", {"note": "sales menu"}).status_code == 303
    assert load(services.config_path).flow.nodes["sales_menu"].back_key == "9"

    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    # English (9 at the welcome), 2: sales menu, 9 during its prompt: back, 3: support
    summary = call(services, "wait 1; press 9; wait 3; press 2; wait 1.5; press 9; wait 1.5; press 3; "
                             "wait 3; hangup")
    assert summary.path[:6] == ("welcome", "office_hours", "main_menu", "sales_menu", "main_menu", "support")
    back = [e for e in services.store.calls.events(summary.call_id) if e.kind == "back"]
    assert [(e.node, e.detail["target"]) for e in back] == [("sales_menu", "main_menu")]

    post(client, "/menus/node/sales_menu", sales_menu_form(back_key=""))
    assert "back_key" not in draft(services)["flow"]["nodes"]["sales_menu"]
    assert selected_back_key(client.get("/menus/node/sales_menu").text) == ""


def test_a_colliding_back_key_is_shown_beside_the_field(client: TestClient, services) -> None:
    add_sales_menu(client)
    post(client, "/menus/node/sales_menu", sales_menu_form(back_key="1"))
    page = client.get("/menus/node/sales_menu").text
    assert err(page, "back_key") == ("Key 1 already starts the choice 1: choose another key to go back, "
                                     "or Off.")
    assert re.search(r'<select name="back_key" aria-invalid="true"', page)
    assert "disabled" in re.search(r"<button[^>]*data-publish[^>]*>", page).group(0)
    post(client, "/menus/node/sales_menu", sales_menu_form(back_key="*"))  # the repeat key
    page = client.get("/menus/node/sales_menu").text
    assert err(page, "back_key") == "Key * is also used for repeat_key."
    post(client, "/lang", {"lang": "zh-TW", "next": "/"})
    post(client, "/menus/node/sales_menu", sales_menu_form(back_key="1"))
    page = client.get("/menus/node/sales_menu").text
    assert err(page, "back_key") == "按鍵 1 已是選項 1 的開頭：請換一個返回鍵，或選「已關閉」。"
    assert "返回上一層選單的按鍵" in page
    # the live preview says the same before saving
    r = post(client, "/menus/node/sales_menu/preview", sales_menu_form(back_key="1"))
    assert r.json()["fields"]["back_key"] == ["按鍵 1 已是選項 1 的開頭：請換一個返回鍵，或選「已關閉」。"]


def test_the_api_takes_a_back_key_and_reports_a_collision(client: TestClient) -> None:
    add_sales_menu(client)
    node = {"type": "menu", "prompt": "sales_menu", "options": {"1": "sales", "9": "sales"},
            "final": "general_voicemail", "back_key": "9"}
    csrf = client.get("/api/session").json()["csrf"]
    r = client.put("/api/flow/nodes/sales_menu", json=node, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    paths = [p["path"] for p in r.json()["problems"]]
    assert "flow.nodes.sales_menu.back_key" in paths


def test_the_test_call_transcript_names_the_back_step() -> None:
    from firmware.web.routes.testcall import describe

    assert describe("back", {"target": "main_menu"}, str) == "Back to the previous menu: main_menu"
    assert describe("back", {"target": None}, str) == "No menu before this one: it plays again"
