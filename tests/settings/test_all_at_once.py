"""`config check` lists every problem in one run: a field error in a node or section
never hides a broken reference in it, and nothing is reported twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.settings import parse, problems

from .conftest import MINIMAL, found
from .test_graph import ENDS, MENU, flow

DEFAULT = (Path(__file__).resolve().parents[2] / "config" / "default.yaml").read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, needle: str, after: str = "") -> int:
    """1-based line of the first `needle` at or after the line holding `after`."""
    start = text.index(after) if after else 0
    return text[:text.index(needle, start)].count("\n") + 1


# The QA report: field errors and reference errors in the same menu and forward node.
MENU_FIELD = ("      retries: 3\n      final: general_voicemail", "      retries: 99\n      final: general_voicemail")
MENU_OPTION = ('        "3": support\n', '        "3": support\n        "4": nowhere\n')
MENU_PROMPT = ("      type: menu\n      prompt: main_menu", "      type: menu\n      prompt: nosuchprompt")
FORWARD_FIELD = ("      whisper: whisper\n      ring_timeout_s: 25\n      fallback: general_voicemail\n    operator:",
                 "      whisper: whisper\n      ring_timeout_s: -1\n      fallback: general_voicemail\n    operator:")
FORWARD_PERSON = ("      type: forward\n      person: sales", "      type: forward\n      person: nobody")
QA_EDITS = (MENU_FIELD, MENU_OPTION, MENU_PROMPT, FORWARD_FIELD, FORWARD_PERSON)


def apply(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        text = edit(text, old, new)
    return text


def test_the_qa_repro_shows_every_problem_in_one_run() -> None:
    text = apply(DEFAULT, *QA_EDITS)
    got = [(p.line, p.path, p.message) for p in problems(text, "office.yaml")]
    menu, sales = "main_menu:\n      type: menu", "sales:\n      type: forward"
    assert got == [
        (line_of(text, "prompt: nosuchprompt"), "flow.nodes.main_menu.prompt", "no prompt 'nosuchprompt'"),
        (line_of(text, '"4": nowhere'), "flow.nodes.main_menu.options.4", "no node 'nowhere' (target missing)"),
        (line_of(text, "retries: 99", menu), "flow.nodes.main_menu.retries",
         "should be less than or equal to 10 (got 99)"),
        (line_of(text, "person: nobody", sales), "flow.nodes.sales.person",
         "no person 'nobody' (known: reception, sales): forwarding dials only the numbers in `people`"),
        (line_of(text, "ring_timeout_s: -1", sales), "flow.nodes.sales.ring_timeout_s",
         "should be greater than 0 (got -1)"),
    ]


def test_the_cli_prints_them_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from firmware.cli import main

    bad = tmp_path / "office.yaml"
    bad.write_text(apply(DEFAULT, *QA_EDITS), encoding="utf-8")
    assert main(["config", "check", str(bad)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5 and all(line.startswith(f"{bad}:") for line in out)
    assert any("did you mean" not in line and "'nowhere'" in line for line in out)


REFERENCE_EDITS = [MENU_OPTION, MENU_PROMPT, FORWARD_PERSON,
                   ("      type: voicemail\n      mailbox: support", "      type: voicemail\n      mailbox: suport"),
                   ("      type: play\n      prompt: info\n      next: main_menu",
                    "      type: play\n      prompt: infos\n      next: main_men")]
FIELD_EDITS = [MENU_FIELD, FORWARD_FIELD,
               ("    support:\n      type: voicemail\n", "    support:\n      type: voicemail\n      greeting: loud\n"),
               ("    info:\n      type: play\n", "    info:\n      type: play\n      colour: red\n")]


@pytest.mark.parametrize("ref", REFERENCE_EDITS, ids=["option", "prompt", "person", "mailbox", "next"])
@pytest.mark.parametrize("bad_field", FIELD_EDITS, ids=["retries", "timeout", "greeting", "extra-key"])
def test_field_errors_never_hide_or_double_reference_errors(ref: tuple[str, str], bad_field: tuple[str, str]) -> None:
    """problems(both) == problems(reference error) + problems(field error), lines included."""
    alone_ref = problems(apply(DEFAULT, ref))
    both_text = apply(DEFAULT, ref, bad_field)
    alone_field = problems(apply(DEFAULT, bad_field))
    assert alone_ref and alone_field
    both = problems(both_text)
    # The field edit may add a line, shifting what follows it: compare by path and message.
    key = [(p.path, p.message) for p in both]
    assert sorted(key) == sorted({(p.path, p.message) for p in alone_ref + alone_field})
    assert len(key) == len(set(key))
    lines = both_text.splitlines()
    for p in both:  # every line points at the key the problem names
        assert p.line is not None and lines[p.line - 1].strip().strip('"').startswith(p.path.split(".")[-1])


def test_a_broken_entry_of_a_section_still_counts_as_existing() -> None:
    """A person, mailbox or prompt that is itself invalid is not also 'missing'."""
    text = flow(MENU + ENDS).replace('  ann: {number: "5550100"}', '  ann: {number: "+1 555 0100"}')
    text = text.replace("  general: {name: General}", "  general: {name: General, max_message_s: 0}")
    text = text.replace("  bye: {en: Goodbye, zh-TW: 再見}", "  bye: Goodbye")
    got = found(text)
    assert [(line, path) for line, path, _ in got] == [
        (8, "prompts.bye"), (10, "people.ann.number"), (12, "mailboxes.general.max_message_s"),
    ]


def test_references_inside_a_broken_section_are_checked() -> None:
    text = flow(MENU + ENDS).replace("  general: {name: General}", (
        "  general:\n    name: General\n    max_message_s: -1\n"
        "    greetings: {unavailable: {prompt: helo}}"))
    assert [(line, path, msg[:16]) for line, path, msg in found(text)] == [
        (14, "mailboxes.general.max_message_s", "should be greate"),
        (15, "mailboxes.general.greetings.unavailable.prompt", "no prompt 'helo'"),
    ]


def test_a_prompt_with_a_broken_language_is_not_also_said_to_lack_it() -> None:
    text = flow(MENU + ENDS).replace("  hello: {en: Hello, zh-TW: 您好}", "  hello: {en: Hello, zh-TW: 5}")
    text = text.replace("      prompt: bye\n", "      prompt: byee\n")
    assert [(line, path) for line, path, _ in found(text)] == [(7, "prompts.hello.zh-TW"), (32, "flow.nodes.bye.prompt")]


def test_broken_languages_do_not_make_every_prompt_look_incomplete() -> None:
    text = flow(MENU + ENDS).replace("  languages: [en, zh-TW]", "  languages: [en, fr]")
    assert [(line, path) for line, path, _ in found(text)] == [(5, "business.languages[1]")]


@pytest.mark.parametrize("old, new, line, path", [
    ("  entry: main\n", "  entry: 1main\n", 14, "flow.entry"),
    ("  entry: main\n", "", 13, "flow.entry"),
    ("final: bye", "final: 9bye", 21, "flow.nodes.main.final"),
    ("      person: ann\n", "      person: ''\n", 24, "flow.nodes.sales.person"),
])
def test_an_invalid_reference_is_reported_once(old: str, new: str, line: int, path: str) -> None:
    got = found(flow(MENU + ENDS).replace(old, new))
    assert [(ln, p) for ln, p, _ in got] == [(line, path)]


def test_a_mistyped_flow_operator_is_one_problem_not_one_per_menu() -> None:
    text = flow(MENU.replace("      operator_key: null\n", "") + ENDS).replace(
        "  entry: main\n", "  entry: main\n  operator: 7op\n")
    assert [(line, path) for line, path, _ in found(text)] == [(15, "flow.operator")]


def test_a_mistyped_pin_hash_is_not_also_a_missing_one() -> None:
    login = "    login:\n      type: mailbox_login\n      mailbox: general\n      prompt: hello\n"
    text = flow(MENU.replace('"2": vm', '"2": vm, "3": login') + ENDS + login).replace(
        "  general: {name: General}", "  general: {name: General, pin_hash: 1234}")
    assert [(line, path) for line, path, _ in found(text)] == [(12, "mailboxes.general.pin_hash")]
    text = text.replace("      mailbox: general\n      prompt: hello\n", "      prompt: hello\n").replace(
        "pin_hash: 1234", "number: 12ab")
    assert [(line, path) for line, path, _ in found(text)] == [(12, "mailboxes.general.number")]


def test_an_unknown_node_type_hides_no_other_node_and_is_no_missing_target() -> None:
    text = flow(MENU + ENDS.replace("type: forward", "type: forwrd").replace("mailbox: general", "mailbox: genral"))
    assert [(line, path) for line, path, _ in found(text)] == [
        (23, "flow.nodes.sales.type"), (28, "flow.nodes.vm.mailbox"),
    ]


def test_unreachable_is_still_found_beside_a_field_error_but_not_guessed() -> None:
    orphan = "    orphan:\n      type: hangup\n      prompt: bye\n"
    text = flow(MENU + ENDS.replace("      fallback: vm\n", "      fallback: vm\n      ring_timeout_s: 0\n") + orphan)
    assert [(line, path) for line, path, _ in found(text)] == [
        (26, "flow.nodes.sales.ring_timeout_s"), (34, "flow.nodes.orphan"),
    ]
    # With an edge unreadable, "never reached" would be a guess: it is left out.
    text = flow(MENU.replace('"2": vm', '"2": 5vm') + ENDS + orphan)
    assert [(line, path) for line, path, _ in found(text)] == [(19, "flow.nodes.main.options.2")]


def test_vip_routes_are_checked_beside_a_broken_rule() -> None:
    rules = ("caller_rules:\n  block: [\"12ab\"]\n  vip:\n    - {match: \"555\", target: salez}\n"
             "    - {match: \"556\", target: 7x}\n")
    got = found(flow(MENU + ENDS) + rules)
    assert [(line, path) for line, path, _ in got] == [
        (34, "caller_rules.block[0]"), (36, "caller_rules.vip[0].target"), (37, "caller_rules.vip[1].target"),
    ]
    assert got[1][2] == "no node 'salez'; did you mean 'sales'?"


def test_valid_configs_still_parse() -> None:
    assert parse(MINIMAL).flow.entry == "main"
    assert problems(DEFAULT) == []


@pytest.mark.parametrize("nodes", ["[main, bye]", "7", "null"])
def test_unreadable_nodes_are_one_problem_not_a_missing_entry(nodes: str) -> None:
    text = MINIMAL[:MINIMAL.index("  nodes:")] + f"  nodes: {nodes}\n"
    got = found(text)
    assert [path for _, path, _ in got] == ["flow.nodes"], got


def test_a_bad_range_never_hides_a_day_listed_twice_or_an_overlap_in_the_same_hours() -> None:
    text = edit(DEFAULT, '    mon-fri: ["09:00-12:00", "13:00-18:00"]   # two ranges = a lunch break',
                '    mon-fri: ["09:00-12:00", "13:00-18:00"]\n'
                '    fri: ["10:00-11:00"]\n'
                '    sat: ["09:00-09:00", "22:00-10:00"]\n'
                '    sun: ["08:00-12:00"]')
    got = [(p.line, p.path, p.message) for p in problems(text, "office.yaml")]
    assert (line_of(text, '"09:00-09:00"'), "hours.weekly.sat[0]",
            "'09:00-09:00' starts and ends at once: a whole day is 00:00-24:00") in got
    assert any(path == "hours.weekly" and "fri is in both 'mon-fri' and 'fri'" in msg
               for _, path, msg in got), got
    # with the day fixed, the bad range still hides nothing: sat's overnight range runs
    # into sunday's hours, and is reported at its place as written (index 1)
    text = edit(text, '    fri: ["10:00-11:00"]\n', "")
    got = [(p.path, p.message) for p in problems(text, "office.yaml")]
    assert [path for path, _ in got] == ["hours.weekly.sat[0]", "hours.weekly.sat[1]"], got
    assert "runs past midnight until 10:00 on sun" in got[1][1]


def test_whole_hours_tables_are_not_reported_twice() -> None:
    text = edit(DEFAULT, '    mon-fri: ["09:00-12:00", "13:00-18:00"]   # two ranges = a lunch break',
                '    mon-fri: ["09:00-12:00", "13:00-18:00"]\n    fri: ["10:00-11:00"]')
    got = [(p.path, p.message) for p in problems(text, "office.yaml")]
    assert len(got) == 1 and "fri is in both" in got[0][1], got
