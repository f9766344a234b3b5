"""Analytics for the features beyond the menus, from real simulated calls (SimLine, keys as
DTMF audio, a TTY caller typing Baudot) logged by the real engine in a real SQLite store:
TTY calls and typed messages, lookup results (found / not found / expired / source
failed / attempts used up), each person's forward attempts on a hunt list, and calls per
line; the page's test calls and calls outside the period are left out."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from firmware.appliance import Box
from firmware.errors import UsageError
from firmware.line.sim import SimParty, Silence, parse_script
from firmware.store import LookupEntry
from firmware.web import create_app
from firmware.web.services import TEST_LINE_NAME
from tests.ivr.conftest import DELETE, KNOWN, OPEN, Phone, SpyPrompts
from tests.ivr.test_tty import typing
from tests.web.browser import free_port
from tests.web.conftest import PASSWORD, Clock, csrf_of, make_services

SALES, RECEPTION, BACKUP = "202", "201", "204"
TO_LOOKUP = "wait 0.5; press 67; waitsilence 20"
TO_BROKEN = "wait 0.5; press 68; waitsilence 20"
TO_SALES = "wait 0.5; press 2; wait 120; hangup"


def config(dead_port: int) -> dict:
    ask = {"en": "Key your order number, then pound.", "zh-TW": "請輸入訂單號碼，再按井字鍵。"}
    lookup = {"type": "lookup", "prompt": "lookup_ask", "next": "bye", "fallback": "general_vm",
              "first_digit_timeout_s": 4, "inter_digit_timeout_s": 2}
    return {
        "prompts": {"lookup_ask": ask},
        "people": {"backup": {"name": "Backup desk", "number": BACKUP}},
        "lines": [{"name": "front", "backend": "sim"}, {"name": "back", "backend": "sim"}],
        "flow": {"nodes": {
            "orders": {**lookup, "table": "orders"},
            "broken": {**lookup, "url": f"http://127.0.0.1:{dead_port}/orders?key={{key}}", "timeout_s": 1},
            "main": {"options": {"67": "orders", "68": "broken"}},
            "sales": {"person": DELETE, "people": ["sales", "reception", "backup"]},
        }},
    }


def on_line(phone: Phone, name: str) -> None:
    """Place the next calls on line `name` (the engine logs calls under its line)."""
    box = phone.box
    phone.box.engine = lambda line, **kw: Box.engine(box, line, line_name=name, **kw)  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A data dir whose call log was written by real simulated calls (once per module)."""
    from tests.ivr.conftest import write_config
    from firmware.appliance import ConfigSource, find_audio_dir
    from firmware.ivr.prompts import TextToSpeech

    cache = getattr(request.config, "cache", None)
    tts_dir = Path(cache.mkdir("ivrbox-tts")) if cache else tmp_path_factory.mktemp("tts")
    data = tmp_path_factory.mktemp("usage") / "data"
    path = data / "config" / "current.yaml"
    write_config(path, config(free_port()))
    box = Box(data, ConfigSource(path, fallback=None))
    phone = Phone(box, SpyPrompts(TextToSpeech(tts_dir), find_audio_dir()))
    try:
        phone.store.lookups.replace("orders", [
            LookupEntry("12345", {"en": "Shipped on Monday"}),
            LookupEntry("555", {"": "Ready"}, valid_until="2020-01-01")])
        on_line(phone, "front")
        # 1. a TTY caller: the menu in text, then a typed message in the support mailbox
        phone.call([Silence(1500), typing("HELLO GA"), Silence(15_000), typing("3"),
                    Silence(20_000), typing("PLEASE CALL ME BACK SK"), Silence(15_000),
                    *parse_script("hangup")], number=KNOWN)
        assert phone.first("tty") and phone.of("message_saved")[0]["tty"] is True
        # 2. lookups: found, another number not found, expired, then out of attempts
        phone.call(f"{TO_LOOKUP}; press 12345#; waitsilence 20; press 2; waitsilence 20;"
                   " press 99999#; waitsilence 20; press 555#; waitsilence 20; wait 5; hangup", number=KNOWN)
        assert [d["result"] for d in phone.of("lookup")] == ["found", "not_found", "expired"]
        assert phone.of("lookup_limit")
        # 3. the endpoint is down: the source failed
        phone.call(f"{TO_BROKEN}; press 4242#; waitsilence 20; wait 3; hangup", number=KNOWN)
        assert [d["result"] for d in phone.of("lookup")] == ["failed"]
        # 4. a hunt list on the other line: busy, no answer, then the backup desk takes it
        on_line(phone, "back")
        phone.call(TO_SALES, number=KNOWN, parties={
            SALES: SimParty.busy(), RECEPTION: SimParty.no_answer(),
            BACKUP: SimParty.answers("wait 2.5; press 1; wait 20")})
        assert [d["outcome"] for d in phone.of("forward_result")] == ["busy", "no_answer", "accepted"]
        # 5. the page's own test call and a call a month before: neither is counted
        on_line(phone, TEST_LINE_NAME)
        phone.call([Silence(700), typing("A"), Silence(3000), *parse_script("hangup")], number=KNOWN)
        assert phone.first("tty")
        on_line(phone, "front")
        phone.call([Silence(700), typing("A"), Silence(3000), *parse_script("hangup")], number=KNOWN,
                   when=OPEN - dt.timedelta(days=40))
    finally:
        box.close()
    return data


