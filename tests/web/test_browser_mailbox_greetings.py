"""The greetings page's mailbox section in a real browser (Debian chromium) at 360 and
1280 px, in English and Chinese: the page is short on a phone (an index at the top jumps
to each greeting, each folded to one line per language); a greeting recorded by phone through a real call shows
with its date and plays in the page's audio player; the remove button (a form with the
page's CSRF token) brings the configured greeting back, as the next real call hears."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.line.sim import HangUp, Wait
from firmware.web import create_app
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium, screenshots_dir, serving, log_in
from tests.web.conftest import PASSWORD, Clock, make_services
from tests.web.test_call_detail import WEDNESDAY_10AM, call
from tests.web.test_mailbox_greetings import PIN, TO_SUPPORT, _record_by_phone

OVERFLOW = "document.documentElement.scrollWidth > window.innerWidth + 1"
MAX_PHONE_HEIGHT = 3600  # px at 360 wide; unfolded it was 7,359 (en) / 7,221 (zh-TW), folded ~2,800
DURATION_JS = """async (selector) => {
    const a = document.querySelector(selector);
    a.preload = 'auto'; a.load();
    await new Promise((ok, bad) => { a.onloadedmetadata = ok; a.onerror = bad; setTimeout(bad, 5000); });
    return a.duration; }"""


def _heard_source(services) -> tuple[str, str]:
    summary = call(services, [*TO_SUPPORT, Wait(6000), HangUp()])
    greeting = next(e.detail for e in services.store.calls.events(summary.call_id) if e.kind == "greeting")
    return greeting["source"], greeting["slot"]


@needs_chromium
@pytest.mark.timeout(240)
def test_phone_greeting_shown_played_and_removed_at_360_and_1280_px(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from firmware.settings import hash_pin

    services = make_services(tmp_path / "data", Clock(WEDNESDAY_10AM))
    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    app = create_app(services)
    app.state.web.auth.create_owner(PASSWORD)
    pin_hash = hash_pin(PIN)
    app.state.web.publisher.edit(lambda data: data["mailboxes"]["support"].update({"pin_hash": pin_hash}),
                                 "support PIN")
    _record_by_phone(services, "1")
    assert _heard_source(services) == ("phone", "unavailable")
    shots = screenshots_dir()
    playing = '#m-support [data-kind=unavailable][data-source=phone] audio'
    try:
        with serving(app) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for locale, words in (("en-US", "recorded by phone on"), ("zh-TW", "用電話錄製")):
                for width in (360, 1280):
                    page = browser.new_page(viewport={"width": width, "height": 800}, locale=locale)
                    errors: list[str] = []
                    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                    log_in(page, base)
                    page.goto(base + "/greetings")
                    line = page.locator("#m-support [data-kind=unavailable][data-source]")
                    assert words in line.inner_text() and line.is_visible()
                    assert page.evaluate(DURATION_JS, playing) > 1.5  # the 2 s spoken by phone
                    assert not page.evaluate(OVERFLOW), f"/greetings overflows at {width} px"
                    height = page.evaluate("document.documentElement.scrollHeight")
                    if width == 360:  # 13 greetings x 2 languages unfolded were 7,359 px (en)
                        assert height < MAX_PHONE_HEIGHT, f"/greetings is {height} px tall at 360 px"
                        page.locator('#greetings-index a[href="#p-welcome"]').click()  # the index jumps
                        assert page.locator("#p-welcome").is_visible()
                        assert page.evaluate("Math.abs(document.getElementById('p-welcome')"
                                             ".getBoundingClientRect().top) < 5")
                        page.evaluate("window.scrollTo(0, 0)")
                    page.screenshot(path=str(shots / f"mailbox-greetings-{locale}-{width}.png"), full_page=True)
                    page.locator("#mailbox-greetings").screenshot(
                        path=str(shots / f"mailbox-greetings-section-{locale}-{width}.png"))
                    assert not errors, errors
                    page.close()
            # the owner removes the recording: the configured greeting plays again
            page = browser.new_page(viewport={"width": 360, "height": 800}, locale="en-US")
            log_in(page, base)
            page.goto(base + "/greetings")
            page.locator("#m-support details.more summary").click()
            page.locator("#m-support .phone-recording[data-kind=unavailable] button").click()
            page.wait_for_url("**/greetings?removed=unavailable*")
            assert "Recording removed." in page.content()
            line = page.locator("#m-support [data-kind=unavailable][data-source]")
            assert line.get_attribute("data-source") == "config" and "support greeting" in line.inner_text()
            assert page.locator("#m-support .phone-recording").count() == 0
            page.screenshot(path=str(shots / "mailbox-greetings-removed-360.png"), full_page=True)
            browser.close()
    finally:
        services.store.close()
    services = make_services(tmp_path / "data", Clock(WEDNESDAY_10AM))
    try:
        assert _heard_source(services) == ("config", "unavailable")
    finally:
        services.store.close()
