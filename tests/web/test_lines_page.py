"""Adding and removing phone lines on the page (/settings/lines...): each change a
published config version; problems from the config's own models shown beside the
field, in the page's language; the last line kept; CSRF on every form."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from firmware.settings import devices, line_list, load
from firmware.web.context import LANG_COOKIE
from tests.web.conftest import csrf_of, post

FIELD_ERROR = re.compile(r'<span class="field-error" id="err-(\w+)"[^>]*>([^<]*)</span>')


def _errors(html: str) -> dict[str, str]:
    return {field: unescape(text) for field, text in FIELD_ERROR.findall(html)}


def _version(services) -> int:
    latest = services.store.configs.latest()
    return latest.version if latest else 0


@pytest.fixture
def modems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two USB modems the box 'sees' in a /dev of its own: ttyACM0 with its by-id link
    (offered once, by the by-id name) and ttyUSB0 without one."""
    dev = tmp_path / "dev"
    by_id = dev / "serial" / "by-id"
    by_id.mkdir(parents=True)
    (dev / "ttyACM0").touch()
    (dev / "ttyUSB0").touch()
    (by_id / "usb-Conexant_USB_Modem_24680-if00").symlink_to("../../ttyACM0")
    monkeypatch.setattr(devices, "DEV", dev)
    return ["/dev/serial/by-id/usb-Conexant_USB_Modem_24680-if00", "/dev/ttyUSB0"]


def test_add_a_modem_line_to_a_one_line_box(client: TestClient, services, modems: list[str]) -> None:
    page = client.get("/settings/line").text
    assert 'href="/settings/lines/new"' in page and 'data-line-row="line1"' in page
    assert "/remove" not in page and "The last line cannot be removed" in page
    form = client.get("/settings/lines/new").text
    for device in modems:
        assert f'<option value="{device}"' in form  # offered as found on this box
    assert '<option value="/dev/ttyACM0"' not in form  # the by-id name stands for it
    assert '<option value="closed">closed · Announcement</option>' in form  # entry nodes of the flow
    assert 'name="csrf"' in form
    before = _version(services)
    r = post(client, "/settings/lines", {"name": "front-desk", "backend": "modem", "device_found": modems[0],
                                         "device": "", "rings": "4", "transfer": "", "entry": "main_menu"})
    assert r.status_code == 303 and r.headers["location"] == "/settings/line?notice=line_added&line=front-desk"
    settings = load(services.config_path)
    assert [(e.name, e.backend, e.device, e.rings, e.entry) for e in settings.lines] == [
        ("line1", "sim", None, None, None), ("front-desk", "modem", modems[0], 4, "main_menu")]
    assert settings.line.backend == "sim" and settings.line.device is None  # moved into lines[0]
    latest = services.store.configs.latest()
    assert latest.version == before + 1 and latest.note == "line front-desk added"
    page = client.get(r.headers["location"]).text
    assert "Line added." in page
    assert re.findall(r'data-line-row="([^"]+)"', page) == ["line1", "front-desk"]
    assert 'action="/settings/lines/front-desk/remove"' in page and "data-confirm=" in page
    # the device now belongs to front-desk: offered as taken, and refused for a third line
    form = client.get("/settings/lines/new").text
    assert re.search(rf'<option value="{re.escape(modems[0])}" disabled>[^<]*\(line front-desk\)', form)
    r = post(client, "/settings/lines", {"name": "back", "backend": "modem", "device": modems[0]})
    assert r.status_code == 422 and "already uses" in _errors(r.text)["device"]
    # the same modem by its other name is the same modem
    r = post(client, "/settings/lines", {"name": "back", "backend": "modem", "device": "/dev/ttyACM0"})
    assert r.status_code == 422
    assert _errors(r.text)["device"] == "Another line already uses '/dev/ttyACM0': one device can answer only one line."
    assert '<option value="/dev/ttyUSB0">/dev/ttyUSB0</option>' in r.text  # still free


def test_typed_device_wins_over_the_found_one(client: TestClient, services, modems: list[str]) -> None:
    r = post(client, "/settings/lines", {"name": "back", "backend": "modem", "device_found": modems[0],
                                         "device": " /dev/ttyUSB3 "})
    assert r.status_code == 303
    assert line_list(load(services.config_path))[-1].device == "/dev/ttyUSB3"


