"""Settings pages: line, e-mail (a test e-mail through aiosmtpd), people, mailboxes (PINs
hashed, never shown), backup and restore (a bad zip changes nothing), system (log tail,
self-test). Every save is a published config version; refusals sit beside their field."""

from __future__ import annotations

import html as htmllib
import io
import re
import socket
import zipfile
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from firmware.settings import load, verify_pin
from firmware.store.backup import inspect_backup
from firmware.web import SelfTestResult, create_app
from firmware.web.context import LANG_COOKIE
from tests.web.conftest import PASSWORD, csrf_of, do_setup, make_services, post


def field_error(html: str, name: str) -> str:
    """The message shown beside form field `name` (by its error span's id)."""
    m = re.search(rf'id="err-{re.escape(name)}" role="alert">([^<]*)<', html)
    return htmllib.unescape(m.group(1)) if m else ""


def test_line_settings_publish_a_version_and_refuse_bad_values(client: TestClient, services) -> None:
    before = services.store.configs.latest().version
    r = post(client, "/settings/line", {"backend": "sim", "device": "", "rings": "40", "transfer": "transfer"})
    assert r.status_code == 422 and "1 to 15" in field_error(r.text, "rings")
    r = post(client, "/settings/line", {"backend": "modem", "device": "", "rings": "3", "transfer": "transfer"})
    assert r.status_code == 422 and "needs 'device'" in field_error(r.text, "device")
    assert services.store.configs.latest().version == before  # nothing published
    r = post(client, "/settings/line", {"backend": "modem", "device": "/dev/ttyACM0", "rings": "4",
                                        "transfer": "conference"})
    assert r.status_code == 303 and r.headers["location"] == "/settings/line?notice=saved"
    line = load(services.config_path).line
    assert (line.backend, line.device, line.rings, line.transfer) == ("modem", "/dev/ttyACM0", 4, "conference")
    assert services.store.configs.latest().note == "line settings"
    r = client.put("/api/settings/line", json={"backend": "sim", "rings": 2}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and load(services.config_path).line.device is None


def test_one_ring_before_caller_id_is_refused_beside_rings(client: TestClient, services) -> None:
    """The page publishes through the same check as `ivrbox config check` (issue 4): on
    the default Taiwan line, answering at ring 1 would class every caller 'unavailable'."""
    before = services.store.configs.latest().version
    form = {"backend": "sim", "device": "", "rings": "1", "transfer": "transfer"}
    r = post(client, "/settings/line", form)
    assert r.status_code == 422 and "sends the caller's number after the first ring" in field_error(r.text, "rings")
    r = client.put("/api/settings/line", json={"backend": "sim", "rings": 1}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 422 and "after the first ring" in r.text
    post(client, "/lang", {"lang": "zh-TW", "next": "/"})
    r = post(client, "/settings/line", form)
    assert r.status_code == 422 and "第一聲鈴響之後才送出來電號碼" in field_error(r.text, "rings")
    assert services.store.configs.latest().version == before  # nothing published
    assert load(services.config_path).line.rings == 2


def test_with_several_lines_the_form_edits_the_chosen_line(client: TestClient, services) -> None:
    import yaml

    text = services.config_path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    doc["line"] = {"rings": 2}
    doc["lines"] = [{"name": "front", "backend": "sim"}, {"name": "back", "backend": "sim"}]
    services.config_path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    page = client.get("/settings/line?line=back")
    assert page.status_code == 200 and "front" in page.text and 'value="back"' in page.text
    r = post(client, "/settings/line", {"line": "back", "backend": "modem", "device": "/dev/ttyACM1",
                                        "rings": "5", "transfer": "transfer"})
    assert r.status_code == 303, r.text
    settings = load(services.config_path)
    back = next(e for e in settings.lines if e.name == "back")
    front = next(e for e in settings.lines if e.name == "front")
    assert (back.backend, back.device, back.rings) == ("modem", "/dev/ttyACM1", 5)
    assert front.backend == "sim" and settings.line.device is None  # the others untouched


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def test_mail_server_test_email_and_the_password_never_shown(client: TestClient, services, smtp_server) -> None:
    port, inbox = smtp_server
    assert "Save the mail server settings first" in client.get("/settings/email").text
    form = {"host": "127.0.0.1", "port": str(port), "security": "none", "username": "office",
            "password": "s3cret-mail-pw", "sender": "not an address"}
    r = post(client, "/settings/email", form)
    assert r.status_code == 422 and "not an e-mail address" in field_error(r.text, "sender")
    assert "s3cret-mail-pw" not in r.text  # not even when the form comes back with errors
    r = post(client, "/settings/email", {**form, "sender": "box@lin-dental.tw"})
    assert r.status_code == 303
    smtp = load(services.config_path).smtp
    assert (smtp.host, smtp.port, smtp.password) == ("127.0.0.1", port, "s3cret-mail-pw")
    page = client.get("/settings/email").text
    assert "s3cret-mail-pw" not in page and "leave empty to keep it" in page
    assert "s3cret-mail-pw" not in client.get("/api/settings").text
    r = post(client, "/settings/email", {**form, "sender": "box@lin-dental.tw", "password": ""})
    assert load(services.config_path).smtp.password == "s3cret-mail-pw"  # empty keeps it
    # this test server has no AUTH: drop the login
    post(client, "/settings/email", {**form, "sender": "box@lin-dental.tw", "username": "", "password": "",
                                     "forget_password": "1"})
    assert load(services.config_path).smtp.password is None

    r = post(client, "/settings/email/test", {"to": "owner@lin-dental.tw"})
    assert r.status_code == 303 and r.headers["location"].endswith("notice=email_sent"), field_error(r.text, "to")
    sender, rcpts, body = inbox.messages[-1]
    assert sender == "box@lin-dental.tw" and rcpts == ["owner@lin-dental.tw"] and b"ivrbox" in body

    r = client.post("/api/settings/smtp/test", json={"to": "x@y.tw"}, headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and len(inbox.messages) == 2


def test_recordings_can_be_mailed_as_mp3_or_opus(client: TestClient, services) -> None:
    form = {"host": "127.0.0.1", "port": "2525", "security": "none", "sender": "box@lin-dental.tw"}
    post(client, "/settings/email", form)
    assert load(services.config_path).smtp.attach_as == "wav"  # plays everywhere: the default
    page = client.get("/settings/email").text
    assert 'name="attach_as"' in page and 'value="mp3"' in page and "not available" not in page
    r = post(client, "/settings/email", {**form, "attach_as": "mp3"})
    assert r.status_code == 303 and load(services.config_path).smtp.attach_as == "mp3"
    assert '<option value="mp3" selected>' in client.get("/settings/email").text
    r = post(client, "/settings/email", {**form, "attach_as": "flac"})
    assert r.status_code == 422 and "Choose how recordings are attached" in field_error(r.text, "attach_as")
    assert load(services.config_path).smtp.attach_as == "mp3"  # nothing lost
    r = client.put("/api/settings/smtp", json={**form, "port": 2525, "attach_as": "opus"},
                   headers={"X-CSRF-Token": csrf_of(client)})
    assert r.status_code == 200 and load(services.config_path).smtp.attach_as == "opus"


def test_a_failing_mail_server_says_why(client: TestClient, services) -> None:
    post(client, "/settings/email", {"host": "127.0.0.1", "port": str(_free_port()), "security": "none",
                                     "sender": "box@lin-dental.tw"})
    r = post(client, "/settings/email/test", {"to": "owner@lin-dental.tw"})
    assert r.status_code == 422 and "did not take the test e-mail" in r.text


def test_people_with_hours_and_messages_beside_fields(client: TestClient, services) -> None:
    r = client.get("/settings/people")
    assert "Reception" in r.text and 'name="number"' in r.text
    rows = {"key": ["reception", "sales", ""], "name": ["Reception", "Sales", "Dr. Lin"],
            "number": ["02-0000-0001", "02-0000-0002", "+886912345678"], "hours": ["", "", "mon-fri"]}
    r = post(client, "/settings/people", rows)
    assert r.status_code == 422 and "days, then times" in field_error(r.text, "hours-new")
    rows["hours"][2] = "mon-fri 09:00-18:00; sat 10:00-12:00"
    r = post(client, "/settings/people", rows)
    assert r.status_code == 422 and "without '+'" in field_error(r.text, "number-new")
    rows["number"][2] = "0912-345-678"
    r = post(client, "/settings/people", rows)
    assert r.status_code == 303
    people = load(services.config_path).people
    assert people["dr_lin"].number == "0912345678" and people["dr_lin"].name == "Dr. Lin"
    assert [(x.start, x.end) for x in people["dr_lin"].hours.ranges_on(5)] == [(600, 720)]  # sat 10-12
    assert "mon-fri 09:00-18:00; sat 10:00-12:00" in client.get("/settings/people").text
    # the flow forwards to "sales": removing it is refused, with the reason at the top
    r = post(client, "/settings/people", {**rows, "remove": "sales"})
    assert r.status_code == 422 and "Nothing was saved" in r.text and "sales" in r.text
    assert "sales" in load(services.config_path).people


def test_mailboxes_pin_reset_hashed_and_never_shown(client: TestClient, services) -> None:
    rows = {"key": ["general", "support", ""], "name": ["General mailbox", "Technical support", "Dr. Lin"],
            "number": ["100", "200", "300"], "email": ["", "", ""], "pin": ["12", "", "4321"]}
    r = post(client, "/settings/mailboxes", rows)
    assert r.status_code == 422 and "4 to 12 digits" in field_error(r.text, "pin-general")
    rows["pin"][0] = "246810"
    rows["email"][2] = "lin@lin-dental.tw"
    r = post(client, "/settings/mailboxes", rows)
    assert r.status_code == 422 and "smtp" in field_error(r.text, "email-new")  # e-mail needs a server
    rows["email"][2] = ""
    r = post(client, "/settings/mailboxes", rows)
    assert r.status_code == 303
    boxes = load(services.config_path).mailboxes
    assert verify_pin("246810", boxes["general"].pin_hash) and verify_pin("4321", boxes["dr_lin"].pin_hash)
    assert boxes["general"].greetings.unavailable.prompt == "leave_message"  # kept
    page = client.get("/settings/mailboxes").text
    assert "246810" not in page and "scrypt$" not in page and "PIN set" in page
    assert "scrypt$" not in client.get("/api/settings/mailboxes").text
    rows["pin"] = ["", "", ""]
    r = post(client, "/settings/mailboxes", {**rows, "key": ["general", "support", "dr_lin", ""],
                                             "name": [*rows["name"], ""], "number": [*rows["number"], ""],
                                             "email": ["", "", "", ""], "pin": ["", "", "", ""],
                                             "clear_pin": "dr_lin"})
    boxes = load(services.config_path).mailboxes
    assert boxes["dr_lin"].pin_hash is None and verify_pin("246810", boxes["general"].pin_hash)


def test_backup_download_and_restore(client: TestClient, services, clock) -> None:
    store = services.store
    kept = store.messages.add("general", text="please call back", caller_number="0911000111", received_ms=clock.ms).id
    r = client.get("/settings/backup/download")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    zip_bytes = r.content
    path = services.store.data.root.parent / "b.zip"
    path.write_bytes(zip_bytes)
    assert inspect_backup(path).files >= 1
    assert not list((services.store.data.root / ".web-backup").glob("*.zip"))  # temp zip removed

    # a bad file is refused with the reason and nothing changes
    store.messages.delete(kept)
    post(client, "/settings/line", {"backend": "sim", "device": "", "rings": "5", "transfer": "transfer"})
    for bad, reason in ((b"not a zip at all", "this is not a backup file from this box (it is not a zip file)"),
                        (_zip_without_db(), "")):
        r = client.post("/settings/restore", data={"csrf": csrf_of(client)},
                        files={"file": ("backup.zip", bad, "application/zip")})
        assert r.status_code == 422 and "nothing was changed" in r.text and reason in r.text
    assert load(services.config_path).line.rings == 5

    # a good one replaces everything; the owner logs in again
    r = client.post("/settings/restore", data={"csrf": csrf_of(client)},
                    files={"file": ("backup.zip", zip_bytes, "application/zip")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?notice=restored_backup"
    assert load(services.config_path).line.rings == 2
    assert store.messages.get(kept) is not None and not store.messages.get(kept).deleted
    page = client.get("/login?notice=restored_backup")
    assert "Backup restored" in page.text
    r = client.post("/login", data={"csrf": csrf_of(client, page.text), "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303


def _zip_without_db() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ivrbox-backup.json", '{"format": 1}')
        zf.writestr("config/current.yaml", "version: 1\n")
    return buf.getvalue()


def test_system_page_log_tail_and_self_test(tmp_path: Path, clock) -> None:
    log = tmp_path / "ivrbox.log"
    log.write_text("".join(f"line {i}\n" for i in range(500)) + "engine ready on line1\n", encoding="utf-8")
    results = [SelfTestResult("config", True, "config.yaml is valid"),
               SelfTestResult("mail server", False, "cannot connect (fix: check smtp.host)")]
    services = make_services(tmp_path / "d", clock, log_path=log, selftest=lambda: results)
    c = TestClient(create_app(services), base_url="http://ivrbox.local")
    do_setup(c)
    page = c.get("/settings/system").text
    assert "engine ready on line1" in page and "line 299" not in page  # the last 200 lines
    r = post(c, "/settings/selftest")
    assert r.status_code == 200
    assert "PASS" in r.text and "FAIL" in r.text and "fix: check smtp.host" in r.text
    r = c.post("/api/selftest", headers={"X-CSRF-Token": csrf_of(c)})
    assert r.json()["ok"] is False and r.json()["results"][1]["name"] == "mail server"
    services.store.close()


def test_settings_overview_links_every_section(client: TestClient) -> None:
    html = client.get("/settings").text
    for href in ("/settings/line", "/settings/email", "/settings/people", "/settings/mailboxes",
                 "/settings/backup", "/settings/system"):
        assert f'href="{href}"' in html
    assert "self-test runs with the call engine" in client.get("/settings/system").text
    assert post(client, "/settings/selftest").status_code == 200


def test_mailbox_number_and_address_problems_are_said_in_words(client: TestClient) -> None:
    """The config checker's own words ("String should match pattern '^[0-9]{1,8}$'")
    never reach the owner: they are said plainly, in the page's language."""
    rows = {"key": ["general", "support", ""], "name": ["General mailbox", "Technical support", ""],
            "number": ["1o0", "200", ""], "email": ["", "", ""], "pin": ["", "", ""]}
    r = post(client, "/settings/mailboxes", rows)
    assert r.status_code == 422 and field_error(r.text, "number-general") == "Digits only, at most 8."
    assert "should match pattern" not in r.text
    client.cookies.set(LANG_COOKIE, "zh-TW")
    r = post(client, "/settings/mailboxes", rows)
    assert r.status_code == 422 and field_error(r.text, "number-general") == "只能填數字，最多 8 位。"


def test_a_wrong_restore_file_is_named_plainly_in_the_page_language(client: TestClient) -> None:
    """Choosing the wrong file says so in words, without the box's temp file name or the
    zip library's words, in English and Chinese."""
    def restore(data: bytes) -> str:
        r = client.post("/settings/restore", data={"csrf": csrf_of(client)},
                        files={"file": ("photo.jpg", data, "image/jpeg")})
        assert r.status_code == 422
        return r.text

    page = restore(b"\xff\xd8\xff not a zip")
    assert "this is not a backup file from this box (it is not a zip file)." in page
    assert "restore-" not in page and "File is not a zip file" not in page
    client.cookies.set(LANG_COOKIE, "zh-TW")
    assert "這不是本機的備份檔（不是 zip 檔）" in restore(b"\xff\xd8\xff not a zip")
