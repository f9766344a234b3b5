"""`business.announce_tty` on the line settings page (a published config version, form
and API), and the calls page's line column, shown only when the box has several lines."""

from __future__ import annotations

import re

import yaml
from fastapi.testclient import TestClient

from firmware.settings import load
from tests.web.conftest import csrf_of, post


def test_announce_tty_checkbox_publishes_a_version(client: TestClient, services) -> None:
    page = client.get("/settings/line").text
    box = re.search(r'<input type="checkbox" name="announce_tty"[^>]*>', page).group(0)
    assert "checked" not in box and load(services.config_path).business.announce_tty is False
    before = services.store.configs.latest().version
    r = post(client, "/settings/tty", {"announce_tty": "on"})
    assert r.status_code == 303 and r.headers["location"] == "/settings/line?notice=saved"
    assert load(services.config_path).business.announce_tty is True
    latest = services.store.configs.latest()
    assert latest.version == before + 1 and latest.note == "TTY announcement on"
    box = re.search(r'<input type="checkbox" name="announce_tty"[^>]*>', client.get("/settings/line").text).group(0)
    assert "checked" in box
    assert post(client, "/settings/tty", {}).status_code == 303  # an unticked box sends nothing
    assert load(services.config_path).business.announce_tty is False
    r = client.put("/api/settings/tty", json={"announce_tty": True}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and r.json()["version"] == before + 3
    assert load(services.config_path).business.announce_tty is True


def _two_calls(services, clock) -> None:
    for i, line in enumerate(("front", "back")):
        cid = services.store.calls.start(line, caller_number=f"091100000{i}", started_ms=clock.ms - i * 60_000)
        services.store.calls.finish(cid, "voicemail", ended_ms=clock.ms - i * 60_000 + 30_000)


def test_calls_page_names_the_line_only_with_several(client: TestClient, services, clock) -> None:
    _two_calls(services, clock)
    html = client.get("/calls").text
    assert "Calls found: 2" in html and 'class="call-line"' not in html and "<th>Line</th>" not in html
    doc = yaml.safe_load(services.config_path.read_text(encoding="utf-8"))
    doc["line"] = {"rings": 2}
    doc["lines"] = [{"name": "front", "backend": "sim"}, {"name": "back", "backend": "sim"}]
    services.config_path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    html = client.get("/calls").text
    assert "<th>Line</th>" in html
    cells = re.findall(r'<td class="call-line"[^>]*>([^<]*)</td>', html)
    assert cells == ["front", "back"]
