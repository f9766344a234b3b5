"""The Menus page: forms per step, problems beside the fields, the live diagram, and a
published change that a simulated call (keys as DTMF audio) follows."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.settings import load
from firmware.web.configs import text_data
from firmware.web.context import LANG_COOKIE
from firmware.web.flowgraph import BOX_H, BOX_W, flow_edges, layout
from firmware.web.flowsvg import render_svg
from tests.web.conftest import post
from tests.web.menus_helpers import call


def main_menu_form(**changes: str | list[str]) -> dict:
    """The main menu's form as the page sends it (default config), with changes."""
    form: dict = {"prompt": "main_menu", "opt_key": ["1", "2", "3", "", ""],
                  "opt_target": ["info", "sales", "support", "", ""], "final": "general_voicemail",
                  "retries": "3", "first_key_timeout_s": "", "inter_key_timeout_s": "", "operator": "",
                  "invalid_prompt": "invalid", "timeout_prompt": "no_input", "note": ""}
    form.update(changes)
    return form


def draft(services) -> dict:
    return text_data(services.store.kv.get("web.config_draft"))


def test_menus_page_draws_every_step_and_key(client: TestClient) -> None:
    r = client.get("/menus")
    assert r.status_code == 200
    svg = re.search(r"<svg.*?</svg>", r.text, re.S).group(0)
    for nid in ("welcome", "office_hours", "main_menu", "info", "sales", "support", "general_voicemail", "goodbye"):
        assert f'data-node="{nid}"' in svg
        assert f'href="/menus/node/{nid}"' in svg
    for key in ("1", "2", "3"):
        assert f">{key}</text>" in svg
    assert "Incoming call" in svg and "no answer" in svg
    assert "<script" not in svg and "style=" not in svg  # the CSP would refuse them
    assert "Unpublished changes" not in r.text


def test_edit_is_a_draft_until_published_then_a_call_follows_it(client: TestClient, services) -> None:
    before = services.config_path.read_text()
    r = post(client, "/menus/node/main_menu", main_menu_form(opt_target=["info", "support", "sales", "", ""]))
    assert r.status_code == 303 and "notice=draft_saved" in r.headers["location"]
    assert services.config_path.read_text() == before  # callers still get the published flow
    assert draft(services)["flow"]["nodes"]["main_menu"]["options"]["2"] == "support"
    page = client.get("/menus")
    assert "Unpublished changes" in page.text
    edges = {(e.source, e.label): e.target for e in flow_edges(draft(services)["flow"])}
    assert edges[("main_menu", "2")] == "support"
    assert 'data-node="support"' in client.get("/menus/diagram.svg").text

    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    assert call(services, "wait 1; press 9; wait 3; press 2; wait 2; hangup").path[-1] == "sales"
    r = post(client, "/draft/publish", {"note": "key 2 to support", "back": "/menus"})
    assert r.status_code == 303 and r.headers["location"] == "/menus?notice=published"
    assert load(services.config_path).flow.nodes["main_menu"].options["2"] == "support"
    assert services.store.configs.latest().note == "key 2 to support"
    assert "Unpublished changes" not in client.get("/menus").text
    summary = call(services, "wait 1; press 9; wait 3; press 2; wait 2; hangup")
    assert summary.path == ("welcome", "office_hours", "main_menu", "support")


def test_problems_show_beside_their_fields_in_the_page_language(client: TestClient, services) -> None:
    post(client, "/menus/node/main_menu", main_menu_form(opt_key=["1", "2", "0", "", ""]))
    page = client.get("/menus/node/main_menu").text
    zero = re.search(r'data-err="opt-2"[^>]*>([^<]*)<', page).group(1)
    assert "already this menu&#39;s operator_key" in zero
    post(client, "/menus/node/main_menu", main_menu_form(retries="11"))
    page = client.get("/menus/node/main_menu").text
    retries = re.search(r'data-err="retries"[^>]*>([^<]*)<', page).group(1)
    assert retries == "Must be at most 10."
    assert "disabled" in re.search(r"<button[^>]*data-publish[^>]*>", page).group(0)
    post(client, "/lang", {"lang": "zh-TW", "next": "/"})
    page = client.get("/menus/node/main_menu").text
    assert re.search(r'data-err="retries"[^>]*>([^<]*)<', page).group(1) == "最多 10。"
    r = post(client, "/draft/publish", {"note": "", "back": "/menus"})
    assert r.status_code == 422  # never published with problems
    assert load(services.config_path).flow.nodes["main_menu"].retries == 3


