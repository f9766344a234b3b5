"""The flow as a graph: targets, reachability, endings, bounded retries, references."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from firmware.settings import Settings, parse
from firmware.settings.yamlio import read

from .conftest import MINIMAL, found, one

HEAD = """\
business:
  name: Test Office
  timezone: America/New_York
  country: us
  languages: [en, zh-TW]
prompts:
  hello: {en: Hello, zh-TW: 您好}
  bye: {en: Goodbye, zh-TW: 再見}
people:
  ann: {number: "5550100"}
mailboxes:
  general: {name: General}
flow:
  entry: main
  nodes:
"""  # 15 lines; nodes start on line 16


def flow(nodes: str) -> str:
    return HEAD + nodes


MENU = """\
    main:
      type: menu
      prompt: hello
      options: {"1": sales, "2": vm}
      operator_key: null
      final: bye
"""  # lines 16-21
ENDS = """\
    sales:
      type: forward
      person: ann
      fallback: vm
    vm:
      type: voicemail
      mailbox: general
      next: bye
    bye:
      type: hangup
      prompt: bye
"""  # lines 22-32


def test_the_base_flow_is_valid() -> None:
    s = parse(flow(MENU + ENDS))
    assert set(s.flow.nodes) == {"main", "sales", "vm", "bye"}


def test_missing_target_with_did_you_mean() -> None:
    text = flow(MENU.replace('"2": vm', '"2": vn') + ENDS)
    assert found(text) == [
        (19, "flow.nodes.main.options.2", "no node 'vn'; did you mean 'vm'? (target missing)"),
    ]


def test_missing_entry() -> None:
    text = flow(MENU + ENDS).replace("entry: main", "entry: mian")
    assert found(text) == [(14, "flow.entry", "no node 'mian'; did you mean 'main'? (entry target missing)")]


def test_unreachable_node_is_an_error() -> None:
    extra = "    orphan:\n      type: hangup\n      prompt: bye\n"
    (line, path, msg), = found(flow(MENU + ENDS + extra))
    assert (line, path) == (33, "flow.nodes.orphan")
    assert "never reached from the entry 'main'" in msg


def test_dead_end_loop_for_a_silent_caller() -> None:
    """A menu whose final target leads back to itself never ends for a silent caller."""
    text = flow(MENU.replace("final: bye", "final: again") + ENDS +
                "    again:\n      type: play\n      prompt: hello\n      next: main\n")
    (line, path, msg), = found(text)
    assert (line, path) == (16, "flow.nodes.main")
    assert "never ends for a caller who presses nothing (main -> again -> main)" in msg


def test_menu_loop_through_options_is_fine_when_final_ends() -> None:
    text = flow(MENU.replace('"2": vm', '"2": vm, "9": info') + ENDS +
                "    info:\n      type: play\n      prompt: hello\n      next: main\n")
    assert parse(text).flow.nodes["info"].next == "main"


def test_voicemail_back_to_a_menu_that_ends_in_voicemail_is_a_loop() -> None:
    text = flow(MENU.replace("final: bye", "final: vm") + ENDS.replace("next: bye", "next: main"))
    (line, path, msg), unreachable = found(text)
    assert "main -> vm -> main" in msg and path == "flow.nodes.main" and line == 16
    assert unreachable[:2] == (30, "flow.nodes.bye")


@pytest.mark.parametrize("retries", ["0", "11", "1000"])
def test_unbounded_retries_are_refused(retries: str) -> None:
    text = flow(MENU.replace("final: bye", f"final: bye\n      retries: {retries}") + ENDS)
    line, path, msg = one(text)
    assert (line, path) == (22, "flow.nodes.main.retries")
    assert "greater than or equal to 1" in msg or "less than or equal to 10" in msg


def test_forward_to_an_unknown_person() -> None:
    text = flow(MENU + ENDS.replace("person: ann", "person: anne"))
    assert one(text) == (
        24, "flow.nodes.sales.person",
        "no person 'anne'; did you mean 'ann'?: forwarding dials only the numbers in `people`",
    )


def test_forward_cannot_take_a_raw_number() -> None:
    text = flow(MENU + ENDS.replace("      person: ann\n", "      person: ann\n      number: \"5551234\"\n"))
    assert one(text)[:2] == (25, "flow.nodes.sales.number")


def test_voicemail_to_an_unknown_mailbox() -> None:
    text = flow(MENU + ENDS.replace("mailbox: general", "mailbox: genral"))
    assert one(text) == (28, "flow.nodes.vm.mailbox", "no mailbox 'genral'; did you mean 'general'?")


def test_prompt_missing_and_prompt_missing_a_language() -> None:
    text = flow(MENU.replace("prompt: hello", "prompt: helo") + ENDS).replace(
        "  bye: {en: Goodbye, zh-TW: 再見}", "  bye: {en: Goodbye}")
    assert found(text) == [
        (18, "flow.nodes.main.prompt", "no prompt 'helo'; did you mean 'hello'?"),
        (32, "flow.nodes.bye.prompt", "prompt 'bye' has no zh-TW text or file"),
    ]


def test_recorded_file_counts_for_a_language() -> None:
    text = flow(MENU + ENDS).replace(
        "  bye: {en: Goodbye, zh-TW: 再見}", "  bye: {en: Goodbye, file: {zh-TW: bye-zh.wav}}")
    assert parse(text).prompts["bye"].has("zh-TW")


def test_menu_choice_colliding_with_the_repeat_key() -> None:
    text = flow(MENU.replace('"2": vm', '"*1": vm') + ENDS)
    line, path, msg = one(text)
    assert (line, path) == (19, "flow.nodes.main.options.*1") and "repeat_key" in msg


def test_operator_key_needs_a_target() -> None:
    text = flow(MENU.replace("      operator_key: null\n", "") + ENDS)
    line, path, msg = one(text)
    assert path == "flow.nodes.main.operator_key" and line == 16 and "operator key '0' has no target" in msg


def test_flow_operator_makes_operator_key_work_and_reachable() -> None:
    text = flow(MENU.replace("      operator_key: null\n", "") + ENDS +
                "    op:\n      type: forward\n      person: ann\n      fallback: vm\n"
                ).replace("  entry: main\n", "  entry: main\n  operator: op\n")
    assert parse(text).flow.operator == "op"


def test_graph_checks_still_run_when_another_node_is_broken() -> None:
    text = flow(MENU + ENDS.replace("person: ann", "person: bob").replace(
        "      next: bye\n", "      next: bye\n      colour: red\n"))
    assert [(line, path) for line, path, _ in found(text)] == [
        (24, "flow.nodes.sales.person"), (30, "flow.nodes.vm.colour"),
    ]


def test_settings_built_in_code_are_graph_checked_too() -> None:
    data, _, _ = read(flow(MENU + ENDS).replace("person: ann", "person: zed"))
    with pytest.raises(ValidationError, match="no person 'zed'"):
        Settings.model_validate(data)


def test_vip_route_and_screen_node() -> None:
    rules = (
        "caller_rules:\n  vip:\n    - {match: \"5550199\", target: salez}\n"
        "  screen: [private]\n  screen_node: main\n"
    )
    text = flow(MENU + ENDS) + rules
    assert found(text) == [
        (35, "caller_rules.vip[0].target", "no node 'salez'; did you mean 'sales'?"),
        (37, "caller_rules.screen_node", "'main' is not a screen node"),
    ]


def test_every_node_type_validates_in_one_flow() -> None:
    nodes = MENU.replace('"2": vm', '"2": vm, "3": lang, "4": ext, "5": cb, "6": survey, "7": login') + ENDS + """\
    lang:
      type: language
      prompt: hello
      options: {"1": en, "2": zh-TW}
      next: main
    ext:
      type: extension
      prompt: hello
      extensions: {"101": sales, "102": vm}
      final: vm
    cb:
      type: callback
      prompt: hello
      notify: general
      next: bye
    survey:
      type: survey
      question: hello
      answers: "123"
      next: bye
    login:
      type: mailbox_login
      prompt: hello
      next: bye
      fail: bye
    check:
      type: screen
      prompt: hello
      next: hours
    hours:
      type: schedule
      open: main
      closed: vm
"""
    text = (flow(nodes).replace("  general: {name: General}", '  general: {name: General, number: "100"}')
            + "caller_rules:\n  screen: [unknown, private]\n  screen_node: check\n")
    s = parse(text)
    assert {n.type for n in s.flow.nodes.values()} == {  # type: ignore[attr-defined]
        "menu", "play", "forward", "voicemail", "hangup", "language", "extension", "callback",
        "survey", "mailbox_login", "screen", "schedule",
    } - {"play"}
    assert s.flow.nodes["hours"].branch("holiday") == "vm"  # type: ignore[attr-defined]


def test_minimal_needs_nothing_else() -> None:
    assert parse(MINIMAL).limits.max_call_s == 900
