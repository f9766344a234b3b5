"""The Menus page's lookup step (information by phone): offered under "Add a step" and
made reading the first table kept on the Lookup tables page; every field of `LookupNode`
on its form, saved to the draft as other steps are; the config check's problems beside
their fields (en and zh-TW) and never published; a step written by hand saves unchanged;
a published step answers a call (keys as DTMF audio on the simulated line)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from firmware.ivr.lookup import key_secret, log_key
from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.settings import load
from firmware.store.lookups import LookupEntry
from tests.web.conftest import post
from tests.web.menus_helpers import call
from tests.web.test_menus import draft, main_menu_form

ASK = {"prompt_text_en": "Key your order number, then pound.", "prompt_text_zh-TW": "請輸入訂單號碼，再按井字鍵。"}


def lookup_form(**changes: str) -> dict:
    """The lookup step's form as the page sends it (a new step on table `orders`), with changes."""
    form = {"prompt": "order_status", **ASK, "source": "table", "table": "orders", "url": "", "timeout_s": "",
            "cache_s": "", "min_digits": "", "max_digits": "", "first_digit_timeout_s": "",
            "inter_digit_timeout_s": "", "attempts": "", "repeat_key": "1", "another_key": "2",
            "operator_key": "0", "done_key": "#", "choice_timeout_s": "", "next": "", "fallback": "",
            "found_prompt": "", "not_found_prompt": "", "operator": "", "note": ""}
    form.update(changes)
    return form


def seed(services) -> None:
    services.store.lookups.replace("orders", [LookupEntry("12345", {"en": "Shipped on Monday", "zh-TW": "已於週一出貨"})])
    services.store.lookups.replace("repairs", [LookupEntry("77", {"": "Ready"})])


def add_step(client: TestClient, **fields: str) -> str:
    r = post(client, "/menus/add", {"type": "lookup", "id": "order_status", **fields})
    assert r.status_code == 303
    return r.headers["location"]


def err(page: str, field: str) -> str:
    m = re.search(rf'data-err="{field}"[^>]*>([^<]*)<', page)
    assert m, f"no place for the problems of {field}"
    return html.unescape(m.group(1))


