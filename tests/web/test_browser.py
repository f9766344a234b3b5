"""The owner's page in a real browser (Debian chromium driven by Playwright).

Flows: first-run setup; logout and login; a greeting uploaded through the page (an
espeak-ng recording) is what a simulated call then hears (cross-correlation); a
voicemail left through the simulated line shows in the inbox and plays; a bad upload
and bad form input show their messages; requests without CSRF token or session are
refused. Screenshots of every page at 360 and 1280 px go to a temp dir (printed).
"""

from __future__ import annotations

import asyncio
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from firmware.appliance import ConfigSource
from firmware.dsp.audiofile import read_audio
from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.line.sim import SimCaller, SimLine, parse_script
from firmware.web import create_app
from firmware.web.services import default_engine_factory
from tests.web.conftest import PASSWORD, make_services
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS as ARGS, screenshots_dir, serving

PAGES = ["/", "/voicemail", "/calls", "/callbacks", "/greetings", "/settings"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("browser") / "data"
    services = make_services(data)
    with serving(create_app(services)) as url:
        yield url, services
    services.store.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshots_dir()


def _call(services, script: str) -> tuple[SimCaller, object]:
    """One call into the published flow on a simulated line (never the web's own test line)."""
    source = ConfigSource(services.config_path, fallback=None)

    async def go():
        settings = source.current()
        line = SimLine(country=settings.business.country)
        engine = default_engine_factory(services)(line, source.current, lambda kind, detail: None)
        caller = SimCaller(parse_script(script))
        await line.open()
        try:
            line.incoming(caller)
            summary = await engine.handle_call()
        finally:
            await line.close()
        return caller, summary

    # Playwright's sync API owns this thread's event loop: run the call on another.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result(timeout=120)


def _best_correlation(heard: np.ndarray, reference: np.ndarray) -> float:
    """Peak normalised cross-correlation of `reference` anywhere inside `heard`."""
    h = heard.astype(np.float64)
    r = reference.astype(np.float64)
    n = len(h) + len(r)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(r, size)), size)[: len(h)]
    window = np.convolve(h * h, np.ones(len(r)), mode="full")[len(r) - 1: len(r) - 1 + len(h)]
    norm = np.sqrt(np.maximum(window, 1e-9) * np.sum(r * r))
    return float(np.max(corr / norm))


def test_owner_flows_in_a_browser(server, shots, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    base, services = server
    speech = tmp_path / "greeting.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(speech),
                    "Welcome to Lin Dental. Please hold the line."], check=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(viewport={"width": 360, "height": 780}, locale="en-US")
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        # -- first run: nothing else reachable; a bad form shows its messages ------------
        page.goto(base + "/calls")
        assert page.url.endswith("/setup")
        page.screenshot(path=str(shots / "setup-360.png"), full_page=True)
        page.fill("input[name=password]", "short")
        page.fill("input[name=password2]", "short")
        page.fill("input[name=business]", "")
        page.click("button.primary")
        assert page.locator(".field-error").count() >= 2
        assert "at least 8 characters" in page.content()
        page.screenshot(path=str(shots / "setup-errors-360.png"), full_page=True)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        page.fill("input[name=business]", "Lin Dental Clinic")
        page.select_option("select[name=country]", "tw")
        page.select_option("select[name=timezone]", "Asia/Taipei")
        page.select_option("select[name=language]", "en")
        page.click("button.primary")
        page.wait_for_url(base + "/?notice=welcome")
        assert "Lin Dental Clinic" in page.content()

        # -- logout, login ----------------------------------------------------------------
        page.click("summary[aria-label=Menu]")
        page.click(".menu-panel .logout button")
        page.wait_for_url("**/login?notice=logged_out")
        page.screenshot(path=str(shots / "login-360.png"), full_page=True)
        page.fill("input[name=password]", "not it")
        page.click("button.primary")
        assert "not right" in page.content()
        page.fill("input[name=password]", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(base + "/")

        # -- a bad upload says why; a good one is previewed, saved, and heard on a call --
        page.goto(base + "/greetings")
        junk = tmp_path / "notes.mp3"
        junk.write_bytes(b"definitely not audio" * 50)
        page.locator("#p-welcome > details > summary").click()  # each greeting is folded
        welcome = page.locator("#p-welcome .prompt[data-lang=en]")
        welcome.locator("summary").click()
        welcome.locator("input[type=file]").set_input_files(str(junk))
        welcome.locator("form[enctype] button").click()
        page.wait_for_load_state()
        assert "This is not a sound file the box can read." in page.content()
        welcome = page.locator("#p-welcome .prompt[data-lang=en]")
        welcome.locator("summary").click()
        welcome.locator("input[type=file]").set_input_files(str(speech))
        welcome.locator("form[enctype] button").click()
        page.wait_for_url("**/preview?token=*")
        page.screenshot(path=str(shots / "greeting-preview-360.png"), full_page=True)
        page.click("text=Save and use it")
        page.wait_for_url("**/greetings?notice=greeting*")
        rel = ConfigSource(services.config_path, fallback=None).current().prompts["welcome"].file["en"]
        saved = read_audio(services.store.data.absolute(rel))
        caller, summary = _call(services, "wait 4; hangup")
        assert summary.path[0] == "welcome"
        score = _best_correlation(caller.heard()[: 8000 * 4], saved[: 8000 * 2])
        assert score > 0.9, f"the call did not play the uploaded greeting (correlation {score:.2f})"

        # -- a voicemail left through the simulated line shows in the inbox and plays ----
        services.store.kv.set(OVERRIDE_KEY, {"mode": "closed", "until_ms": None})
        caller, summary = _call(services, f"waitbeep 40; speak {speech}; wait 1; hangup")
        assert summary.outcome == "voicemail", summary
        page.goto(base + "/voicemail?box=general")
        audio = page.locator("audio").first
        assert audio.count() == 1
        duration = page.evaluate("""async () => {
            const a = document.querySelector('audio');
            a.preload = 'auto'; a.load();
            await new Promise((ok, bad) => { a.onloadedmetadata = ok; a.onerror = bad; setTimeout(bad, 5000); });
            return a.duration; }""")
        assert duration > 1.0
        page.evaluate("document.querySelector('audio').play().catch(() => {})")
        page.wait_for_timeout(300)

        # -- CSRF-less and logged-out requests are refused --------------------------------
        status = page.evaluate("""async () => (await fetch('/api/daynight', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify({mode: 'open'})})).status""")
        assert status == 403
        other = browser.new_context()
        r = other.request.get(base + "/api/status")
        assert r.status == 401
        other.close()

        # -- screenshots of every page at two widths --------------------------------------
        for width in (360, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            for path in PAGES:
                page.goto(base + path)
                name = (path.strip("/") or "dashboard").replace("/", "-")
                page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
                assert not overflow, f"{path} overflows at {width} px"
        assert not [e for e in errors if "Content Security Policy" in e], errors
        browser.close()
