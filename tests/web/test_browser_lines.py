"""Adding and removing a line in a real browser (Debian chromium): the page served as
`ivrbox run` serves it (web_services over a Box and the status board), a line added
through the form shows in the line list and on the dashboard, and is removed after the
page's confirmation; screenshots at 360 and 1280 px (printed dir), nothing overflowing."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.appliance import Box, ConfigSource, StatusBoard, data_config_path, web_services
from firmware.settings import load
from firmware.web import create_app
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS as ARGS, screenshots_dir, serving, log_in
from tests.web.conftest import FAST_HASHER, PASSWORD

pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]


def test_add_a_line_see_it_then_remove_it(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    data = tmp_path / "data"
    box = Box(data, ConfigSource(data_config_path(data)))
    status = StatusBoard(box.store.data.root)
    status.set("line1", "idle")
    services = web_services(box, status, engine_in_process=True)
    services.password_hasher = FAST_HASHER
    app = create_app(services)
    app.state.web.auth.create_owner(PASSWORD)
    shots = screenshots_dir()
    try:
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            asked: list[str] = []

            def confirm(dialog) -> None:  # type: ignore[no-untyped-def]
                asked.append(dialog.message)
                dialog.accept()

            page.on("dialog", confirm)
            log_in(page, base)
            assert page.locator("[data-line]").count() == 0  # one line: the single card

            page.goto(base + "/settings/line")
            page.click("text=Add a line")
            page.wait_for_url(base + "/settings/lines/new")
            page.fill("input[name=name]", "2nd")  # refused by the config's own check
            page.click("button:has-text('Add the line')")
            assert "Start with a letter" in page.locator("#err-name").inner_text()
            page.fill("input[name=name]", "front-desk")
            page.select_option("select[name=backend]", "sim")
            page.select_option("select[name=entry]", "closed")
            page.click("button:has-text('Add the line')")
            page.wait_for_url("**/settings/line?notice=line_added&line=front-desk")
            rows = page.locator("[data-line-row]")
            assert [rows.nth(i).get_attribute("data-line-row") for i in range(rows.count())] == ["line1", "front-desk"]
            assert load(services.config_path).lines[1].entry == "closed"

            page.goto(base + "/")
            assert page.locator('[data-line="front-desk"]').is_visible()
            assert "Line front-desk:" in page.locator('[data-line="front-desk"]').inner_text()

            for width in (360, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                for path in ("/settings/line", "/settings/lines/new"):
                    page.goto(base + path)
                    name = path.strip("/").replace("/", "-")
                    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
                    assert not overflow, f"{path} overflows at {width} px"

            page.goto(base + "/settings/line")
            page.locator('[data-line-row="front-desk"] button:has-text("Remove")').click()
            page.wait_for_url("**/settings/line?notice=line_removed")
            assert asked and "front-desk" in asked[0] and "finishes first" in asked[0]
            assert page.locator("[data-line-row]").count() == 1
            assert [e.name for e in load(services.config_path).lines] == ["line1"]
            page.goto(base + "/")
            assert page.locator('[data-line="front-desk"]').count() == 0
            assert not [e for e in errors if "Content Security Policy" in e], errors
            browser.close()
    finally:
        box.close()
