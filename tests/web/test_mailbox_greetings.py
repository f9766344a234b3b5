"""The greetings page tells what each mailbox's callers hear now: a greeting recorded by
phone (through a real call on the simulated line: `*`, the PIN, 3, 1, speak, keep), its
date, its audio in the browser; removing it makes the configured greeting play again, as
a real call afterwards shows. The temporary greeting (by phone or set here with an end),
the busy greeting falling back to the unavailable one, the built-in sentence, zh-TW, and
refusals (no CSRF, no login, unknown mailbox or kind, a path outside)."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from firmware.dsp.audiofile import write_wav
from firmware.ivr.greetings import keep_phone_greeting, phone_greeting_path
from firmware.line.sim import HangUp, Press, Speak, Wait, WaitForBeep, WaitForSilence
from firmware.settings import hash_pin
from firmware.web import fmt
from firmware.web.context import LANG_COOKIE
from firmware.web.routes.mailbox_greetings import where
from firmware.web.services import WebServices
from tests.ivr.conftest import voice
from tests.web.conftest import csrf_of, post
from tests.web.test_call_detail import call, office_open  # noqa: F401 - fixture

PIN = "4711"
TO_SUPPORT = [Wait(1000), Press("9"), Wait(3000), Press("3")]  # English, support's voicemail
QUIET = WaitForSilence(ms=1500, timeout_ms=60_000)


def _with_pin(client: TestClient) -> None:
    pin_hash = hash_pin(PIN)
    client.app.state.web.publisher.edit(
        lambda data: data["mailboxes"]["support"].update({"pin_hash": pin_hash}), "support PIN")


def _record_by_phone(services: WebServices, key: str) -> None:
    """The owner's menu by phone: `*` in the greeting, the PIN, 3 greetings, `key`,
    speak after the beep, # , then 1 to keep it."""
    summary = call(services, [*TO_SUPPORT, Wait(1500), Press("*"), Wait(500), Press(f"{PIN}#"), QUIET,
                              Press("3"), Wait(500), Press(key), WaitForBeep(60_000), Wait(300),
                              Speak(voice(2.0, level_db=-16)), Press("#"), QUIET, Press("1"), QUIET,
                              Press("*"), Wait(3000), HangUp()])
    assert "greeting_recorded" in _kinds(services, summary.call_id)


def _kinds(services: WebServices, call_id: int) -> list[str]:
    return [e.kind for e in services.store.calls.events(call_id)]


def _greeting_heard(services: WebServices) -> dict:
    """A caller reaches support's voicemail: which greeting played (the call's own log)."""
    summary = call(services, [*TO_SUPPORT, Wait(6000), HangUp()])
    events = [e.detail for e in services.store.calls.events(summary.call_id) if e.kind == "greeting"]
    assert len(events) == 1
    return events[0]


def _section(html: str, box: str) -> str:
    """The text of one mailbox's block on the greetings page."""
    m = re.search(rf'<div class="prompt mailbox-greeting" id="m-{box}">(.*?)\n  </div>', html, re.S)
    assert m, f"no block for mailbox {box}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", m.group(1))).split())


def _kind_line(html: str, box: str, kind: str) -> str:
    block = re.search(rf'id="m-{box}">(.*?)\n  </div>', html, re.S).group(1)
    m = re.search(rf'data-kind="{kind}" data-source="(\w[\w-]*)" data-slot="(\w+)">(.*?)</div>', block, re.S)
    assert m, f"no {kind} line for {box}"
    words = re.sub(r"<strong>.*?</strong>", "", m.group(3), count=1)  # the kind's name
    return f"{m.group(1)}/{m.group(2)}: " + " ".join(unescape(re.sub(r"<[^>]+>", " ", words)).split())


def test_a_greeting_recorded_by_phone_shows_plays_and_is_removed(
        client: TestClient, services: WebServices, office_open: None) -> None:  # noqa: F811
    _with_pin(client)
    assert 'href="/greetings#m-support"' in client.get("/settings/mailboxes").text  # the way there
    page = client.get("/greetings").text
    assert _kind_line(page, "support", "unavailable").startswith("config/unavailable: the greeting “support greeting”")
    assert "Recorded by phone" not in _section(page, "support")

    _record_by_phone(services, "1")
    path = phone_greeting_path(where(client.app.state.web), "support", "unavailable")
    recorded = fmt.stamp(int(path.stat().st_mtime * 1000), services.settings().business.zone)
    page = client.get("/greetings").text
    line = _kind_line(page, "support", "unavailable")
    assert line.startswith(f"phone/unavailable: recorded by phone on {recorded}"), line
    # support has no busy greeting: busy callers hear the unavailable one, the recording
    assert _kind_line(page, "support", "busy").startswith("phone/unavailable: recorded by phone"), page
    assert len(re.findall(r'src="/greetings/mailbox/support/unavailable/audio', page)) == 2  # now + list
    assert "Playing" in _section(page, "support")
    assert _kind_line(page, "general", "unavailable").startswith("config/unavailable: the greeting “leave message”")
    # the browser's player gets the very recording, only with a login
    url = re.search(r'src="(/greetings/mailbox/support/unavailable/audio\?v=\d+)"', page).group(1)
    audio = client.get(url)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == path.read_bytes()
    api = client.get("/api/greetings/mailboxes").json()["mailboxes"]
    support = next(m for m in api if m["id"] == "support")
    assert support["playing"][0]["source"] == "phone" and support["recordings"][0]["on"] is True
    # and a caller hears it
    assert (_greeting_heard(services)["source"], _greeting_heard(services)["slot"]) == ("phone", "unavailable")

    # removing it needs the page's CSRF token; then the configured greeting plays again
    assert client.post("/greetings/mailbox/support/unavailable/remove", data={},
                       follow_redirects=False).status_code == 403
    assert path.exists()
    r = post(client, "/greetings/mailbox/support/unavailable/remove")
    assert r.status_code == 303 and r.headers["location"] == "/greetings?removed=unavailable#m-support"
    assert not path.exists()
    page = client.get(r.headers["location"]).text
    assert "Recording removed." in page
    assert _kind_line(page, "support", "unavailable").startswith("config/unavailable: the greeting “support greeting”")
    assert client.get(url).status_code == 404
    heard = _greeting_heard(services)
    assert (heard["source"], heard["slot"]) == ("config", "unavailable")
    # removing it twice says there is nothing to remove, without a traceback
    again = post(client, "/greetings/mailbox/support/unavailable/remove")
    assert again.status_code == 409 and "No greeting was recorded by phone for this." in again.text


