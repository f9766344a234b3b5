"""`ivrbox preseed`: the boot partition's settings, merged, published, then deleted."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from firmware.cli import main
from firmware.settings import load
from firmware.store import Store
from firmware.web.auth import hash_password, verify_password

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def owner_hash() -> str:
    return hash_password("correct horse battery")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "boot" / "ivrbox.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_example_file_applies_and_is_removed(tmp_path: Path, owner_hash: str, capsys) -> None:
    example = (REPO / "hw" / "image" / "ivrbox.yaml.example").read_text()
    text = example.replace("$argon2id$v=19$m=65536,t=3,p=4$REPLACE$WITH-YOUR-OWN-HASH", owner_hash)
    path = write(tmp_path, text)
    data = tmp_path / "data"
    assert main(["preseed", str(path), "--data", str(data)]) == 0
    assert not path.exists()
    out = capsys.readouterr().out
    assert "config published as version" in out and "secret" not in out
    settings = load(data / "config" / "current.yaml")
    assert settings.business.name == "Smith & Sons Plumbing"
    assert settings.business.country == "us" and settings.business.timezone == "America/Chicago"
    assert settings.line.backend == "modem" and settings.line.device == "/dev/ttyACM0"
    assert settings.smtp is not None and settings.smtp.host == "smtp.example.com"
    store = Store(data)
    user = store.web.user("admin")
    assert user is not None and verify_password(user.password_hash, "correct horse battery")
    assert store.configs.latest().note == "first boot (preseed)"
    store.close()


def test_second_preseed_changes_password_and_keeps_other_settings(tmp_path: Path,
                                                                owner_hash: str) -> None:
    data = tmp_path / "data"
    path = write(tmp_path, f"business: {{name: First}}\nadmin_password_hash: '{owner_hash}'\n")
    assert main(["preseed", str(path), "--data", str(data)]) == 0
    other = hash_password("another password 2")
    path = write(tmp_path, f"line: {{backend: fxo, device: 'hw:1'}}\nadmin_password_hash: '{other}'\n")
    assert main(["preseed", str(path), "--data", str(data)]) == 0
    settings = load(data / "config" / "current.yaml")
    assert settings.business.name == "First" and settings.line.backend == "fxo"
    store = Store(data)
    assert verify_password(store.web.user("admin").password_hash, "another password 2")
    assert [v.note for v in store.configs.list()][:2] == ["first boot (preseed)"] * 2
    store.close()


def test_smtp_takes_every_field_of_the_config(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = write(tmp_path, "smtp: {host: mail.example.com, sender: box@example.com, "
                           "timeout_s: 20, attach_as: mp3}\n")
    assert main(["preseed", str(path), "--data", str(data)]) == 0
    smtp = load(data / "config" / "current.yaml").smtp
    assert smtp is not None and smtp.attach_as == "mp3" and smtp.timeout_s == 20
    path = write(tmp_path, "smtp: {host: mail.example.com, sender: box@example.com, attach_as: flac}\n")
    assert main(["preseed", str(path), "--data", str(data)]) == 2
    assert path.exists()


@pytest.mark.parametrize("text, words", [
    ("business: {country: xx}\n", "business.country"),
    ("business: {colour: red}\n", "business.colour"),
    ("wifi: {ssid: x}\n", "unknown setting"),
    ("admin_password_hash: hunter2\n", "not an argon2 hash"),
    # the example file's placeholder parses as argon2 parameters: it must still be refused
    ('admin_password_hash: "$argon2id$v=19$m=65536,t=3,p=4$REPLACE$WITH-YOUR-OWN-HASH"\n',
     "not an argon2 hash"),
    ('admin_password_hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA"\n',
     "not an argon2 hash"),
    ("line: {backend: modem}\n", "needs 'device'"),
    ("- a list\n", "must be a YAML mapping"),
    ("business: {name: [unclosed\n", "not valid YAML"),
])
def test_bad_file_is_kept_and_nothing_changes(tmp_path: Path, text: str, words: str,
                                              capsys) -> None:
    data = tmp_path / "data"
    (data / "config").mkdir(parents=True)
    shutil.copy(REPO / "config" / "default.yaml", data / "config" / "current.yaml")
    before = (data / "config" / "current.yaml").read_text()
    path = write(tmp_path, text)
    assert main(["preseed", str(path), "--data", str(data)]) == 2
    assert words in capsys.readouterr().err
    assert path.exists() and (data / "config" / "current.yaml").read_text() == before


def test_missing_file_is_nothing_to_do(tmp_path: Path, capsys) -> None:
    assert main(["preseed", str(tmp_path / "none.yaml"), "--data", str(tmp_path)]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_hash_password_from_stdin(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine password\n"))
    assert main(["preseed", "--hash-password"]) == 0
    hashed = capsys.readouterr().out.strip()
    assert verify_password(hashed, "a fine password")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["preseed", "--hash-password"]) == 2
