"""The test call, settings and analytics pages in a real browser (Debian chromium).

A test call from the keypad: the page connects its WebSocket, plays the audio through
Web Audio, a key tapped on the keypad reaches the engine as DTMF and the transcript
shows the menu choice; hang-up ends the call. Then screenshots of the settings
sections and the analytics page at 360 and 1280 px (into a temp dir, printed), with a
check that nothing overflows the screen sideways.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from firmware.web import SelfTestResult, create_app
from firmware.web.routes.testcall import calls_of
from tests.web.conftest import PASSWORD, Clock, make_services
from tests.web.test_analytics import seed
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, screenshots_dir, serving, log_in
from tests.web.test_testcall import short_flow

ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
PAGES = ["/testcall", "/analytics", "/settings", "/settings/line", "/settings/email", "/settings/people",
         "/settings/mailboxes", "/settings/backup", "/settings/system"]

pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
              pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):

    data = tmp_path_factory.mktemp("browser-testcall") / "data"
    log = data.parent / "ivrbox.log"
    log.write_text("2026-05-29 04:20:01 ivrbox.engine INFO line1 ready\n"
                   "2026-05-29 04:21:13 ivrbox.engine INFO line1 call_end {'outcome': 'voicemail'}\n")
    services = make_services(data, Clock(), log_path=log, selftest=lambda: [
        SelfTestResult("config", True, "config/current.yaml is valid"),
        SelfTestResult("mail server", False, "no smtp section (fix: set up the mail server under Settings → E-mail)")])
    app = create_app(services)
    web = app.state.web
    web.auth.create_owner(PASSWORD)
    web.publisher.edit(short_flow, "short test flow")
    seed(services.store)
    with serving(app, ws="websockets-sansio") as url:
        yield url, services, app
    services.store.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshots_dir()


def test_test_call_keypad_settings_and_analytics_in_a_browser(server, shots) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, services, app = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 360, "height": 780}, locale="en-US")
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        log_in(page, base)

        # -- the page's resampler: 8 kHz in 20 ms chunks -> 48 kHz, no clicks at the joins --
        page.goto(base + "/testcall")
        worst = page.evaluate("""() => {
            const {Resampler, IN_RATE, HALF_TAPS} = window.ivrboxTestCall;
            const out_rate = 48000, hz = 1000, rs = new Resampler(IN_RATE, out_rate);
            const x = Float32Array.from({length: 8000}, (_, i) => 0.5 * Math.sin(2 * Math.PI * hz * i / IN_RATE));
            const parts = [];
            for (let i = 0; i < x.length; i += 160) parts.push(...rs.push(x.subarray(i, i + 160)));
            let worst = 0;
            for (let n = 600; n < parts.length - 600; n++) {  // away from the start-up edge
                const t = HALF_TAPS + n * IN_RATE / out_rate;
                worst = Math.max(worst, Math.abs(parts[n] - 0.5 * Math.sin(2 * Math.PI * hz * t / IN_RATE)));
            }
            return [worst, parts.length];
        }""")
        assert worst[1] > 47_000 and worst[0] < 1e-3, worst  # within 0.1 % of full scale of the ideal sine

        # -- a test call: the keypad's key reaches the engine, the transcript shows it ------
        page.goto(base + "/testcall")
        box = page.locator("[data-testcall]")
        keypad_one = page.locator("[data-keypad] [data-digit='1']")
        expect(keypad_one).to_be_disabled()
        page.click("[data-call-start]")
        expect(box).to_have_attribute("data-state", "live", timeout=10_000)
        transcript = page.locator("[data-transcript]")
        expect(transcript).to_contain_text("Playing “main_menu”", timeout=10_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "testcall-live-360.png"), full_page=True)
        keypad_one.click()
        expect(transcript).to_contain_text("You pressed 1", timeout=5_000)
        expect(transcript).to_contain_text("Choice 1: on to info", timeout=5_000)
        expect(transcript).to_contain_text("Playing “info”", timeout=5_000)
        frames = int(box.get_attribute("data-frames") or "0")
        assert frames > 50, f"only {frames} audio frames reached the page"
        played = page.evaluate("document.querySelector('[data-testcall]').dataset.frames")
        assert int(played) >= frames
        page.keyboard.press("9")  # keyboard digits work too (main menu: no option 9)
        expect(transcript).to_contain_text("You pressed 9", timeout=8_000)
        page.click("[data-call-hangup]")
        expect(box).to_have_attribute("data-state", "ended", timeout=8_000)
        expect(transcript).to_contain_text("Call ended.")
        page.screenshot(path=str(shots / "testcall-ended-360.png"), full_page=True)
        deadline = time.monotonic() + 5
        while calls_of(app).active and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls_of(app).active == 0

        # -- a call ended by leaving the page ------------------------------------------------
        page.click("[data-call-start]")
        expect(box).to_have_attribute("data-state", "live", timeout=10_000)
        page.goto(base + "/settings/system")
        deadline = time.monotonic() + 5
        while calls_of(app).active and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls_of(app).active == 0, "leaving the page did not end the test call"

        # -- the self-test button shows PASS/FAIL lines with the fix -----------------------
        page.click("#selftest button.primary")
        expect(page.locator(".checks")).to_contain_text("FAIL")
        expect(page.locator(".checks")).to_contain_text("fix: set up the mail server")
        page.screenshot(path=str(shots / "settings-selftest-360.png"), full_page=True)

        # -- a bad value is refused beside its field ---------------------------------------
        page.goto(base + "/settings/line")
        page.fill("input[name=rings]", "99")
        page.click("form button.primary")
        expect(page.locator("#err-rings")).to_contain_text("1 to 15")
        page.screenshot(path=str(shots / "settings-line-error-360.png"), full_page=True)

        # -- every page of mine at two widths, in English and Chinese ----------------------
        for width in (360, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for path in PAGES:
                page.goto(base + path)
                name = path.strip("/").replace("/", "-")
                page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
                assert not overflow, f"{path} overflows at {width} px"
        page.set_viewport_size({"width": 360, "height": 780})
        page.click("button[name=lang][value=zh-TW]")
        for path in ("/analytics", "/testcall"):
            page.goto(base + path)
            page.screenshot(path=str(shots / f"{path.strip('/')}-zh-360.png"), full_page=True)
        assert not [e for e in errors if "status of 422" not in e], errors  # 422: the refused rings
        browser.close()
