"""Recordings named in the config stay inside the data directory and are WAV files:
a bad name is a config problem on its line, not a silent call."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from firmware.settings import Greeting, Prompt, parse

from .conftest import MINIMAL, found

WITH_FILE = MINIMAL.replace("  hello: {en: Hello}", '  hello: {en: Hello, file: {en: "%s"}}')  # line 6


@pytest.mark.parametrize("name, says", [
    ("../../../etc/passwd", "goes up out of the data directory"),
    ("greetings/../../x.wav", "goes up out of the data directory"),
    ("/etc/passwd", "is an absolute path"),
    ("/var/lib/ivrbox/greetings/x.wav", "is an absolute path"),
    ("~/x.wav", "is an absolute path"),
    ("C:/greetings/x.wav", "is an absolute path"),
    ("greetings\\\\x.wav", "not '\\'"),
    ("a\\0b.wav", "control character"),
    ("a\\nb.wav", "control character"),
    ("greetings//x.wav", "empty or '.' folder name"),
    ("./x.wav", "empty or '.' folder name"),
    ("greetings/", "empty or '.' folder name"),
    (" x.wav", "starts or ends with a space"),
    ("", "the file name is empty"),
    ("greetings/x.mp3", "is not a .wav file"),
    ("greetings/x", "is not a .wav file"),
    ("g/" + "x" * 200 + ".wav", "longer than 200 characters"),
])
def test_a_bad_prompt_file_is_a_problem_on_its_line(name: str, says: str) -> None:
    (line, path, msg), = found(WITH_FILE % name)
    assert (line, path) == (6, "prompts.hello.file.en")
    assert says in msg


@pytest.mark.parametrize("name", [
    "greetings/main_menu-zh-TW-20260101-120000.wav",  # what the web page saves
    "prompts/main_menu-zh.wav", "welcome.WAV", "問候/歡迎.wav", "greetings/previews/x.wav",
])
def test_good_files_are_accepted(name: str) -> None:
    assert parse(WITH_FILE % name).prompts["hello"].file["en"] == name


def test_mailbox_greetings_are_checked_too() -> None:
    text = MINIMAL + (
        "mailboxes:\n  general:\n    name: General\n    greetings:\n"
        "      unavailable: {file: /etc/shadow}\n"
        "      busy: {file: greetings/busy.wav}\n"
        "      temporary: {file: ../away.wav, until: \"2027-08-01T09:00\"}\n"
    )
    got = found(text)
    assert [(line, path) for line, path, _ in got] == [
        (24, "mailboxes.general.greetings.unavailable.file"),
        (26, "mailboxes.general.greetings.temporary.file"),
    ]


def test_a_broken_file_hides_no_other_problem_and_is_not_also_a_missing_language() -> None:
    text = (WITH_FILE % "../x.wav").replace("  hello: {en: Hello, ", "  hello: {").replace(
        "      final: bye\n", "      final: by\n")
    assert [(line, path) for line, path, _ in found(text)] == [
        (6, "prompts.hello.file.en"), (16, "flow.nodes.main.final"),
    ]


def test_models_built_in_code_refuse_them_too() -> None:
    with pytest.raises(ValidationError, match="goes up out of the data directory"):
        Prompt.model_validate({"file": {"en": "../../etc/passwd"}})
    with pytest.raises(ValidationError, match="absolute path"):
        Greeting.model_validate({"file": "/etc/passwd"})