@pytest.fixture
def page(logged: Path) -> TestClient:
    services = make_services(logged, Clock(int((OPEN + dt.timedelta(hours=2)).timestamp() * 1000)))
    app = create_app(services)
    with contextlib.suppress(UsageError):  # the module's data dir: set up by the first test
        app.state.web.auth.create_owner(PASSWORD)
    client = TestClient(app, base_url="http://ivrbox.local")
    login = client.get("/login")
    r = client.post("/login", data={"csrf": csrf_of(client, login.text), "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 303
    yield client
    services.store.close()


def test_the_numbers_from_real_calls(page: TestClient) -> None:
    n = page.get("/api/analytics?days=7").json()
    assert n["total"] == 4  # the test call and the one 40 days ago are left out
    assert n["tty"] == {"calls": 1, "messages": 1, "dropped": 0}
    assert n["lookups"] == {"results": {"found": 1, "not_found": 1, "expired": 1, "failed": 1},
                            "calls": 2, "limit_reached": 1}
    hunt = {h["person"]: h["outcomes"] for h in n["hunt"]}
    assert hunt == {"sales": {"busy": 1}, "reception": {"no_answer": 1}, "backup": {"accepted": 1}}
    assert n["lines"] == [{"line": "front", "calls": 3}, {"line": "back", "calls": 1}]
    wide = page.get("/api/analytics?days=90").json()
    assert wide["tty"]["calls"] == 2 and wide["lines"][0] == {"line": "front", "calls": 4}


def test_the_page_shows_them_in_en_and_zh_tw(page: TestClient) -> None:
    html = page.get("/analytics?days=7").text
    tty = html.split('id="tty-usage"')[1].split("</section>")[0]
    assert re.search(r'<span class="num">1</span>TTY calls', tty)
    assert re.search(r'<span class="num">1</span>typed messages left', tty)
    lookups = html.split('id="lookup-usage"')[1].split("</section>")[0]
    figures = dict(re.findall(r'data-figure="([a-z_]+)">(\d+)<', lookups))
    assert figures == {"keyed": "4", "calls": "2", "found": "1", "not_found": "1", "expired": "1",
                       "too_short": "0", "failed": "1", "limit_reached": "1"}
    assert "Source failed (no answer)" in lookups and 'role="img"' in lookups
    hunt = html.split('id="hunt-usage"')[1].split("</section>")[0]
    assert "Backup desk" in hunt and "Took the call: 1" in hunt and "Busy: 1" in hunt and "No answer: 1" in hunt
    lines = html.split('id="line-usage"')[1].split("</section>")[0]
    assert re.findall(r'data-line="([^"]+)">([^<]+)<', lines) == [("front", "3 calls"), ("back", "1 call")]
    page.cookies.set("ivrbox_lang", "zh-TW", domain="ivrbox.local")
    zh = page.get("/analytics?days=7").text
    for text in ("文字電話（TTY）來電", "電話查詢", "每人轉接嘗試", "各線路來電", "查詢來源失敗（無回應）", "接聽了"):
        assert text in zh, text
