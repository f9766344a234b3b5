"""A menu's back key: off by default, one key, no collision with the menu's choices or
its other keys; reported as `file:line flow.nodes.<menu>.back_key: message`, with every
other problem of the file in the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.cli import main
from firmware.settings import MenuNode, parse

from .conftest import MINIMAL, found, one

BACK_LINE = 16  # MINIMAL's main menu, with back_key written before its `final`


def with_back(key: str, text: str = MINIMAL) -> str:
    return text.replace("      final: bye\n", f"      back_key: {key}\n      final: bye\n", 1)


def test_back_key_is_off_unless_set() -> None:
    menu = parse(MINIMAL).flow.nodes["main"]
    assert isinstance(menu, MenuNode) and menu.back_key is None
    menu = parse(with_back('"9"')).flow.nodes["main"]
    assert isinstance(menu, MenuNode) and menu.back_key == "9"
    assert menu.special_keys()["back_key"] == "9"
    assert "back_key" not in menu.targets()  # no edge: it returns to a menu already reached


def test_back_key_colliding_with_a_choice() -> None:
    text = with_back('"9"', MINIMAL.replace('{"1": bye}', '{"1": bye, "9": bye}'))
    assert one(text) == (BACK_LINE, "flow.nodes.main.back_key",
                         "back key '9' is also the first key of choice '9': choose another "
                         "back key, or back_key: null")


def test_back_key_colliding_with_the_start_of_a_longer_choice() -> None:
    text = with_back('"1"', MINIMAL.replace('{"1": bye}', '{"12": bye}'))
    line, path, message = one(text)
    assert (line, path) == (BACK_LINE, "flow.nodes.main.back_key") and "choice '12'" in message


@pytest.mark.parametrize("key, other", [('"*"', "repeat_key"), ('"#"', "more_time_key")])
def test_back_key_colliding_with_another_key_of_the_menu(key: str, other: str) -> None:
    line, path, message = one(with_back(key))
    assert (line, path) == (BACK_LINE, "flow.nodes.main.back_key")
    assert message == f"'{key.strip(chr(34))}' is also {other}"


def test_a_freed_key_can_be_the_back_key() -> None:
    text = with_back('"*"').replace("      operator_key: null\n", "      operator_key: null\n      repeat_key: null\n")
    assert parse(text).flow.nodes["main"].back_key == "*"


def test_a_bad_back_key_is_listed_with_every_other_problem() -> None:
    text = with_back('"x"').replace("country: us", "country: xx").replace(
        '{"1": bye}', '{"1": bey}')
    problems = found(text)
    paths = [path for _, path, _ in problems]
    assert paths == ["business.country", "flow.nodes.main.options.1", "flow.nodes.main.back_key"], problems
    line, _, message = problems[2]
    assert line == BACK_LINE and "should match pattern" in message


def test_config_check_names_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "menu.yaml"
    bad.write_text(with_back('"1"'), encoding="utf-8")
    assert main(["config", "check", str(bad)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{bad}:{BACK_LINE} flow.nodes.main.back_key: back key '1' is also the first key of choice "
        "'1': choose another back key, or back_key: null"]
