"""Integrations and lookup tables in a real browser (Debian chromium): a hook's form shows
only its kind's fields (CSS, no script), and screenshots at 360 and 1280 px go to a temp
dir (printed) with a check that nothing overflows sideways."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.notify.webhook import WEBHOOK_KIND
from firmware.store.lookups import LookupEntry
from firmware.web import create_app
from tests.web.conftest import PASSWORD, Clock, make_services
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS as ARGS, screenshots_dir, serving, log_in

PAGES = ["/settings/integrations", "/lookups", "/lookups/orders"]
LINE_ID = "U" + "0123456789abcdef" * 2

pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]


def _hooks(data: dict) -> None:
    data["page_url"] = "http://ivrbox.local:8080"
    data["webhooks"] = {
        "office_crm": {"url": "https://crm.example.com/hooks/ivrbox", "secret": "s" * 24,
                       "events": ["voicemail", "callback"]},
        "staff_line": {"preset": "line", "token": "channel-token", "target": LINE_ID, "language": "zh-TW",
                       "enabled": False}}


def test_integrations_and_lookups_pages(tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    services = make_services(tmp_path / "data", Clock())
    app = create_app(services)
    app.state.web.auth.create_owner(PASSWORD)
    app.state.web.publisher.edit(_hooks, "hooks")
    job = services.store.jobs.add(WEBHOOK_KIND, {"hook": "office_crm", "delivery": "d", "event": {"event": "voicemail"}})
    services.store.jobs.begin_attempt(job)
    services.store.jobs.dead(job, "webhook 'office_crm': HTTP 401 {\"error\": \"bad signature\"}")
    services.store.lookups.replace("orders", [
        LookupEntry(str(20260000 + i), {"en": f"Order {i} was shipped on May {i + 1}.", "zh-TW": f"訂單 {i} 已於 5 月 {i + 1} 日出貨。"},
                    "2027-12-31" if i % 2 else None) for i in range(60)])
    shots = screenshots_dir()
    try:
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 360, "height": 800}, locale="en-US")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            log_in(page, base)
            page.goto(base + "/settings/integrations")
            crm = page.locator("#hook-office_crm")
            assert crm.locator("input[name=url]").is_visible() and not crm.locator("input[name=token]").is_visible()
            line = page.locator("#hook-staff_line")
            assert line.locator("input[name=token]").is_visible() and not line.locator("input[name=url]").is_visible()
            line.locator("select[name=preset]").select_option("generic")  # the fields follow the kind
            assert line.locator("input[name=url]").is_visible() and not line.locator("input[name=token]").is_visible()
            crm.locator("details.failed summary").click()
            for width in (360, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                for path in PAGES:
                    page.goto(base + path)
                    if path == "/settings/integrations":
                        page.locator("details.failed summary").click()
                    name = path.strip("/").replace("/", "-")
                    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
                    assert not overflow, f"{path} overflows at {width} px"
            assert not [e for e in errors if "Content Security Policy" in e], errors
            browser.close()
    finally:
        services.store.close()