def test_every_problem_is_named_beside_its_field_and_nothing_is_published(
        client: TestClient, services) -> None:
    before = _version(services)
    r = post(client, "/settings/lines", {"name": "2nd line", "backend": "modem", "device": "", "rings": "x"})
    assert r.status_code == 422 and "Traceback" not in r.text
    errors = _errors(r.text)
    assert errors["name"].startswith("Start with a letter")
    assert errors["device"].startswith("Choose or type the device")
    assert errors["rings"] == "Write a whole number from 1 to 15, or leave it empty."
    assert 'value="2nd line"' in r.text  # what was typed stays in the form
    r = post(client, "/settings/lines", {"name": "line1", "backend": "sim", "rings": "40"})
    errors = _errors(r.text)
    assert errors["name"] == "There is already a line called 'line1': choose another name."
    assert "rings" in errors
    r = post(client, "/settings/lines", {"name": "", "backend": "pots"})
    assert _errors(r.text).keys() >= {"name", "backend"}
    assert _version(services) == before and not load(services.config_path).lines
    # a step that does not exist (the API takes any text): the model's check, re-said
    r = client.post("/api/settings/lines", json={"name": "back", "entry": "nowhere"},
                    headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 422 and r.json()["fields"]["entry"] == ["There is no step 'nowhere'."]
    client.cookies.set(LANG_COOKIE, "zh-TW")
    r = post(client, "/settings/lines", {"name": "line1", "backend": "fxo"})
    errors = _errors(r.text)
    assert errors["name"] == "已經有名為「line1」的線路：請換一個名稱。"
    assert errors["device"].startswith("請選擇或輸入裝置")
    assert _version(services) == before


def test_csrf_is_required(client: TestClient, services) -> None:
    before = _version(services)
    r = client.post("/settings/lines", data={"name": "back", "backend": "sim"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/settings/lines/line1/remove", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert _version(services) == before and not load(services.config_path).lines


def test_remove_a_line_and_never_the_last(client: TestClient, services) -> None:
    for name in ("front", "back"):
        assert post(client, "/settings/lines", {"name": name, "backend": "sim"}).status_code == 303
    assert [e.name for e in load(services.config_path).lines] == ["line1", "front", "back"]
    before = _version(services)
    r = post(client, "/settings/lines/line1/remove")
    assert r.status_code == 303 and r.headers["location"] == "/settings/line?notice=line_removed"
    assert "Line removed." in client.get(r.headers["location"]).text
    assert services.store.configs.latest().note == "line line1 removed"
    r = client.delete("/api/settings/lines/front", headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and r.json()["version"] == before + 2
    assert [e.name for e in load(services.config_path).lines] == ["back"]
    page = client.get("/settings/line").text
    assert "/remove" not in page  # no remove button for the last line
    r = post(client, "/settings/lines/back/remove")
    assert r.status_code == 422 and "at least one line" in r.text and "Traceback" not in r.text
    r = post(client, "/settings/lines/ghost/remove")
    assert r.status_code == 422 and "There is no line called 'ghost'." in unescape(r.text)
    assert _version(services) == before + 2
    # history keeps every step: going back to before the removals brings the lines back
    r = post(client, f"/history/{before}/rollback")
    assert r.status_code == 303
    assert [e.name for e in load(services.config_path).lines] == ["line1", "front", "back"]


@pytest.mark.parametrize("device", ["spy:///dev/ttyACM0?file=/var/lib/ivrbox/ivrbox.db", "socket://10.0.0.9:7000",
                                    "/var/lib/ivrbox/ivrbox.db", "/dev/../var/lib/ivrbox/ivrbox.db"])
def test_a_device_that_is_not_a_serial_port_is_refused_on_both_pages(
        client: TestClient, services, device: str) -> None:
    before = _version(services)
    r = post(client, "/settings/lines", {"name": "back", "backend": "modem", "device": device})
    assert r.status_code == 422 and "Traceback" not in r.text
    assert _errors(r.text)["device"].startswith(f"'{device}' is not a serial port: choose one that was found")
    r = post(client, "/settings/line", {"backend": "modem", "device": device, "rings": "2", "transfer": "transfer"})
    assert r.status_code == 422 and f"&#39;{device}&#39; is not a serial port" in r.text.replace("&#x27;", "&#39;")
    r = client.post("/api/settings/lines", json={"name": "back", "backend": "fxo", "device": "/dev/snd/x",
                                                  "board": "/etc/ivrbox/secrets.yaml"},
                    headers={"X-CSRF-Token": csrf_of(client)})
    fields = r.json()["fields"]
    assert r.status_code == 422 and fields["device"][0].startswith("'/dev/snd/x' is not a sound card")
    assert fields["board"] == ["There is no pin map '/etc/ivrbox/secrets.yaml': choose one of "
                               "ivrbox-fxo-minimal, ivrbox-fxo-ref."]
    client.cookies.set(LANG_COOKIE, "zh-TW")
    r = post(client, "/settings/lines", {"name": "back", "backend": "modem", "device": device})
    assert _errors(r.text)["device"].startswith(f"「{device}」不是序列埠")
    assert _version(services) == before and not load(services.config_path).lines


def test_start_step_choices_name_the_kind_of_step_in_the_page_language(client: TestClient) -> None:
    """The owner picks where a line's calls start by step name and kind in words, never
    the config's type codes ("play", "schedule")."""
    for path in ("/settings/line", "/settings/lines/new"):
        page = client.get(path).text
        assert '<option value="office_hours">office_hours · Opening hours</option>' in page, path
        assert "· schedule<" not in page and "· play<" not in page, path
    client.cookies.set(LANG_COOKIE, "zh-TW")
    for path in ("/settings/line", "/settings/lines/new"):
        page = client.get(path).text
        assert '<option value="closed">closed · 播放語音</option>' in page, path
        assert "· Announcement<" not in page, path
