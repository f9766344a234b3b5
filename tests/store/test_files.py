"""Data dir layout, safe names and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from firmware.errors import StoreError, UsageError
from firmware.store.files import (
    DataDir,
    atomic_write,
    atomic_writer,
    free_bytes,
    safe_name,
    sanitize_name,
)


def test_layout_is_created_on_demand(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    assert not (tmp_path / "data").exists()
    assert data.voicemail == (tmp_path / "data" / "voicemail").resolve()
    assert data.voicemail.is_dir()
    assert not (tmp_path / "data" / "greetings").exists()
    data.ensure()
    for sub in ("greetings", "voicemail", "tts-cache", "outbox", "config"):
        assert (tmp_path / "data" / sub).is_dir()
    assert data.db_path.name == "ivrbox.db"
    assert data.free_bytes() > 0
    assert free_bytes(tmp_path) > 0


@pytest.mark.parametrize("name", ["greeting.wav", "a", "Main_Menu-2.WAV", "x.y.z"])
def test_safe_names_pass(name: str) -> None:
    assert safe_name(name) == name


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x", "a/b", "/etc/passwd", ".hidden", "a..b", "x\x00y",
             "spa ce", "a\\b", "ü.wav", "x" * 200],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError):
        safe_name(name)


@pytest.mark.parametrize(
    "raw, expected",
    [("../../etc/passwd", "passwd"), ("C:\\Users\\me\\Hello World.wav", "Hello_World.wav"),
     ("...", "file"), (".bashrc", "bashrc"), ("a..b.wav", "a.b.wav"), ("ünïcode.wav", "n_code.wav")],
)
def test_sanitize_name(raw: str, expected: str) -> None:
    assert sanitize_name(raw) == expected


def test_sanitize_long_name_keeps_extension() -> None:
    name = sanitize_name("x" * 500 + ".wav")
    assert name.endswith(".wav") and len(name) <= 120


def test_inside_refuses_escapes_including_symlinks(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    assert data.inside(data.greetings, "hello.wav") == data.greetings / "hello.wav"
    assert data.inside(data.voicemail, "100", "m.wav").parent.is_dir()
    with pytest.raises(UsageError):
        data.inside(data.greetings, "../ivrbox.db")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    os.symlink(outside, data.greetings / "link")
    with pytest.raises(UsageError):
        data.inside(data.greetings, "link", "x.wav")


def test_relative_and_absolute_round_trip(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    p = data.inside(data.voicemail, "100", "m.wav")
    rel = data.relative(p)
    assert rel == "voicemail/100/m.wav"
    assert data.absolute(rel) == p
    with pytest.raises(StoreError):
        data.absolute("../elsewhere")
    with pytest.raises(StoreError):
        data.relative("/etc/passwd")


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "config" / "published.yaml"
    atomic_write(target, "one\n")
    atomic_write(target, b"two\n")
    assert target.read_bytes() == b"two\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["published.yaml"]


def test_atomic_writer_failure_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_writer(target) as f:
            f.write(b"half of the new")
            raise RuntimeError("power cut, as far as this writer knows")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_write_reports_unwritable_dir(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(StoreError):
            atomic_write(blocker / "sub" / "f.txt", "x")
        return
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(StoreError):
        atomic_write(ro / "f.txt", "x")
