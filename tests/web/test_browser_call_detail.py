"""The call log and a call's timeline in a real browser (Debian chromium) at 360 and
1280 px, in English and Chinese: a row of the list opens the call; the TTY badge and the
timeline's rows are visible; the long TTY text wraps instead of overflowing."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.line.sim import HangUp, SimParty, Silence, WaitForSilence
from firmware.web import create_app
from tests.ivr.test_tty import typing
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium, screenshots_dir, serving, log_in
from tests.web.conftest import PASSWORD, Clock, make_services
from tests.web.test_call_detail import SALES_NO, WEDNESDAY_10AM, call, to_sales_then_message

OVERFLOW = "document.documentElement.scrollWidth > window.innerWidth + 1"


@needs_chromium
@pytest.mark.timeout(180)
def test_open_a_call_from_the_list_at_360_and_1280_px(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    services = make_services(tmp_path / "data", Clock(WEDNESDAY_10AM))
    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    app = create_app(services)
    app.state.web.auth.create_owner(PASSWORD)
    voice_call = call(services, to_sales_then_message(), {SALES_NO: SimParty.busy()})
    tty_call = call(services, [Silence(1500), typing("HELLO GA"), WaitForSilence(2000, 90_000), typing("3"),
                               WaitForSilence(2000, 90_000), typing("PLEASE CALL ME SK"),
                               WaitForSilence(2000, 60_000), HangUp()])
    shots = screenshots_dir()
    try:
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for locale, busy, typed in (("en-US", "Sales: Busy", "Caller typed: 3"),
                                        ("zh-TW", "Sales：忙線", "來電者輸入：3")):
                for width in (360, 1280):
                    page = browser.new_page(viewport={"width": width, "height": 800}, locale=locale)
                    errors: list[str] = []
                    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                    log_in(page, base)
                    page.goto(base + "/calls")
                    assert not page.evaluate(OVERFLOW), f"/calls overflows at {width} px"
                    page.screenshot(path=str(shots / f"calls-{locale}-{width}.png"), full_page=True)
                    assert page.locator(f'a[href="/calls/{tty_call.call_id}"] ~ .pill-tty').is_visible()
                    assert page.locator(f'a[href="/calls/{voice_call.call_id}"] ~ .pill-tty').count() == 0
                    page.locator(f'a[href="/calls/{voice_call.call_id}"]').first.click()
                    page.wait_for_url(f"{base}/calls/{voice_call.call_id}")
                    assert page.locator("tr.ev-forward_result").inner_text().count(busy) == 1
                    assert page.locator("tr.ev-message_saved a").is_visible()
                    assert not page.evaluate(OVERFLOW), f"a call overflows at {width} px"
                    page.screenshot(path=str(shots / f"call-voice-{locale}-{width}.png"), full_page=True)
                    page.goto(f"{base}/calls/{tty_call.call_id}")
                    assert typed in page.locator("tr.ev-tty_typed").first.inner_text()
                    assert page.locator("tr.ev-tty .pill-tty").is_visible()
                    assert not page.evaluate(OVERFLOW), f"a TTY call overflows at {width} px"
                    page.screenshot(path=str(shots / f"call-tty-{locale}-{width}.png"), full_page=True)
                    assert not errors, errors
                    page.close()
            browser.close()
    finally:
        services.store.close()
