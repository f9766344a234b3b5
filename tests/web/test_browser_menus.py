"""Menus, hours and history in a real browser (Debian chromium driven by Playwright).

Flow: log in; open the main menu from the diagram; change where keys 2 and 3 go (the
diagram redraws before saving, and a wrong value shows its message as typed); save the
draft; publish; a simulated call pressing 2 (DTMF audio) now reaches the new step;
restore the previous version from the history with one click, and the next call goes
the old way again; hours: add a Saturday range. Screenshots of the pages at 360 and
1280 px (and the menus in zh-TW) go to a temp dir (printed); no page overflows.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.settings import load
from firmware.web import create_app
from firmware.web.auth import ADMIN
from tests.web.conftest import FAST_HASHER, PASSWORD, make_services
from tests.web.menus_helpers import call_published
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS as ARGS, screenshots_dir, serving, log_in

PAGES = ["/menus", "/menus/node/main_menu", "/hours", "/history"]
KEY_2 = "wait 1; press 9; wait 3; press 2; wait 2; hangup"  # English, then key 2 during the menu

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    services = make_services(tmp_path_factory.mktemp("menus-browser") / "data")
    services.store.web.create_user(ADMIN, FAST_HASHER.hash(PASSWORD))  # first run is test_browser's
    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})  # calls reach the menu
    with serving(create_app(services)) as url:
        yield url, services
    services.store.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshots_dir()


def _call(services, script: str):
    """A call on a SimLine in another thread (Playwright's sync API owns this one's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, call_published(services, script)).result(timeout=60)


def _screens(page, base: str, shots: Path, suffix: str = "") -> None:
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        for path in PAGES:
            page.goto(base + path)
            name = path.strip("/").replace("/", "-")
            page.screenshot(path=str(shots / f"{name}{suffix}-{width}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
            assert not overflow, f"{path} overflows at {width} px"


def test_edit_publish_call_and_roll_back_in_a_browser(server, shots) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, services = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda d: d.accept())
        log_in(page, base)

        # -- the diagram links to each step; the step's form redraws it as it changes ------
        page.goto(base + "/menus")
        page.click("[data-diagram] a[data-node=main_menu]")
        page.wait_for_url(base + "/menus/node/main_menu")
        diagram = page.locator("[data-diagram]")
        assert diagram.locator('path[data-edge="main_menu|2|sales"]').count() == 1
        targets = page.locator("select[name=opt_target]")
        targets.nth(1).select_option("support")
        targets.nth(2).select_option("sales")
        expect(diagram.locator('path[data-edge="main_menu|2|support"]')).to_have_count(1)
        expect(diagram.locator('path[data-edge="main_menu|3|sales"]')).to_have_count(1)
        page.fill("input[name=retries]", "11")
        expect(page.locator('[data-err="retries"]')).to_have_text("Must be at most 10.")
        page.fill("input[name=retries]", "3")
        expect(page.locator('[data-err="retries"]')).to_have_text("")
        assert load(services.config_path).flow.nodes["main_menu"].options["2"] == "sales"  # nothing saved yet

        # -- save the draft, publish, and a call follows the new key ----------------------
        page.click("text=Save draft")
        page.wait_for_url("**/menus/node/main_menu?notice=draft_saved")
        expect(page.locator("[data-draft-banner]")).to_be_visible()
        assert _call(services, KEY_2).path[-1] == "sales"  # a draft is not what callers get
        page.fill("[data-draft-banner] input[name=note]", "sales and support swapped")
        page.click("[data-draft-banner] button[data-publish]")
        page.wait_for_url("**/menus/node/main_menu?notice=published")
        assert page.locator("[data-draft-banner]").count() == 0
        summary = _call(services, KEY_2)
        assert summary.path == ("welcome", "office_hours", "main_menu", "support")

        # -- history: one click back to the version before --------------------------------
        page.goto(base + "/history")
        current = page.locator("li.version.current")
        expect(current).to_contain_text("sales and support swapped")
        expect(current).to_contain_text("main_menu: key 2 → support (was sales)")
        page.locator("li.version:not(.current)").first.locator("button").click()
        page.wait_for_url("**/history?notice=rolled_back")
        assert load(services.config_path).flow.nodes["main_menu"].options["2"] == "sales"
        assert _call(services, KEY_2).path[-1] == "sales"

        # -- hours: a Saturday range, saved as a draft ------------------------------------
        page.goto(base + "/hours")
        page.fill("input[name=w_sat_start]", "10:00")
        page.fill("input[name=w_sat_end]", "14:00")
        page.click("text=Save draft")
        page.wait_for_url("**/hours?notice=draft_saved")
        expect(page.locator("[data-draft-banner]")).to_be_visible()

        _screens(page, base, shots)
        page.goto(base + "/menus")
        page.click("button[name=lang][value=zh-TW]")
        page.wait_for_load_state()
        _screens(page, base, shots, "-zh")
        assert not [e for e in errors if "Content Security Policy" in e], errors
        browser.close()
