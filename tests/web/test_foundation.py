"""First run, login, sessions, CSRF, headers, errors and language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.testclient import TestClient

from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.settings import load
from firmware.web import LineState, create_app
from tests.web.conftest import PASSWORD, csrf_of, do_setup, make_services, post


def test_nothing_is_reachable_before_setup(fresh: TestClient) -> None:
    for url in ("/", "/calls", "/voicemail", "/login", "/api/status", "/api/openapi.json"):
        r = fresh.get(url, follow_redirects=False)
        assert r.status_code in (303, 409), url
        if url.startswith("/api"):
            assert r.json()["location"] == "/setup"
        else:
            assert r.headers["location"] == "/setup"
    assert fresh.get("/setup").status_code == 200


def test_setup_validates_every_field(fresh: TestClient) -> None:
    page = fresh.get("/setup")
    r = fresh.post("/setup", data={"csrf": csrf_of(fresh, page.text), "password": "short",
                                   "password2": "x", "business": "", "timezone": "Mars/Base",
                                   "country": "xx", "language": "fr"})
    assert r.status_code == 422
    for text in ("at least 8 characters", "business name", "time zone", "country", "language"):
        assert text in r.text
    assert not fresh.app.state.web.has_owner()


def test_setup_sets_owner_business_and_logs_in(fresh: TestClient, services) -> None:
    do_setup(fresh, business="Chen & Sons", timezone="America/New_York", country="us")
    settings = load(services.config_path)
    assert settings.business.name == "Chen & Sons"
    assert settings.business.timezone == "America/New_York"
    assert settings.business.country == "us"
    assert settings.business.default_language == "en"
    assert services.store.configs.latest().note == "first-run setup"
    r = fresh.get("/")
    assert r.status_code == 200 and "Chen &amp; Sons" in r.text
    # the setup page is gone once done
    assert fresh.get("/setup", follow_redirects=False).headers["location"] == "/"
    stored = services.store.web.user("admin").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_login_logout_and_cookie_flags(client: TestClient) -> None:
    post(client, "/logout")
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    page = client.get("/login")
    r = client.post("/login", data={"csrf": csrf_of(client, page.text), "password": PASSWORD,
                                    "next": "/calls"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/calls"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/").status_code == 200


def test_login_refuses_open_redirect(client: TestClient) -> None:
    post(client, "/logout")
    page = client.get("/login")
    r = client.post("/login", data={"csrf": csrf_of(client, page.text), "password": PASSWORD,
                                    "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_wrong_passwords_back_off(client: TestClient, clock) -> None:
    post(client, "/logout")
    statuses = []
    for _ in range(5):
        page = client.get("/login")
        r = client.post("/login", data={"csrf": csrf_of(client, page.text), "password": "nope"})
        statuses.append(r.status_code)
    assert statuses[:3] == [401, 401, 429] or statuses[:2] == [401, 401]
    assert 429 in statuses and "Wait" in r.text
    # even the right password waits while throttled
    page = client.get("/login")
    r = client.post("/login", data={"csrf": csrf_of(client, page.text), "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 429
    clock.ms += 60_000
    page = client.get("/login")
    r = client.post("/login", data={"csrf": csrf_of(client, page.text), "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303


def test_csrf_is_required_for_forms_and_json(client: TestClient, services) -> None:
    r = client.post("/daynight", data={"mode": "closed"}, follow_redirects=False)
    assert r.status_code == 403 and "expired" in r.text
    r = client.post("/daynight", data={"mode": "closed", "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/api/daynight", json={"mode": "closed"})
    assert r.status_code == 403 and r.json()["error"]
    assert services.store.kv.get(OVERRIDE_KEY) is None
    r = client.post("/api/daynight", json={"mode": "closed"}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and r.json()["effective"] == "closed"


def test_logged_out_api_is_refused(client: TestClient) -> None:
    other = TestClient(client.app, base_url="http://ivrbox.local")
    r = other.get("/api/status")
    assert r.status_code == 401
    r = other.post("/api/daynight", json={"mode": "open"})
    assert r.status_code in (401, 403)


def test_password_change_ends_other_sessions(client: TestClient) -> None:
    other = TestClient(client.app, base_url="http://ivrbox.local")
    r = other.post("/api/login", json={"password": PASSWORD}, headers={"X-CSRF-Token": csrf_of(other)})
    assert r.status_code == 200
    assert other.get("/api/status").status_code == 200
    web = client.app.state.web
    state_session = web.auth.resolve(client.cookies.get("ivrbox_session"))
    assert web.auth.change_password(state_session, PASSWORD, "a new long secret")
    assert other.get("/api/status").status_code == 401
    assert client.get("/api/status").status_code == 200


def test_security_headers_on_every_response(client: TestClient) -> None:
    for url in ("/", "/static/app.css", "/no/such/page"):
        h = client.get(url).headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"


def test_pages_have_no_inline_script(client: TestClient) -> None:
    html = client.get("/").text
    assert "<script>" not in html and "onclick" not in html.lower()
    assert '<script src="/static/app.js' in html


def test_friendly_error_page_never_a_traceback(tmp_path, caplog) -> None:
    def broken() -> LineState:
        raise RuntimeError("secret internal detail")

    services = make_services(tmp_path / "d", line_state=broken)
    c = TestClient(create_app(services), base_url="http://ivrbox.local", raise_server_exceptions=False)
    do_setup(c)
    with caplog.at_level(logging.ERROR):
        r = c.get("/")
    assert r.status_code == 500
    assert "Something went wrong" in r.text
    assert "secret internal detail" not in r.text and "Traceback" not in r.text
    assert "secret internal detail" in caplog.text
    r = c.get("/api/status")
    assert r.status_code == 500 and "secret" not in r.text
    r = c.get("/nowhere")
    assert r.status_code == 404 and "Page not found" in r.text
    services.store.close()


def test_language_from_browser_and_switch(client: TestClient) -> None:
    client.cookies.delete("ivrbox_lang")  # the setup page chose English explicitly
    r = client.get("/", headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-TW">' in r.text and "總覽" in r.text
    r = client.get("/", headers={"Accept-Language": "en-US"})
    assert '<html lang="en">' in r.text
    post(client, "/lang", {"lang": "zh-TW", "next": "/"})
    r = client.get("/", headers={"Accept-Language": "en-US"})
    assert "總覽" in r.text


def test_dashboard_shows_line_state_and_counts(tmp_path, clock) -> None:
    services = make_services(tmp_path / "d", clock, line_state=lambda: LineState("missing", "USB modem gone"))
    c = TestClient(create_app(services), base_url="http://ivrbox.local")
    do_setup(c)
    store = services.store
    call = store.calls.start("line1", caller_number="0912345678", started_ms=clock.ms - 60_000)
    store.calls.finish(call, "voicemail", ended_ms=clock.ms)
    store.messages.add("general", text="hello", caller_number="0912345678", received_ms=clock.ms)
    store.callbacks.request("0911222333", at_ms=clock.ms)
    s = c.get("/api/status").json()
    assert s["line"]["state"] == "missing"
    assert (s["calls_today"], s["new_messages"], s["pending_callbacks"]) == (1, 1, 1)
    html = c.get("/").text
    assert "Phone line device missing" in html and "0912345678" in html
    services.store.close()


def test_day_night_switch(client: TestClient, services) -> None:
    r = post(client, "/daynight", {"mode": "closed", "until": "next"})
    assert r.status_code == 303
    state = services.store.kv.get(OVERRIDE_KEY)
    assert state["mode"] == "closed"
    assert "Follow opening hours" in client.get("/").text
    post(client, "/daynight", {"mode": "auto"})
    assert services.store.kv.get(OVERRIDE_KEY) is None


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "/api/status" in spec["paths"] and "/api/login" in spec["paths"]


def test_every_string_has_a_traditional_chinese_translation() -> None:
    from tests.web.i18n_check import missing

    assert missing() == []


def test_password_change_page(client: TestClient) -> None:
    r = post(client, "/settings/password", {"old": "wrong one", "new": "brand new secret", "new2": "brand new secret"})
    assert r.status_code == 422 and "not right" in r.text
    r = post(client, "/settings/password", {"old": PASSWORD, "new": "short", "new2": "short"})
    assert r.status_code == 422 and "at least 8" in r.text
    r = post(client, "/settings/password", {"old": PASSWORD, "new": "brand new secret", "new2": "brand new secret"})
    assert r.status_code == 303
    post(client, "/logout")
    page = client.get("/login")
    r = client.post("/login", data={"csrf": csrf_of(client, page.text), "password": "brand new secret"},
                    follow_redirects=False)
    assert r.status_code == 303


def _unsafe_routes(routes: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every state-changing route, through included routers (FastAPI
    keeps them as wrappers in newer releases, flattened in older ones)."""
    found: list[tuple[str, str]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += _unsafe_routes(inner.routes, prefix + route.include_context.prefix)
        elif getattr(route, "methods", None):
            found += [(m, prefix + route.path) for m in sorted(route.methods - {"GET", "HEAD", "OPTIONS"})]
    return found


def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(client: TestClient) -> None:
    """The gate covers every route, including ones added later: each POST/PUT/PATCH/DELETE
    route the app has, called by a logged-in owner without the token or with a forged
    one, is refused before it runs."""
    import re

    unsafe = _unsafe_routes(client.app.routes)
    assert len(unsafe) > 40  # forms and their JSON twins: the whole page, not a sample
    for method, path in unsafe:
        url = re.sub(r"\{[^}]+\}", "1", path)
        for form in ({"x": "1"}, {"csrf": "forged"}):
            r = client.request(method, url, data=form, follow_redirects=False)
            if path in ("/setup", "/api/setup"):  # set up already: sent away, never run
                assert r.status_code in (303, 409), (method, path, r.status_code)
                continue
            assert r.status_code == 403, (method, path, form, r.status_code)
