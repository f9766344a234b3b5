"""A menu's back key in a real browser (Debian chromium driven by Playwright): a key that
collides shows its message beside the field as it is chosen (before saving), a free key
clears it, the draft keeps the key; screenshots at 360 and 1280 px, en and zh-TW, and
no overflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.web import create_app
from firmware.web.auth import ADMIN
from firmware.web.configs import text_data
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS as ARGS, screenshots_dir, serving, log_in
from tests.web.conftest import FAST_HASHER, PASSWORD, make_services

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
NODE = "/menus/node/main_menu"


def test_back_key_chosen_checked_and_saved_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    services = make_services(tmp_path / "data")
    services.store.web.create_user(ADMIN, FAST_HASHER.hash(PASSWORD))
    shots = screenshots_dir()
    with serving(create_app(services)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US").new_page()
        log_in(page, base)

        page.goto(base + NODE)
        back, message = page.locator("select[name=back_key]"), page.locator('[data-err="back_key"]')
        expect(back).to_have_value("")
        back.select_option("1")  # key 1 is the menu's first choice
        expect(message).to_have_text("Key 1 already starts the choice 1: choose another key to go back, or Off.")
        back.select_option("9")
        expect(message).to_have_text("")
        page.click("text=Save draft")
        page.wait_for_url(f"**{NODE}?notice=draft_saved")
        assert text_data(services.store.kv.get("web.config_draft"))["flow"]["nodes"]["main_menu"]["back_key"] == "9"
        expect(page.locator("select[name=back_key]")).to_have_value("9")

        for suffix in ("", "-zh"):
            if suffix:
                page.click("button[name=lang][value=zh-TW]")
                page.wait_for_load_state()
                page.goto(base + NODE)
                expect(page.locator("body")).to_contain_text("返回上一層選單的按鍵")
            for width in (360, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                page.locator("select[name=back_key]").scroll_into_view_if_needed()
                page.screenshot(path=str(shots / f"menu-back-key{suffix}-{width}.png"), full_page=True)
                assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        browser.close()
    services.store.close()
