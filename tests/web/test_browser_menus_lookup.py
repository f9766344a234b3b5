"""A lookup step made and filled in a real browser (Debian chromium driven by Playwright):
added from the Menus page, reading the owner's table; choosing "web address" hides the
table picker (and back); a wrong address and fewest > most digits show their messages
beside the field as typed (before saving) and clear when fixed; the draft keeps what was
chosen; screenshots at 360 and 1280 px, en and zh-TW, and no overflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.store.lookups import LookupEntry
from firmware.web import create_app
from firmware.web.auth import ADMIN
from firmware.web.configs import text_data
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS as ARGS, screenshots_dir, serving, log_in
from tests.web.conftest import FAST_HASHER, PASSWORD, make_services

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
NODE = "/menus/node/order_status"


def test_lookup_step_added_checked_and_saved_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    services = make_services(tmp_path / "data")
    services.store.web.create_user(ADMIN, FAST_HASHER.hash(PASSWORD))
    services.store.lookups.replace("orders", [LookupEntry("12345", {"": "Shipped"})])
    shots = screenshots_dir()
    with serving(create_app(services)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US").new_page()
        log_in(page, base)

        page.goto(base + "/menus")
        add = page.locator("form[action='/menus/add']")
        add.locator("select[name=type]").select_option(label="Information by phone")
        add.locator("input[name=id]").fill("order_status")
        add.locator("button").click()
        page.wait_for_url(f"**{NODE}?notice=added")

        table, url = page.locator("select[name=table]"), page.locator("input[name=url]")
        expect(table).to_be_visible()
        expect(table).to_have_value("orders")
        expect(url).to_be_hidden()
        page.check("input[name=source][value=url]")
        expect(table).to_be_hidden()
        expect(url).to_be_visible()
        url.fill("ftp://orders.example.com")
        url_error = page.locator('[data-err="url"]')
        expect(url_error).to_have_text("Write an address starting with http:// or https://.")
        url.fill("https://orders.example.com/status")
        expect(url_error).to_have_text("")

        page.fill("input[name=min_digits]", "8")
        page.fill("input[name=max_digits]", "4")
        digits_error = page.locator('[data-err="max_digits"]')
        expect(digits_error).to_have_text("Must not be fewer than the fewest digits.")
        page.fill("input[name=max_digits]", "10")
        expect(digits_error).to_have_text("")

        page.fill("textarea[name=prompt_text_en]", "Key your order number, then pound.")
        page.fill("textarea[name=prompt_text_zh-TW]", "請輸入訂單號碼，再按井字鍵。")
        page.check("input[name=private]")
        page.select_option("select[name=repeat_key]", "")
        page.click("text=Save draft")
        page.wait_for_url(f"**{NODE}?notice=draft_saved")
        node = text_data(services.store.kv.get("web.config_draft"))["flow"]["nodes"]["order_status"]
        assert node["url"] == "https://orders.example.com/status" and "table" not in node
        assert (node["min_digits"], node["max_digits"], node["private"], node["repeat_key"]) == (8, 10, True, None)
        expect(url).to_be_visible()
        expect(page.locator("input[name=private]")).to_be_checked()
        page.check("input[name=source][value=table]")  # and back: the picker shows again
        expect(table).to_be_visible()
        expect(url).to_be_hidden()

        for suffix in ("", "-zh"):
            if suffix:
                page.click("button[name=lang][value=zh-TW]")
                page.wait_for_load_state()
                page.goto(base + NODE)
                expect(page.locator("body")).to_contain_text("查詢資料的來源")
            for width in (360, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                page.screenshot(path=str(shots / f"menu-lookup{suffix}-{width}.png"), full_page=True)
                assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        browser.close()
    services.store.close()
