"""Configs that used to pass the check and then misbehave on a call: silence instead of
a prompt, a key that can never be used, a forward that never rings, a greeting that
expires at the wrong hour."""

from __future__ import annotations

import pytest

from firmware.settings import parse

from .conftest import MINIMAL, found
from .test_graph import ENDS, MENU, flow


@pytest.mark.parametrize("text", ['" "', '"\\t  "', '"　"'])  # the last is a full-width space
def test_a_blank_prompt_text_is_refused(text: str) -> None:
    (line, path, msg), = found(MINIMAL.replace("  bye: {en: Goodbye}", f"  bye: {{en: {text}}}"))
    assert (line, path) == (7, "prompts.bye.en") and "callers would hear silence" in msg


def test_a_blank_text_is_not_also_a_missing_language() -> None:
    text = flow(MENU + ENDS).replace("  bye: {en: Goodbye, zh-TW: 再見}", '  bye: {en: Goodbye, zh-TW: "  "}')
    assert [(line, path) for line, path, _ in found(text)] == [(8, "prompts.bye.zh-TW")]


def test_callback_keys_must_differ() -> None:
    cb = "    cb:\n      type: callback\n      prompt: hello\n      notify: general\n      other_key: 1\n"
    text = flow(MENU.replace('"2": vm', '"2": vm, "3": cb') + ENDS + cb)
    (line, path, msg), = found(text)
    assert (line, path) == (37, "flow.nodes.cb.other_key") and "also confirm_key" in msg
    assert parse(text.replace("other_key: 1", "other_key: null")).flow.nodes["cb"].other_key is None


def test_a_person_whose_hours_are_never_open_is_reported() -> None:
    text = flow(MENU + ENDS).replace(
        '  ann: {number: "5550100"}',
        '  ann:\n    number: "5550100"\n    hours: {holidays: [{date: 2026-01-01}]}')
    (line, path, msg), = found(text)
    assert (line, path) == (12, "people.ann.hours") and "never ring ann" in msg
    with_weekly = text.replace("hours: {holidays:", 'hours: {weekly: {mon-fri: ["09:00-17:00"]}, holidays:')
    assert parse(with_weekly).people["ann"].hours is not None


def test_a_temporary_greeting_with_an_offset_is_refused() -> None:
    """It would expire at the wall-clock time written, whatever the offset said."""
    box = ('mailboxes:\n  general:\n    name: General\n    greetings:\n'
           '      temporary: {prompt: bye, until: "2027-08-01T09:00+00:00"}\n')
    (line, path, msg), = found(MINIMAL + box)
    assert (line, path) == (24, "mailboxes.general.greetings.temporary.until") and "without an offset" in msg
    assert parse(MINIMAL + box.replace("+00:00", "")).mailboxes["general"].greetings.temporary is not None
