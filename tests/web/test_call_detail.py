"""The call detail page (/calls/{id}) and its JSON: real calls through the engine on the
simulated line (keys as DTMF audio, a TTY caller as Baudot audio), stored in SQLite,
then read back as the owner's timeline: steps, keys, each forward attempt and how it
ended, the message left (linked), TTY text flagged, why the call ended; the TTY badge
in the list; typed messages in the inbox; a friendly 404 for a call that is not there."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from firmware.appliance import ConfigSource
from firmware.dsp.callerid import CallerIdInfo
from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.line.sim import (HangUp, Press, SimCaller, SimLine, SimParty, Silence, Speak, Wait, WaitForBeep,
                               WaitForSilence)
from firmware.settings import hash_pin
from firmware.ivr.lookup import key_secret, log_key
from firmware.web.context import LANG_COOKIE
from firmware.web.services import WebServices, default_engine_factory
from tests.ivr.conftest import voice
from tests.ivr.test_tty import typing
from tests.web.conftest import Clock

SALES_NO, RECEPTION_NO = "0200000002", "0200000001"  # default.yaml's people, as dialled
CALLER = "0912345678"
WEDNESDAY_10AM = int(dt.datetime(2026, 5, 27, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000)


def to_sales_then_message() -> list:
    """English (9), sales (2), then a message after the beep, and hang up."""
    return [Wait(1000), Press("9"), Wait(3000), Press("2"), WaitForBeep(120_000), Wait(300),
            Speak(voice(2.0)), Wait(800), HangUp()]


async def _call(services: WebServices, script: list, parties: dict[str, SimParty]):
    source = ConfigSource(services.config_path, fallback=None)
    line = SimLine(country=source.current().business.country, parties=parties)
    engine = default_engine_factory(services)(line, source.current, lambda kind, detail: None)
    # every prompt spoken before the call, as a running box does after a publish: on a
    # cold cache the call would wait for espeak-ng in silence paced by the wall clock,
    # and a busy machine could stretch that past the scripts' waits for silence
    prerender = engine.prerender(source.current())
    if prerender is not None:
        await prerender
    await line.open()
    try:
        line.incoming(SimCaller(script, caller_id=CallerIdInfo(number=CALLER)))
        return await engine.handle_call()
    finally:
        await line.close()


def call(services: WebServices, script: list, parties: dict[str, SimParty] | None = None):
    return asyncio.run(_call(services, script, parties or {}))


@pytest.fixture
def office_open(clock: Clock, services: WebServices) -> None:
    """A Wednesday morning in Taipei: the office and its people take calls."""
    clock.ms = WEDNESDAY_10AM
    services.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})


def hunt_sales_then_reception(client: TestClient) -> None:
    def change(data: dict) -> None:
        node = data["flow"]["nodes"]["sales"]
        node.pop("person", None)
        node["people"] = ["sales", "reception"]

    client.app.state.web.publisher.edit(change, "sales hunts to reception")


def rows_of(html: str) -> list[str]:
    """The timeline's rows as text, in order."""
    body = re.search(r'<table class="list call-timeline">.*?</table>', html, re.S)
    assert body is not None, "no timeline on the page"
    rows = re.findall(r"<tr class=\"ev-[^\"]*\"[^>]*>(.*?)</tr>", body.group(0), re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows]


