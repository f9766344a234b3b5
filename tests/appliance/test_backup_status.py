"""Backup / restore (the zip the page shares) and `ivrbox status`, on real data dirs."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from firmware.appliance import StatusBoard
from firmware.cli import main
from firmware.errors import UploadRejected
from firmware.settings import parse
from firmware.store import Store
from firmware.store.backup import MANIFEST, inspect_backup, make_backup, restore_backup

REPO = Path(__file__).resolve().parents[2]


def validate(text: str) -> None:
    parse(text, "backup")


def make_data(root: Path, name: str = "Example Office") -> Path:
    (root / "config").mkdir(parents=True)
    text = (REPO / "config" / "default.yaml").read_text().replace("Example Office", name)
    (root / "config" / "current.yaml").write_text(text)
    store = Store(root)
    call = store.calls.start("line1", caller_number="0912345678")
    store.calls.answered(call)
    store.calls.finish(call, "voicemail", "loop_drop")
    wav = store.data.inside(store.data.voicemail, "general", "msg-1.wav")
    soundfile.write(wav, (np.sin(np.arange(8000) * 0.3) * 8000).astype(np.int16), 8000)
    store.messages.add("general", path=store.data.relative(wav), duration_ms=1000, call_id=call,
                       caller_number="0912345678")
    (store.data.greetings / "welcome.wav").write_bytes(wav.read_bytes())
    store.configs.publish(text, "first")
    store.kv.set("line.hangup_signal", {"kind": "reorder"})
    store.web.create_user("admin", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
    user = store.web.user("admin")
    store.web.open_session(user.id, "tokenhash", "csrf", 60_000)
    store.close()
    return root


def test_backup_restores_into_an_empty_box(tmp_path: Path) -> None:
    src = make_data(tmp_path / "a")
    zip_path = tmp_path / "b.zip"
    info = make_backup(src, zip_path, version="0.1.0")
    assert info.files == 3 and info.schema_version >= 1
    with zipfile.ZipFile(zip_path) as zf:
        assert set(zf.namelist()) == {MANIFEST, "ivrbox.db", "config/current.yaml",
                                      "greetings/welcome.wav", "voicemail/general/msg-1.wav"}
    dest = tmp_path / "new"
    restore_backup(zip_path, dest, validate_config=validate)
    store = Store(dest)
    [message] = store.messages.list()
    assert store.data.absolute(message.path).read_bytes() == \
        (src / "voicemail" / "general" / "msg-1.wav").read_bytes()
    assert len(store.calls.recent()) == 1
    assert store.kv.get("line.hangup_signal") == {"kind": "reorder"}
    assert store.web.user("admin") is not None
    assert store.web.session("tokenhash") is None  # logins never travel in a backup
    store.close()
    assert not [p for p in dest.iterdir() if p.name.startswith(".restore")]


def test_backup_without_history_keeps_messages(tmp_path: Path) -> None:
    src = make_data(tmp_path / "a")
    buf = io.BytesIO()
    make_backup(src, buf, history=False)
    zip_path = tmp_path / "b.zip"
    zip_path.write_bytes(buf.getvalue())
    dest = tmp_path / "new"
    restore_backup(zip_path, dest, validate_config=validate)
    store = Store(dest)
    assert store.calls.recent() == [] and len(store.messages.list()) == 1
    store.close()


def test_restore_replaces_everything_and_leaves_no_old_files(tmp_path: Path) -> None:
    zip_path = tmp_path / "b.zip"
    make_backup(make_data(tmp_path / "a", "Backed Up"), zip_path)
    dest = make_data(tmp_path / "dest", "Current")
    (dest / "voicemail" / "general" / "extra.wav").write_bytes(b"RIFF")
    restore_backup(zip_path, dest, validate_config=validate)
    assert "Backed Up" in (dest / "config" / "current.yaml").read_text()
    assert not (dest / "voicemail" / "general" / "extra.wav").exists()


def _rezip(src: Path, dest: Path, change) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        files = {i.filename: zin.read(i) for i in zin.infolist()}
        change(files)
        for name, data in files.items():
            zout.writestr(name, data)
    return dest


@pytest.mark.parametrize("change, words", [
    (lambda f: f.__setitem__("../evil.txt", b"x"), "not ivrbox data"),
    (lambda f: f.__setitem__("/etc/passwd", b"x"), "not ivrbox data"),
    (lambda f: f.__setitem__("voicemail/.hidden", b"x"), "unsafe file name"),
    (lambda f: f.pop("voicemail/general/msg-1.wav"), "missing from the backup"),
    (lambda f: f.__setitem__("config/current.yaml", b"business: {country: xx}\n"),
     "config is not valid"),
    (lambda f: f.__setitem__("ivrbox.db", b"SQLite format 3\x00" + b"\x00" * 100), "database"),
    (lambda f: f.__setitem__(MANIFEST, json.dumps({"format": 99}).encode()), "format 99"),
    (lambda f: f.pop(MANIFEST), "not an ivrbox backup"),
])
def test_restore_refuses_bad_backups_before_touching_anything(tmp_path: Path, change,
                                                             words: str) -> None:
    good = tmp_path / "good.zip"
    make_backup(make_data(tmp_path / "a"), good)
    bad = _rezip(good, tmp_path / "bad.zip", change)
    dest = make_data(tmp_path / "dest", "Untouched")
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))
    with pytest.raises(UploadRejected, match=words):
        restore_backup(bad, dest, validate_config=validate)
    assert "Untouched" in (dest / "config" / "current.yaml").read_text()
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before


def test_zip_bomb_and_garbage_refused(tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    make_backup(make_data(tmp_path / "a"), good)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info, zin.read(info))
        z.writestr("greetings/zeros.wav", b"\0" * (50 * 1024 * 1024))
    with pytest.raises(UploadRejected, match="unpacks to far more"):
        inspect_backup(bomb)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(UploadRejected, match="not a readable zip"):
        inspect_backup(tmp_path / "junk.zip")
    with pytest.raises(UploadRejected, match="free space"):
        inspect_backup(good, free_bytes=1000)


def test_newer_schema_refused(tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    make_backup(make_data(tmp_path / "a"), good)

    def newer(files: dict) -> None:
        db = tmp_path / "x.db"
        db.write_bytes(files["ivrbox.db"])
        con = sqlite3.connect(db)
        con.execute("PRAGMA user_version = 99")
        con.close()
        files["ivrbox.db"] = db.read_bytes()

    with pytest.raises(UploadRejected, match="schema version 99"):
        inspect_backup(_rezip(good, tmp_path / "newer.zip", newer))


def test_cli_backup_restore_and_busy_engine(tmp_path: Path, capsys) -> None:
    src = make_data(tmp_path / "a")
    out = tmp_path / "cli.zip"
    assert main(["backup", "--data", str(src), "-o", str(out)]) == 0
    assert main(["restore", str(out), "--data", str(tmp_path / "b"), "--check"]) == 0
    StatusBoard(src).set("line1", "idle")  # a stale board: no engine takes the backup
    assert main(["restore", str(out), "--data", str(src), "--wait", "0.3"]) == 2
    assert "did not take the backup within 0.3 s" in capsys.readouterr().err
    assert main(["restore", str(out), "--data", str(src), "--force"]) == 0


def test_status_reports_line_calls_messages_outbox(tmp_path: Path, capsys) -> None:
    data = make_data(tmp_path / "a")
    StatusBoard(data).set("line1", "idle", "USR5637, ulaw", error="modem reset")
    store = Store(data)
    job = store.jobs.add("email", {"to": "x"})
    store.jobs.retry(job, "cannot reach mail server smtp.example.com:587", due_ms=0)
    store.close()
    assert main(["status", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "line1: idle (USR5637, ulaw) since" in out and "last error: modem reset" in out
    assert "calls today: 1 (1 answered)" in out
    assert "new messages: 1 (general 1)" in out
    assert "outbox: 1 waiting, 0 failed" in out and "smtp.example.com" in out
    assert main(["status", "--data", str(data), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["time_zone"] == "Asia/Taipei" and status["config"]["version"] == 1


def test_status_of_an_empty_dir_says_so(tmp_path: Path, capsys) -> None:
    assert main(["status", "--data", str(tmp_path)]) == 2
    assert "no ivrbox data" in capsys.readouterr().err
    shutil.rmtree(tmp_path)
