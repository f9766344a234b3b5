"""A language step made and filled in a real browser (Debian chromium driven by Playwright):
added from the Menus page with a key per business language; a row's language select offers
only the business's languages by name; a key listed twice is refused beside its row (the
rows kept as chosen) and saves once fixed; the draft keeps the choices; screenshots at 360
and 1280 px, en and zh-TW, and no overflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.web import create_app
from firmware.web.auth import ADMIN
from firmware.web.configs import text_data
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS as ARGS, screenshots_dir, serving, log_in
from tests.web.conftest import FAST_HASHER, PASSWORD, make_services

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
NODE = "/menus/node/pick_language"


def test_language_step_added_checked_and_saved_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    services = make_services(tmp_path / "data")
    services.store.web.create_user(ADMIN, FAST_HASHER.hash(PASSWORD))
    shots = screenshots_dir()
    with serving(create_app(services)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US").new_page()
        log_in(page, base)

        page.goto(base + "/menus")
        add = page.locator("form[action='/menus/add']")
        add.locator("select[name=type]").select_option(label="Language choice")
        add.locator("input[name=id]").fill("pick_language")
        add.locator("button").click()
        page.wait_for_url(f"**{NODE}?notice=added")

        keys, langs = page.locator("select[name=lang_key]"), page.locator("select[name=lang_choice]")
        expect(keys).to_have_count(3)
        expect(keys.nth(0)).to_have_value("1")
        expect(langs.nth(1)).to_have_value("en")
        assert langs.nth(2).locator("option").all_inner_texts() == ["(nothing)", "繁體中文", "English"]

        keys.nth(2).select_option("1")  # 1 again: refused beside the third row
        langs.nth(2).select_option(label="English")
        page.fill("textarea[name=prompt_text_en]", "For English press 2.")
        page.fill("textarea[name=prompt_text_zh-TW]", "中文請按 1。")
        page.click("text=Save draft")
        page.wait_for_load_state()
        expect(page.locator('[data-err="opt-2"]')).to_have_text("This key is listed twice.")
        expect(page.locator('[data-err="opt-0"]')).to_have_text("")
        expect(keys.nth(2)).to_have_value("1")
        keys.nth(2).select_option("#")
        page.fill("textarea[name=prompt_text_en]", "For English press 2.")
        page.fill("textarea[name=prompt_text_zh-TW]", "中文請按 1。")
        page.fill("input[name=timeout_s]", "6")
        page.click("text=Save draft")
        page.wait_for_url(f"**{NODE}?notice=draft_saved")
        data = text_data(services.store.kv.get("web.config_draft"))
        assert data["flow"]["nodes"]["pick_language"] == {
            "type": "language", "prompt": "pick_language", "options": {"1": "zh-TW", "2": "en", "#": "en"},
            "timeout_s": 6, "next": "welcome"}
        assert data["prompts"]["pick_language"] == {"en": "For English press 2.", "zh-TW": "中文請按 1。"}
        expect(page.locator('[data-err="opt-2"]')).to_have_text("")

        for suffix in ("", "-zh"):
            if suffix:
                page.click("button[name=lang][value=zh-TW]")
                page.wait_for_load_state()
                page.goto(base + NODE)
                expect(page.locator("body")).to_contain_text("請來電者選擇的語音")
            for width in (360, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                page.screenshot(path=str(shots / f"menu-language{suffix}-{width}.png"), full_page=True)
                assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        browser.close()
    services.store.close()