def test_a_temporary_greeting_by_phone_plays_instead_of_both_until_turned_off(
        client: TestClient, services: WebServices, office_open: None) -> None:  # noqa: F811
    _with_pin(client)
    _record_by_phone(services, "3")
    page = client.get("/greetings").text
    for kind in ("unavailable", "busy"):
        line = _kind_line(page, "support", kind)
        assert line.startswith("phone/temporary: the temporary greeting recorded by phone on"), line
    assert "Turn off the temporary greeting" in _section(page, "support")
    assert _greeting_heard(services)["slot"] == "temporary"
    r = post(client, "/greetings/mailbox/support/temporary/remove")
    assert r.status_code == 303
    page = client.get("/greetings").text
    assert _kind_line(page, "support", "unavailable").startswith("config/unavailable:")
    heard = _greeting_heard(services)
    assert (heard["source"], heard["slot"]) == ("config", "unavailable")


def test_a_phone_recording_replaced_by_a_newer_config_choice_is_shown_as_such(
        client: TestClient, services: WebServices, tmp_path: Path) -> None:
    web = client.app.state.web
    wav = tmp_path / "greeting.wav"
    write_wav(wav, voice(1.0))
    keep_phone_greeting(where(web), "general", "unavailable", wav)  # as the owner's menu keeps it
    assert _kind_line(client.get("/greetings").text, "general", "unavailable").startswith("phone/unavailable:")
    web.publisher.edit(lambda data: data["mailboxes"]["general"]["greetings"].update(
        {"unavailable": {"prompt": "support_greeting"}}), "general: another greeting")
    section = client.get("/greetings").text
    assert _kind_line(section, "general", "unavailable").startswith(
        "config/unavailable: the greeting “support greeting”")
    assert "Replaced by the greeting set here" in _section(section, "general")


def test_set_here_temporary_with_its_end_and_the_built_in_sentence(
        client: TestClient, services: WebServices) -> None:
    web = client.app.state.web
    now = fmt.local(services.clock_ms(), services.settings().business.zone).replace(tzinfo=None)
    until = (now + dt.timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)

    def change(data: dict) -> None:
        data["mailboxes"]["support"]["greetings"]["temporary"] = {
            "prompt": "leave_message", "until": until.isoformat()}
        data["mailboxes"]["general"]["greetings"] = {}

    web.publisher.edit(change, "temporary and built-in")
    page = client.get("/greetings").text
    line = _kind_line(page, "support", "busy")
    assert line == f"config/temporary: the temporary greeting set here, until {until:%Y-%m-%d %H:%M} Change", line
    line = _kind_line(page, "general", "busy")  # in each of business.languages (zh-TW, en)
    assert line.startswith("built-in/busy: the built-in sentence, in the caller's language: "
                           "中文 “General mailbox正在通話中"), line
    assert "English “General mailbox is on another call." in line, line
    client.cookies.set(LANG_COOKIE, "zh-TW")
    page = unescape(client.get("/greetings").text)
    assert "各信箱目前播放給來電者的問候語" in page and f"此處設定的臨時問候語，播放到 {until:%Y-%m-%d %H:%M}" in page


def test_unknown_mailbox_kind_path_and_login_are_refused(client: TestClient,
                                                         services: WebServices, tmp_path: Path) -> None:
    wav = tmp_path / "g.wav"
    write_wav(wav, voice(1.0))
    keep_phone_greeting(where(client.app.state.web), "general", "busy", wav)
    assert client.get("/greetings/mailbox/general/busy/audio").status_code == 200
    assert client.get("/greetings/mailbox/nobody/busy/audio").status_code == 404
    assert client.get("/greetings/mailbox/general/welcome/audio").status_code == 404
    assert client.get("/greetings/mailbox/general/unavailable/audio").status_code == 404  # none recorded
    assert client.get("/greetings/mailbox/..%2F..%2Fivrbox.db/busy/audio").status_code == 404
    assert post(client, "/greetings/mailbox/nobody/busy/remove").status_code == 404
    bad = post(client, "/greetings/mailbox/general/..%2Fx/remove")
    assert bad.status_code == 404 and "Traceback" not in bad.text
    client.cookies.clear()
    anonymous = client.get("/greetings/mailbox/general/busy/audio", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    csrf = csrf_of(client)
    r = client.post("/greetings/mailbox/general/busy/remove", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code in (303, 401, 403)
    assert phone_greeting_path(where(client.app.state.web), "general", "busy").exists()