def form_fields(page: str, nid: str) -> dict[str, str]:
    """What the browser sends for the step's form untouched (one value per field)."""
    form = re.search(r'<form method="post" action="/menus/node/' + nid + r'" class="stack".*?</form>', page, re.S)
    assert form is not None, "no form for the step"
    out: dict[str, str] = {}
    for m in re.finditer(r'<input type="(text|number|hidden|radio|checkbox)" name="([^"]+)" value="([^"]*)"([^>]*)>',
                         form.group(0)):
        kind, name, value, rest = m.groups()
        if kind in ("radio", "checkbox") and " checked" not in rest:
            continue
        out[name] = html.unescape(value)
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form.group(0), re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', m.group(2))
        out[m.group(1)] = html.unescape(chosen.group(1)) if chosen else ""
    for m in re.finditer(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', form.group(0)):
        out[m.group(1)] = m.group(2)
    return out


def test_add_a_step_offers_it_and_reads_the_first_table(client: TestClient, services) -> None:
    seed(services)
    assert '<option value="lookup">Information by phone</option>' in client.get("/menus").text
    assert add_step(client) == "/menus/node/order_status?notice=added"
    assert draft(services)["flow"]["nodes"]["order_status"] == {"type": "lookup", "prompt": "order_status",
                                                                "table": "orders"}
    page = client.get("/menus/node/order_status").text
    assert "edited in the config file" not in page
    fields = form_fields(page, "order_status")
    assert (fields["source"], fields["table"], fields["repeat_key"], fields["done_key"]) == ("table", "orders", "1", "#")
    assert "private" not in fields  # off unless asked
    # a table named by the page that adds it (the Lookup tables page's button)
    post(client, "/menus/add", {"type": "lookup", "id": "repair_status", "table": "repairs"})
    assert draft(services)["flow"]["nodes"]["repair_status"]["table"] == "repairs"


def test_with_no_table_yet_the_picker_says_to_choose_one(client: TestClient, services) -> None:
    add_step(client)
    assert draft(services)["flow"]["nodes"]["order_status"]["table"] == ""
    page = client.get("/menus/node/order_status").text
    assert err(page, "table") == "Required."
    assert "No tables yet: make one first." in page and 'href="/lookups"' in page


def test_every_field_is_saved_then_a_published_call_reads_the_entry(client: TestClient, services) -> None:
    seed(services)
    add_step(client)
    r = post(client, "/menus/node/order_status", lookup_form(
        prompt="text:", private="1", min_digits="4", max_digits="6", first_digit_timeout_s="5",
        inter_digit_timeout_s="2", attempts="2", choice_timeout_s="4", repeat_key="", done_key="*",
        next="main_menu", fallback="general_voicemail", not_found_prompt="invalid", operator="sales",
        note="order status"))
    assert r.status_code == 303 and r.headers["location"] == "/menus/node/order_status?notice=draft_saved"
    data = draft(services)
    assert data["prompts"]["order_status"] == {"en": ASK["prompt_text_en"], "zh-TW": ASK["prompt_text_zh-TW"]}
    assert data["flow"]["nodes"]["order_status"] == {
        "type": "lookup", "prompt": "order_status", "table": "orders", "note": "order status", "private": True,
        "min_digits": 4, "max_digits": 6, "first_digit_timeout_s": 5, "inter_digit_timeout_s": 2, "attempts": 2,
        "choice_timeout_s": 4, "not_found_prompt": "invalid", "repeat_key": None, "done_key": "*",
        "next": "main_menu", "fallback": "general_voicemail", "operator": "sales"}
    page = client.get("/menus/node/order_status").text
    assert err(page, "repeat_key") == "" and err(page, "max_digits") == ""
    assert form_fields(page, "order_status")["repeat_key"] == ""  # off, shown off

    post(client, "/menus/node/main_menu", main_menu_form(opt_key=["1", "2", "3", "4", ""],
                                                         opt_target=["info", "sales", "support", "order_status", ""]))
    r = post(client, "/draft/publish", {"note": "order status on key 4", "back": "/menus"})
    assert r.status_code == 303
    node = load(services.config_path).flow.nodes["order_status"]
    assert (node.table, node.private, node.repeat_key, node.another_key, node.done_key) == ("orders", True, None, "2", "*")

    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    summary = call(services, "wait 1; press 9; wait 3; press 4; waitsilence 15; press 12345#; waitsilence 15; "
                             "press *; wait 2; hangup")
    assert summary.path[-3:] == ("main_menu", "order_status", "main_menu")
    [looked] = [e.detail for e in services.store.calls.events(summary.call_id) if e.kind == "lookup"]
    assert (looked["key"], looked["result"], looked["source"]) == (log_key("12345", True, key_secret(services.store)), "found", "table")


def test_an_endpoint_instead_of_a_table(client: TestClient, services) -> None:
    seed(services)
    add_step(client)
    url = "https://orders.example.com/status?key={key}&lang={lang}"
    post(client, "/menus/node/order_status", lookup_form(source="url", url=url, timeout_s="3.5", cache_s="0"))
    node = draft(services)["flow"]["nodes"]["order_status"]
    assert node["url"] == url and "table" not in node and (node["timeout_s"], node["cache_s"]) == (3.5, 0)
    fields = form_fields(client.get("/menus/node/order_status").text, "order_status")
    assert (fields["source"], fields["url"], fields["timeout_s"]) == ("url", url, "3.5")
    # back to the table: the address goes, the picker's table is read
    post(client, "/menus/node/order_status", lookup_form(source="table", table="repairs", url=url))
    node = draft(services)["flow"]["nodes"]["order_status"]
    assert node["table"] == "repairs" and "url" not in node


def test_problems_show_beside_their_fields_and_block_publishing(client: TestClient, services) -> None:
    seed(services)
    add_step(client)
    post(client, "/menus/node/order_status", lookup_form(attempts="11", another_key="1", cache_s="-1"))
    page = client.get("/menus/node/order_status").text
    assert err(page, "attempts") == "Must be at most 10."
    assert err(page, "cache_s") == "Must be at least 0."
    assert err(page, "another_key") == "Key 1 is also used for repeat_key."
    post(client, "/menus/node/order_status", lookup_form(min_digits="8", max_digits="4"))
    page = client.get("/menus/node/order_status").text
    assert err(page, "max_digits") == "Must not be fewer than the fewest digits."
    assert err(page, "min_digits") == "" and page.count("fewest digits") == 1  # not also atop the form
    post(client, "/menus/node/order_status", lookup_form(source="url", url="ftp://orders.example.com",
                                                         timeout_s="0", max_digits="21"))
    page = client.get("/menus/node/order_status").text
    assert err(page, "url") == "Write an address starting with http:// or https://."
    assert err(page, "timeout_s") == "Must be more than 0."
    assert err(page, "max_digits") == "Must be at most 20."
    post(client, "/lang", {"lang": "zh-TW", "next": "/"})
    page = client.get("/menus/node/order_status").text
    assert err(page, "url") == "請寫以 http:// 或 https:// 開頭的網址。"
    assert err(page, "max_digits") == "最多 20。"
    assert "詢問號碼的語音" in page and "查詢資料的來源" in page
    r = post(client, "/draft/publish", {"note": "", "back": "/menus"})
    assert r.status_code == 422
    assert "order_status" not in load(services.config_path).flow.nodes


def test_whole_step_checks_land_beside_a_field(client: TestClient, services) -> None:
    """Both sources (written by hand) and fewest > most: the model's own checks, each placed
    beside the field that fixes it, in the live preview too."""
    seed(services)
    add_step(client)
    csrf = client.get("/api/session").json()["csrf"]
    both = {"type": "lookup", "prompt": "order_status", "table": "orders", "url": "https://x.example.com/"}
    client.put("/api/flow/nodes/order_status", json=both, headers={"X-CSRF-Token": csrf})
    page = client.get("/menus/node/order_status").text
    assert err(page, "source") == "Choose a table or write a web address (one of the two)."
    r = post(client, "/menus/node/order_status/preview", lookup_form(min_digits="9", max_digits="3"))
    assert r.json()["fields"]["max_digits"] == ["Must not be fewer than the fewest digits."]
    assert draft(services)["flow"]["nodes"]["order_status"] == both  # a preview saves nothing


def test_a_hand_written_step_shows_and_saves_unchanged(client: TestClient, services) -> None:
    seed(services)
    csrf = client.get("/api/session").json()["csrf"]
    written = {"type": "lookup", "prompt": "info", "url": "https://orders.example.com/q", "private": True,
               "min_digits": 3, "max_digits": 9, "first_digit_timeout_s": 7, "inter_digit_timeout_s": 1.5,
               "attempts": 5, "timeout_s": 4, "cache_s": 120, "found_prompt": "connecting",
               "not_found_prompt": "invalid", "repeat_key": "*", "another_key": None, "operator_key": "9",
               "done_key": "#", "operator": "sales", "choice_timeout_s": 8, "next": "goodbye",
               "fallback": "general_voicemail", "note": "by hand"}
    r = client.put("/api/flow/nodes/order_status", json=written, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    fields = form_fields(client.get("/menus/node/order_status").text, "order_status")
    assert (fields["source"], fields["private"], fields["another_key"], fields["operator_key"]) == ("url", "1", "", "9")
    assert post(client, "/menus/node/order_status", fields).status_code == 303
    assert draft(services)["flow"]["nodes"]["order_status"] == written


def test_the_lookup_tables_page_adds_a_step_and_shows_it_in_the_draft(client: TestClient, services) -> None:
    seed(services)
    page = client.get("/lookups").text
    buttons = re.findall(r'<form method="post" action="/menus/add".*?name="table" value="([^"]+)".*?</form>', page)
    assert buttons == ["orders", "repairs"]  # no step reads either yet
    r = post(client, "/menus/add", {"type": "lookup", "table": "repairs"})
    assert r.headers["location"] == "/menus/node/lookup?notice=added"
    page = client.get("/lookups").text
    row = re.search(r'href="/lookups/repairs".*?</tr>', page, re.S).group(0)
    assert "lookup" in row and "in the draft, not yet published" in row and "/menus/add" not in row
