"""`ivrbox config check` and `ivrbox config hash-pin`, through the real dispatcher."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from firmware.cli import main
from firmware.settings import match_number, verify_pin

from .conftest import MINIMAL

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "default.yaml"


def test_check_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(DEFAULT)]) == 0
    assert capsys.readouterr().out == f"OK: {DEFAULT}\n"


def test_check_lists_every_problem_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("country: us", "country: xx").replace("final: bye", "final: bey"),
                   encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text(MINIMAL, encoding="utf-8")
    assert main(["config", "check", str(bad), str(good)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{bad}:4 business.country: 'xx' is not allowed")
    assert out[1] == f"{bad}:16 flow.nodes.main.final: no node 'bey'; did you mean 'bye'? (target missing)"
    assert out[2] == f"OK: {good}"
    assert len(out) == 3


def test_check_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().out


def test_hash_pin_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("8642\n"))
    assert main(["config", "hash-pin"]) == 0
    assert verify_pin("8642", capsys.readouterr().out.strip())


def test_hash_pin_refuses_a_short_pin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["config", "hash-pin"]) == 2
    assert "4 to 12 digits" in capsys.readouterr().err


@pytest.mark.parametrize("pattern, number, expected", [
    ("0912345678", "0912345678", True),
    ("0912345678", "091234567", False),
    ("0912*", "0912000111", True),
    ("0912*", "0913000111", False),
    ("0800??????", "0800123456", True),
    ("0800??????", "08001234567", False),
    ("*", "12345", True),
])
def test_match_number(pattern: str, number: str, expected: bool) -> None:
    assert match_number(pattern, number) is expected