def test_a_call_shows_its_path_keys_attempts_message_and_end(
        client: TestClient, services: WebServices, office_open: None) -> None:
    hunt_sales_then_reception(client)
    summary = call(services, to_sales_then_message(), {SALES_NO: SimParty.busy(), RECEPTION_NO: SimParty.no_answer()})
    assert summary.outcome == "voicemail" and summary.path[-1] == "general_voicemail"
    [message] = services.voicemail.list("general")

    listing = client.get("/calls").text
    assert f'href="/calls/{summary.call_id}"' in listing
    assert "pill-tty" not in listing  # a voice call has no TTY mark

    page = client.get(f"/calls/{summary.call_id}")
    assert page.status_code == 200 and "Traceback" not in page.text
    rows = rows_of(page.text)
    text = "\n".join(rows)
    # every step, in the order the caller went through them
    steps = [re.search(r"Step “(\w+)”", r).group(1) for r in rows if r.split(" ", 1)[1].startswith("Step “")]
    assert steps == ["welcome", "office_hours", "main_menu", "sales", "general_voicemail"]
    assert "Caller pressed 9" in text and "Language: en" in text
    assert "Caller chose 2: on to “sales”" in text
    assert "Opening hours: open, on to “main_menu”" in text
    # each forward attempt with its outcome, by the person's name
    assert "Calling Sales" in text and "Calling Reception" in text
    assert "Sales: Busy (attempt 1 of 2)" in text
    assert "Reception: No answer (attempt 2 of 2)" in text
    assert "Nobody on the list took the call (2 tried)" in text
    assert text.index("Sales: Busy") < text.index("Reception: No answer") < text.index("Message left in")
    # the message, linked to the inbox's message page
    assert re.search(r"Message left in General mailbox \(0:0[12]\)", text)
    assert f'<a class="button small" href="/voicemail/{message.id}">Listen</a>' in page.text
    # why it ended, and the time of each row counted from the answer
    assert "The caller hung up at step “general_voicemail”." in unescape(page.text)
    assert rows[0].startswith("0:00 The box answered (caller not in your lists)")
    assert CALLER in page.text and "Left a message" in page.text
    # and the message's page leads back to the call
    assert f'href="/calls/{summary.call_id}"' in client.get(f"/voicemail/{message.id}").text

    data = client.get(f"/api/calls/{summary.call_id}").json()
    assert data["call"]["id"] == summary.call_id and data["call"]["tty"] is False
    attempts = [(e["detail"]["person"], e["detail"]["outcome"]) for e in data["events"] if e["kind"] == "forward_result"]
    assert attempts == [("sales", "busy"), ("reception", "no_answer")]
    saved = [r for r in data["timeline"] if r["kind"] == "message_saved"]
    assert saved[0]["link"] == f"/voicemail/{message.id}" and saved[0]["flag"] == "good"
    assert data["ended"] == "The caller hung up at step “general_voicemail”."

    client.cookies.set(LANG_COOKIE, "zh-TW")
    zh = unescape(client.get(f"/calls/{summary.call_id}").text)
    assert "Sales：忙線（第 1 位，共 2 位）" in zh and "來電者選擇 2：前往「sales」" in zh
    assert "來電者在步驟「general_voicemail」掛斷。" in zh and "Caller pressed" not in zh


def test_a_call_put_through_says_who_took_it(client: TestClient, services: WebServices, office_open: None) -> None:
    taker = SimParty.answers("wait 2.5; press 1; wait 20")
    summary = call(services, [Wait(1000), Press("9"), Wait(3000), Press("2"), Wait(90_000), HangUp()],
                   {SALES_NO: taker})
    assert summary.outcome == "forwarded"
    text = "\n".join(rows_of(client.get(f"/calls/{summary.call_id}").text))
    assert "Sales picked up" in text and "Sales: Took the call" in text and "(attempt" not in text
    assert "Put through to a person; the box hung up." in client.get(f"/calls/{summary.call_id}").text


def test_the_owner_by_phone_opening_the_office_and_a_login_given_up(
        client: TestClient, services: WebServices, office_open: None) -> None:
    """`*` in support's greeting (a PIN set), the PIN, 8 (open): then a caller who gives
    no PIN after `*` and goes back to the greeting."""
    pin_hash = hash_pin("4711")
    client.app.state.web.publisher.edit(
        lambda data: data["mailboxes"]["support"].update({"pin_hash": pin_hash}), "support PIN")
    quiet = WaitForSilence(ms=1500, timeout_ms=60_000)
    to_support = [Wait(1000), Press("9"), Wait(3000), Press("3"), Wait(1500), Press("*"), Wait(500)]
    owner = call(services, [*to_support, Press("4711#"), quiet, Press("8"), quiet, Press("*"),
                            Wait(3000), HangUp()])
    text = "\n".join(rows_of(client.get(f"/calls/{owner.call_id}").text))
    assert "The owner set the line to open" in text and "back to its opening hours" not in text
    gave_up = call(services, [*to_support, Press("#"), Wait(3000), HangUp()])
    text = "\n".join(rows_of(client.get(f"/calls/{gave_up.call_id}").text))
    assert "No PIN given: back to the greeting of Technical support" in text
    client.cookies.set(LANG_COOKIE, "zh-TW")
    assert "信箱主人把線路設為營業中" in unescape(client.get(f"/calls/{owner.call_id}").text)


