"""The greetings page on a phone: an index at the top links to every greeting, grouped
(mailbox greetings, menu prompts, other); each greeting is folded to one line per
language saying what plays now. A mailbox greeting set in the config file as a
recording (mailboxes.X.greetings.*.file) plays in the page from an authenticated route
that serves only a file inside the data dir; a caller on the simulated line hears that
same file. The built-in sentence shows in each of business.languages."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient

from firmware.dsp.audiofile import write_wav
from firmware.web.context import LANG_COOKIE
from firmware.web.services import WebServices
from tests.ivr.conftest import voice
from tests.web.test_call_detail import office_open  # noqa: F401 - fixture
from tests.web.test_mailbox_greetings import _greeting_heard, _kind_line

PROMPTS = ("welcome", "main_menu", "info", "invalid", "no_input", "connecting", "whisper", "closed",
           "holiday", "leave_message", "support_greeting", "goodbye")


def _index(html: str) -> dict[str, list[str]]:
    """Group -> the anchors its index lists, in order."""
    nav = re.search(r'<nav class="card greetings-index".*?</nav>', html, re.S)
    assert nav, "no index at the top of the page"
    return {g: re.findall(r'href="#([\w-]+)"', body)
            for g, body in re.findall(r'<ul class="chips" data-group="(\w+)">(.*?)</ul>', nav.group(0), re.S)}


def _set_file(client: TestClient, box: str, rel: str) -> None:
    client.app.state.web.publisher.edit(
        lambda data: data["mailboxes"][box]["greetings"].update({"unavailable": {"file": rel}}), "file greeting")


def test_index_links_every_greeting_grouped_and_each_is_folded(client: TestClient) -> None:
    page = client.get("/greetings").text
    index = _index(page)
    assert index["mailbox"] == ["m-general", "m-support", "p-leave_message", "p-support_greeting"]
    assert {"p-welcome", "p-main_menu", "p-goodbye"} <= set(index["menu"])
    linked = [a for anchors in index.values() for a in anchors]
    for pid in PROMPTS:  # every greeting linked once, and its target is on the page
        assert linked.count(f"p-{pid}") == 1, pid
        assert f'<section class="card greeting" id="p-{pid}">' in page
    for box in ("general", "support"):
        assert f'id="m-{box}"' in page
    # a prompt no menu or mailbox plays falls under "other"
    client.app.state.web.publisher.edit(
        lambda data: data["prompts"].update({"spare": {"en": "Spare words.", "zh-TW": "備用的話。"}}), "spare")
    index = _index(client.get("/greetings").text)
    assert index["other"] == ["p-spare"] and "p-spare" not in index["menu"]
    # folded: a closed <details> whose summary says, per language, what plays now
    page = client.get("/greetings").text
    welcome = re.search(r'id="p-welcome">\s*<details>\s*<summary>(.*?)</summary>', page, re.S)
    assert welcome, "the welcome greeting is not folded"
    now = dict(re.findall(r'<span class="now" data-lang="([\w-]+)">(.*?)</span>\s*(?=<span class="now"|$)',
                          welcome.group(1), re.S))
    assert set(now) == {"zh-TW", "en"}
    assert "Hello, and thank you for calling" in unescape(now["en"])
    assert "您好" in now["zh-TW"]
    client.cookies.set(LANG_COOKIE, "zh-TW")
    zh = unescape(client.get("/greetings").text)
    for words in ("跳到問候語", "信箱問候語", "選單語音"):
        assert words in zh, words


def test_a_recording_set_in_the_config_plays_in_the_page_and_on_a_call(
        client: TestClient, services: WebServices, office_open: None) -> None:  # noqa: F811
    data = services.store.data
    wav = data.greetings / "support-away.wav"
    write_wav(wav, voice(1.5, level_db=-14))
    _set_file(client, "support", "greetings/support-away.wav")
    page = client.get("/greetings").text
    line = _kind_line(page, "support", "unavailable")
    assert line.startswith("config/unavailable: the recording set in the configuration "
                           "(greetings/support-away.wav)"), line
    url = re.search(r'src="(/greetings/mailbox/support/unavailable/file\?v=\d+)"', page).group(1)
    audio = client.get(url)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content == wav.read_bytes()
    heard = _greeting_heard(services)  # a real call takes the same choice
    assert (heard["source"], heard["slot"]) == ("config", "unavailable")


def test_the_file_route_refuses_outside_missing_unknown_and_anonymous(
        client: TestClient, services: WebServices, tmp_path: Path, office_open: None) -> None:  # noqa: F811
    data = services.store.data
    outside = tmp_path / "secret.wav"
    write_wav(outside, voice(1.0))
    (data.greetings / "escape.wav").symlink_to(outside)  # inside by name, outside in fact
    _set_file(client, "support", "greetings/escape.wav")
    r = client.get("/greetings/mailbox/support/unavailable/file")
    assert r.status_code == 404 and r.content != outside.read_bytes() and "Traceback" not in r.text
    page = client.get("/greetings")
    assert page.status_code == 200
    line = _kind_line(page.text, "support", "unavailable")  # what a caller hears instead, in both languages
    assert "cannot be played, so callers hear the built-in sentence" in line, line
    assert "中文 “Technical support目前無法接聽，請在嗶聲後留言" in line, line
    assert "English “Technical support is not available." in line and "/file?" not in page.text
    heard = _greeting_heard(services)  # the call does not fail on it either
    assert (heard["source"], heard["slot"]) == ("config", "unavailable")
    _set_file(client, "support", "greetings/nowhere.wav")
    assert client.get("/greetings/mailbox/support/unavailable/file").status_code == 404
    assert client.get("/greetings/mailbox/general/unavailable/file").status_code == 404  # a prompt, no file
    assert client.get("/greetings/mailbox/nobody/unavailable/file").status_code == 404
    assert client.get("/greetings/mailbox/support/welcome/file").status_code == 404
    bad = client.get("/greetings/mailbox/..%2F..%2Fconfig/unavailable/file")
    assert bad.status_code == 404 and "Traceback" not in bad.text
    inside = data.greetings / "fine.wav"
    write_wav(inside, voice(1.0))
    _set_file(client, "support", "greetings/fine.wav")
    assert client.get("/greetings/mailbox/support/unavailable/file").content == inside.read_bytes()
    client.cookies.clear()
    anonymous = client.get("/greetings/mailbox/support/unavailable/file", follow_redirects=False)
    assert anonymous.status_code in (303, 401) and anonymous.content != inside.read_bytes()