def test_a_key_twice_is_refused_and_nothing_saved(client: TestClient, services) -> None:
    r = post(client, "/menus/node/main_menu", main_menu_form(opt_key=["1", "1", "3", "", ""]))
    assert r.status_code == 422
    assert "This key is listed twice." in r.text
    assert services.store.kv.get("web.config_draft") is None


def test_new_destinations_make_steps(client: TestClient, services) -> None:
    r = post(client, "/menus/node/main_menu",
             main_menu_form(opt_key=["1", "2", "3", "4", "5"],
                            opt_target=["info", "sales", "support", "new:play", "new:forward"]))
    assert r.headers["location"] == "/menus/node/announcement?notice=added"
    nodes = draft(services)["flow"]["nodes"]
    assert nodes["announcement"] == {"type": "play", "prompt": "announcement", "next": None}
    assert nodes["forward_reception"]["type"] == "forward"
    page = client.get("/menus/node/announcement").text
    assert "There is no greeting &#39;announcement&#39;." in page or "There is no greeting 'announcement'." in page
    r = post(client, "/menus/node/announcement", {"prompt": "announcement", "prompt_text_en": "We moved to floor 5.",
                                                  "prompt_text_zh-TW": "我們搬到五樓了。", "next": "new:hangup"})
    data = draft(services)
    assert data["prompts"]["announcement"] == {"en": "We moved to floor 5.", "zh-TW": "我們搬到五樓了。"}
    assert data["flow"]["nodes"]["announcement"]["next"] == "goodbye"  # the existing hang-up
    assert post(client, "/draft/publish", {"note": "new option 4"}).status_code == 303
    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    summary = call(services, "wait 1; press 9; wait 3; press 4; wait 8; hangup")
    assert summary.path[-2:] == ("announcement", "goodbye")


def test_add_and_delete_steps(client: TestClient, services) -> None:
    r = post(client, "/menus/add", {"type": "voicemail", "id": "after_hours"})
    assert r.headers["location"] == "/menus/node/after_hours?notice=added"
    assert draft(services)["flow"]["nodes"]["after_hours"] == {"type": "voicemail", "mailbox": "general", "next": None}
    assert "No call ever reaches" in client.get("/menus").text  # unreachable until linked
    post(client, "/menus/node/info/delete")
    assert "info" not in draft(services)["flow"]["nodes"]
    page = client.get("/menus/node/main_menu").text
    assert "There is no step &#39;info&#39;." in re.search(r'data-err="opt-0"[^>]*>([^<]*)<', page).group(1)
    assert post(client, "/menus/add", {"type": "bogus"}).status_code == 422


@pytest.mark.parametrize("node", ["office_hours", "sales", "support", "goodbye", "info", "welcome"])
def test_every_step_page_saves_unchanged(client: TestClient, services, node: str) -> None:
    """Saving a step's form untouched changes nothing (the form says what the config says)."""
    page = client.get(f"/menus/node/{node}").text
    form = re.search(r'<form method="post" action="/menus/node/' + node + r'" class="stack".*?</form>', page, re.S)
    if form is None:  # read-only kinds (language) have no form
        assert "edited in the config file" in page
        return
    fields: dict = {}
    for m in re.finditer(r'<input type="(?:text|number|hidden)" name="([^"]+)" value="([^"]*)"', form.group(0)):
        fields.setdefault(m.group(1), []).append(m.group(2))
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form.group(0), re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', m.group(2))
        fields.setdefault(m.group(1), []).append(chosen.group(1) if chosen else "")
    before = text_data(services.config_path.read_text())["flow"]["nodes"][node]
    assert post(client, f"/menus/node/{node}", fields).status_code == 303
    assert draft(services)["flow"]["nodes"][node] == before