def test_a_tty_call_is_marked_and_its_text_shown(client: TestClient, services: WebServices,
                                                 office_open: None) -> None:
    script = [Silence(1500), typing("HELLO GA"), WaitForSilence(2000, 90_000), typing("3"),
              WaitForSilence(2000, 90_000), typing("PLEASE CALL ME SK"), WaitForSilence(2000, 60_000), HangUp()]
    summary = call(services, script)
    voice_call = call(services, [Wait(1000), HangUp()])
    [message] = services.voicemail.list("support")
    assert summary.outcome == "voicemail" and message.text == "PLEASE CALL ME"

    listing = client.get("/calls").text
    marked = re.findall(r'<a href="/calls/(\d+)"[^>]*>[^<]*</a>(?:\s*<span class="pill">[^<]*</span>)?'
                        r'(\s*<span class="pill pill-tty")?', listing)
    assert {int(cid): bool(tty) for cid, tty in marked} == {summary.call_id: True, voice_call.call_id: False}
    assert client.get("/api/calls").json()["calls"][1]["tty"] is True
    csv_rows = client.get("/calls.csv").text.splitlines()
    assert csv_rows[0].endswith(",tty") and csv_rows[2].endswith(",yes") and not csv_rows[1].endswith(",yes")

    page = client.get(f"/calls/{summary.call_id}").text
    text = "\n".join(rows_of(page))
    assert "Text telephone (TTY) heard: the box went on in text" in text
    assert "Caller typed: 3" in text and "Caller chose 3: on to “support”" in text
    assert "The box typed: FOR OUR OPENING HOURS AND ADDRESS, PRESS 1." in text
    assert "Typed message left in Technical support (14 characters)" in text
    assert f'href="/voicemail/{message.id}">Read it</a>' in page
    tty_rows = re.findall(r'<tr class="ev-(\w+)[^"]*" data-kind="\w+">\s*<td[^>]*>[^<]*</td>\s*<td><span class="pill pill-tty">',
                          page)
    assert {"tty", "tty_sent", "tty_typed", "message_saved", "choice"} <= set(tty_rows)
    assert "The menus came to their end and the box said goodbye." in page

    inbox = client.get("/voicemail?box=support").text  # a typed message: "TTY text", no 0:00
    meta = re.search(rf'id="m{message.id}".*?<span class="meta">(.*?)</span>\s*</div>', inbox, re.S).group(1)
    assert "TTY text" in meta and "· 0:00" not in meta
    assert "PLEASE CALL ME" in inbox


def test_a_private_lookup_key_is_never_shown(client: TestClient, services: WebServices) -> None:
    calls = services.store.calls
    cid = calls.start("line1", caller_number=CALLER)
    calls.answered(cid)
    calls.event(cid, 100, "node", "balance", type="lookup")
    calls.event(cid, 5000, "lookup", "balance", key="sha256:0123456789ab", result="not_found", source="table",
                attempt=1)
    calls.event(cid, 9000, "lookup", "balance", key="12345", result="found", source="table", attempt=2)
    logged = log_key("67890", True, key_secret(services.store))  # as a private lookup logs it now
    calls.event(cid, 12000, "lookup", "balance", key=logged, result="found", source="table", attempt=3)
    calls.finish(cid, "handled_in_menu", "goodbye")
    text = "\n".join(rows_of(client.get(f"/calls/{cid}").text))
    assert "Looked up a private number (not kept): Not found (try 1)" in text  # older logs
    assert "Looked up 12345: Found (try 2)" in text
    assert "Looked up a private number (not kept): Found (try 3)" in text
    page = client.get(f"/calls/{cid}").text
    assert "sha256" not in page and logged not in page and logged.split(":")[1] not in page


def test_an_unknown_call_is_a_friendly_404(client: TestClient, fresh: TestClient) -> None:
    for path in ("/calls/999", "/calls/abc", "/calls/99999999999999999999999", "/calls/-1"):
        r = client.get(path)
        assert r.status_code == 404 and "This call is not in the call log" in r.text, path
        assert "Traceback" not in r.text and 'href="/calls"' in r.text
    r = client.get("/api/calls/999")
    assert r.status_code == 404 and r.json() == {"error": "no call 999 in the call log"}
    client.cookies.set(LANG_COOKIE, "zh-TW")
    assert "通話紀錄裡沒有這通電話" in client.get("/calls/999").text


def test_the_detail_needs_a_login(client: TestClient, services: WebServices) -> None:
    cid = services.store.calls.start("line1", caller_number=CALLER)
    services.store.calls.finish(cid, "missed", "missed")
    assert "Not answered: the caller hung up while it rang." in client.get(f"/calls/{cid}").text
    client.cookies.clear()
    r = client.get(f"/api/calls/{cid}")
    assert r.status_code == 401 and CALLER not in r.text
    r = client.get(f"/calls/{cid}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
