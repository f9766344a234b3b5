"""The callbacks page marks a request from a text-telephone (TTY) caller, so the owner
calls back by TTY or relay: in the API, in en and zh-TW, and in a real browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from firmware.web import create_app
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium, screenshots_dir, serving, log_in
from tests.web.conftest import PASSWORD, Clock, make_services, post

MARK_EN = "TTY: call back by TTY or relay"
MARK_ZH = "文字電話：請以文字電話或轉接服務回電"


def test_tty_request_is_marked_on_the_page_and_in_the_api(client: TestClient, services) -> None:
    voice = services.store.callbacks.request("0922333444", name="Mrs Wang")
    tty = services.store.callbacks.request("5550142", by_tty=True)
    html = client.get("/callbacks").text
    assert html.count(MARK_EN) == 1
    assert html.index("5550142") < html.index(MARK_EN)  # on the TTY caller's row
    pending = {c["id"]: c["by_tty"] for c in client.get("/api/callbacks").json()["pending"]}
    assert pending == {voice: False, tty: True}
    post(client, "/lang", {"lang": "zh-TW", "next": "/callbacks"})
    zh = client.get("/callbacks").text
    assert MARK_ZH in zh and MARK_EN not in zh
    post(client, "/lang", {"lang": "en", "next": "/callbacks"})
    post(client, f"/callbacks/{tty}/done", {"note": "relay call done"})
    done = client.get("/callbacks").text
    assert MARK_EN not in done and "relay call done" in done
    assert client.get("/api/callbacks").json()["recent"][0]["by_tty"] is True


@needs_chromium
@pytest.mark.timeout(120)
def test_tty_mark_in_a_browser_at_360_px(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    services = make_services(tmp_path / "data", Clock())
    app = create_app(services)
    app.state.web.auth.create_owner(PASSWORD)
    services.store.callbacks.request("0922333444", name="Mrs Wang")
    services.store.callbacks.request("5550142", by_tty=True)
    shots = screenshots_dir()
    try:
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for locale, mark in (("en-US", MARK_EN), ("zh-TW", MARK_ZH)):
                page = browser.new_page(viewport={"width": 360, "height": 800}, locale=locale)
                log_in(page, base)
                page.goto(base + "/callbacks")
                rows = page.locator("ul.rows li")
                tty_row = rows.filter(has_text="5550142")
                assert tty_row.locator(".pill-tty").inner_text() == mark
                assert tty_row.locator(".pill-tty").is_visible()
                assert rows.filter(has_text="0922333444").locator(".pill-tty").count() == 0
                assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
                page.screenshot(path=str(shots / f"callbacks-tty-{locale}-360.png"), full_page=True)
                page.close()
            browser.close()
    finally:
        services.store.close()