def test_preview_redraws_without_saving(client: TestClient, services) -> None:
    r = post(client, "/menus/node/main_menu/preview", main_menu_form(opt_target=["info", "goodbye", "support", "", ""],
                                                                    retries="0"))
    assert r.status_code == 200
    body = r.json()
    assert body["svg"].startswith("<svg") and 'data-node="goodbye"' in body["svg"]
    assert body["fields"]["retries"] == ["Must be at least 1."]
    assert services.store.kv.get("web.config_draft") is None


def test_state_changes_need_the_csrf_token(client: TestClient) -> None:
    r = client.post("/menus/node/main_menu", data=main_menu_form(), follow_redirects=False)
    assert r.status_code == 403
    assert client.post("/draft/publish", data={"note": "x"}).status_code == 403


def test_api_puts_a_node_and_lists_problems(client: TestClient) -> None:
    csrf = client.get("/api/session").json()["csrf"]
    r = client.put("/api/flow/nodes/main_menu", json={"type": "menu", "prompt": "main_menu", "options": {"1": "nowhere"},
                                                      "final": "goodbye"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert any(p["path"] == "flow.nodes.main_menu.options.1" for p in r.json()["problems"])
    flow = client.get("/api/flow").json()
    assert flow["draft"] is True and flow["flow"]["nodes"]["main_menu"]["options"] == {"1": "nowhere"}


# -- the layout itself -------------------------------------------------------------------

def _flow(services) -> dict:
    return text_data(services.config_path.read_text())["flow"]


def test_layout_boxes_never_overlap_and_forward_arrows_point_down(services) -> None:
    flow = _flow(services)
    lay = layout(flow)
    boxes = list(lay.pos.items())
    for i, (a, (ax, ay)) in enumerate(boxes):
        for b, (bx, by) in boxes[i + 1:]:
            assert abs(ax - bx) >= BOX_W or abs(ay - by) >= BOX_H, (a, b)
    for edge, points, back in lay.routes:
        if not back:
            assert points[-1][1] > points[0][1], edge
            assert lay.layer[edge.target] > lay.layer[edge.source]
    backs = [(e.source, e.target) for e, _, back in lay.routes if back]
    assert ("info", "main_menu") in backs  # "hear again" goes back up


def test_diagram_survives_a_broken_draft() -> None:
    flow = {"entry": "a", "nodes": {"a": {"type": "menu", "options": {"1": "b", "2": "missing"}, "final": 7},
                                    "b": "not a node", "c": {"type": "play", "next": "c"}}}
    svg = render_svg(flow, lambda s: s, {}, bad={"a"})
    assert svg.count("data-node=") == 3
    assert ">1</text>" in svg and ">2</text>" not in svg


def test_a_greeting_without_words_names_the_languages_not_their_codes(client: TestClient) -> None:
    """A new step's greeting with words in Chinese only: the problem names the missing
    language as the owner knows it ("English"), never the config's code ("en")."""
    post(client, "/menus/add", {"type": "play", "id": "promo"})
    post(client, "/menus/node/promo", {"prompt": "promo", "prompt_text_zh-TW": "歡迎光臨", "next": "goodbye"})
    page = client.get("/menus/node/promo").text
    assert "The greeting &#39;promo&#39; has no words or recording for English." in page
    assert "recording for en" not in page
    assert '<details class="typed" open>' in page  # the boxes to type the missing words are open
    client.cookies.set(LANG_COOKIE, "zh-TW")
    page = client.get("/menus/node/promo").text
    assert "語音「promo」沒有 English 的文字或錄音。" in page
