"""Answering at the first ring where caller ID comes after it (issue 4): the config
check, `ivrbox config check` and the page's publish all refuse it, naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.cli import main
from firmware.settings import parse
from firmware.settings.answering import id_after_first_ring

from .conftest import MINIMAL, found

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "default.yaml"


def with_(extra: str, country: str = "us") -> str:
    return MINIMAL.replace("country: us", f"country: {country}") + extra


@pytest.mark.parametrize("country", ["us", "tw", "cn", "de"])
def test_one_ring_is_refused_where_caller_id_follows_ring_1(country: str) -> None:
    (line, path, msg), = found(with_("line:\n  rings: 1\n", country))
    assert (line, path) == (21, "line.rings")
    assert msg.startswith("answering at ring 1 comes before caller ID")
    assert f"'{country}' line" in msg and "'unavailable'" in msg and "line.caller_id: none" in msg


def test_config_check_names_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    office = tmp_path / "office.yaml"
    office.write_text(DEFAULT.read_text(encoding="utf-8").replace("  rings: 2 ", "  rings: 1 "),
                      encoding="utf-8")
    assert main(["config", "check", str(office)]) == 2
    (out,) = capsys.readouterr().out.splitlines()
    assert out.startswith(f"{office}:21 line.rings: answering at ring 1 comes before caller ID")


@pytest.mark.parametrize("extra", [
    "line:\n  rings: 2\n",
    "line:\n  rings: 1\n  caller_id: none\n",  # no caller ID service: nothing to wait for
    "line:\n  rings: 1\n  caller_id: dtmf\n",  # DTMF caller ID comes before the first ring
    "line:\n  rings: 1\n  answer: {unavailable: ignore}\n",  # keeps ringing until the number
    "line:\n  rings: 1\ncaller_rules:\n  rings: {unavailable: 3}\n",  # the first-ring class waits
    "caller_rules:\n  rings: {vip: 1, known: 1, private: 1}\n",  # answered once the number is read
])
def test_configs_that_wait_for_caller_id_pass(extra: str) -> None:
    parse(with_(extra))


@pytest.mark.parametrize("country", ["uk", "jp"])
def test_one_ring_is_fine_where_caller_id_comes_before_it(country: str) -> None:
    assert parse(with_("line:\n  rings: 1\n", country)).line.rings == 1


def test_the_first_ring_class_at_one_ring_is_refused() -> None:
    (line, path, msg), = found(with_("caller_rules:\n  rings: {vip: 1, unavailable: 1}\n"))
    assert (line, path) == (21, "caller_rules.rings.unavailable") and "before caller ID" in msg


def test_each_line_of_several_is_checked() -> None:
    lines = ("line:\n  rings: 1\nlines:\n  - name: front\n  - name: back\n    rings: 3\n"
             "  - name: side\n    rings: 1\n")
    assert [(line, path) for line, path, _ in found(with_(lines))] == [
        (21, "line.rings"),  # front uses it
        (27, "lines[2].rings"),
    ]
    every_own = lines.replace("  - name: front\n", "  - name: front\n    rings: 2\n")
    assert [path for _, path, _ in found(with_(every_own))] == ["lines[2].rings"]


def test_reported_with_other_problems_of_a_broken_document() -> None:
    text = with_("line:\n  rings: 1\n").replace("final: bye", "final: bey")
    assert [path for _, path, _ in found(text)] == ["flow.nodes.main.final", "line.rings"]


def test_which_standards_send_after_the_first_ring() -> None:
    assert id_after_first_ring("tw", "auto") and id_after_first_ring("uk", "bell202")
    assert id_after_first_ring("de", "v23") and not id_after_first_ring("uk", "v23")
    assert not id_after_first_ring("us", "none") and not id_after_first_ring("jp", "auto")
