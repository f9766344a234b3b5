"""Issue 8's two additions in a real browser (Debian chromium): the analytics page's TTY,
lookup, per-person forward and per-line figures from real simulated calls, and "send
again" on a failed webhook delivery against a real receiver that is down, then back.
Screenshots at 360 px go to a temp dir (printed), with a check that nothing overflows."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from pathlib import Path

import pytest

from firmware.errors import UsageError
from firmware.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from firmware.web import create_app
from tests.ivr.conftest import OPEN
from tests.notify.receiver import Receiver, Reply
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, screenshots_dir, serving, log_in
from tests.web.conftest import PASSWORD, Clock, make_services
from tests.web.test_analytics_usage import logged  # noqa: F401 - the fixture: real simulated calls
from tests.web.test_resend import SECRET, failed_delivery, outbox_for

pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
              pytest.mark.timeout(180)]


def _login(page, base: str) -> None:
    log_in(page, base)


def _no_overflow(page, what: str) -> None:
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"), what


def test_analytics_figures_render(logged: Path) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    services = make_services(logged, Clock(int((OPEN + dt.timedelta(hours=2)).timestamp() * 1000)))
    app = create_app(services)
    with contextlib.suppress(UsageError):  # set up already when test_analytics_usage ran first
        app.state.web.auth.create_owner(PASSWORD)
    shots = screenshots_dir()
    try:
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 360, "height": 800}, locale="en-US")
            _login(page, base)
            page.goto(base + "/analytics?days=7")
            tty = page.locator("#tty-usage")
            assert tty.is_visible() and tty.locator(".tile .num").all_inner_texts() == ["1", "1"]
            lookups = page.locator("#lookup-usage")
            assert lookups.locator("svg[role=img]").is_visible()
            lookups.locator("details.data summary").click()
            assert lookups.locator('[data-figure="failed"]').inner_text() == "1"
            assert lookups.locator('[data-figure="limit_reached"]').inner_text() == "1"
            hunt = page.locator("#hunt-usage")
            assert hunt.locator('tr[data-person="backup"]').is_visible()
            assert "Took the call: 1" in hunt.locator('tr[data-person="backup"]').inner_text()
            assert page.locator('#line-usage [data-line="back"]').inner_text() == "1 call"
            _no_overflow(page, "analytics at 360 px")
            page.screenshot(path=str(shots / "analytics-usage-360.png"), full_page=True)
            browser.close()
    finally:
        services.store.close()


def test_send_again_button(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    clock = Clock()
    services = make_services(tmp_path / "data", clock)
    app = create_app(services)
    app.state.web.auth.create_owner(PASSWORD)
    shots = screenshots_dir()
    with Receiver([Reply(200, '{"ok": true}')]) as rx:
        def hook(data: dict) -> None:
            data["webhooks"] = {"crm": {"url": rx.url + "/hooks", "secret": SECRET}}
        app.state.web.publisher.edit(hook, "hook")
        rx.stop()
        job = failed_delivery(services, clock, rx)  # the engine's outbox gave up on it
        services.outbox = outbox_for(services)  # the page's own
        try:
            with serving(app) as base, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 360, "height": 800}, locale="en-US")
                _login(page, base)
                page.goto(base + "/settings/integrations")
                crm = page.locator("#hook-crm")
                crm.locator("details.failed summary").click()
                row = crm.locator(f'tr[data-job="{job}"]')
                assert "Failed" in row.inner_text()
                row.locator("button.resend").click()  # still down
                page.wait_for_selector(f'#hook-crm li[data-job="{job}"][data-state="retrying"]')
                assert "not all delivered yet" in crm.locator(".notice.resent").inner_text()
                _no_overflow(page, "integrations after a failed resend")
                page.screenshot(path=str(shots / "resend-failed-360.png"), full_page=True)
                rx.start()
                crm.locator(f'tr[data-job="{job}"] button.resend').click()
                page.wait_for_selector(f'#hook-crm li[data-job="{job}"][data-state="delivered"]')
                assert "Sent again: delivered." in crm.locator(".notice.resent").inner_text()
                assert "No failed deliveries." in crm.inner_text()
                page.screenshot(path=str(shots / "resend-delivered-360.png"), full_page=True)
                browser.close()
        finally:
            services.store.close()
        [seen] = rx.requests
        assert verify_signature(SECRET, seen.body, seen.headers[TIMESTAMP_HEADER], seen.headers[SIGNATURE_HEADER],
                                now_s=time.time())
