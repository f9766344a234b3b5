"""The shipped default config, immutability, and dump -> parse round trips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from firmware.settings import (
    ForwardNode,
    MenuNode,
    ScheduleNode,
    Settings,
    dump,
    hash_pin,
    is_open,
    load,
    parse,
)

from .test_graph import ENDS, MENU, flow

DEFAULT = Path(__file__).resolve().parents[2] / "config" / "default.yaml"


@pytest.fixture(scope="module")
def default() -> Settings:
    return load(DEFAULT)


def test_default_config_is_valid_and_does_what_it_says(default: Settings) -> None:
    b = default.business
    assert (b.country, b.timezone, b.default_language) == ("tw", "Asia/Taipei", "zh-TW")
    assert set(b.languages) == {"en", "zh-TW"}
    nodes = default.flow.nodes
    menu = nodes["main_menu"]
    assert isinstance(menu, MenuNode) and set(menu.options) == {"1", "2", "3"}
    assert menu.operator_key == "0" and isinstance(nodes[default.flow.operator or ""], ScheduleNode)
    assert nodes[menu.options["2"]].type == "forward"  # type: ignore[attr-defined]
    assert nodes[menu.options["3"]].type == "voicemail"  # type: ignore[attr-defined]
    assert "general" in default.mailboxes
    schedule = next(n for n in nodes.values() if isinstance(n, ScheduleNode))
    assert nodes[schedule.closed].next == "general_voicemail"  # type: ignore[attr-defined]
    for prompt in default.prompts.values():
        assert prompt.en and prompt.zh_TW


def test_default_hours_have_a_lunch_break(default: Settings) -> None:
    tz = default.business.zone
    monday = dt.datetime(2026, 3, 2, tzinfo=tz)
    opened = [h for h in range(24) if is_open(default.hours, monday.replace(hour=h))]
    assert opened == [9, 10, 11, 13, 14, 15, 16, 17]
    assert not is_open(default.hours, dt.datetime(2026, 10, 10, 10, tzinfo=tz))  # National Day
    assert not is_open(default.hours, dt.datetime(2026, 3, 7, 10, tzinfo=tz))  # Saturday


def test_default_operator_rings_reception_only_while_open(default: Settings) -> None:
    """0 reaches the flow's operator at any hour (menus, mailbox greetings): the default
    routes it through the business's schedule, so nobody's mobile rings at night or on a
    holiday (issue 4)."""
    gate = default.flow.nodes[default.flow.operator or ""]
    assert isinstance(gate, ScheduleNode)
    assert isinstance(default.flow.nodes[gate.open], ForwardNode)
    assert default.flow.nodes[gate.closed].type == "voicemail"  # type: ignore[attr-defined]
    assert default.flow.nodes[gate.holiday or ""].type == "voicemail"  # type: ignore[attr-defined]


def test_default_round_trips(default: Settings) -> None:
    text = dump(default)
    assert text.startswith("version: 1\n")
    assert parse(text, "dumped.yaml") == default
    assert "感謝您的來電" in text  # readable, not \\u escapes


RICH = flow(MENU.replace('"2": vm', '"2": vm, "3": ext, "4": cb, "5": survey, "6": login, "7": lang, "8": info') + ENDS + """\
    ext:
      type: extension
      prompt: hello
      extensions: {"101": sales, "0102": vm}
      final: vm
      retries: 2
    cb:
      type: callback
      prompt: hello
      notify: general
      other_key: null
      next: bye
    survey:
      type: survey
      question: hello
      next: null
    login:
      type: mailbox_login
      mailbox: general
      prompt: hello
      attempts: 3
      fail: bye
    lang:
      type: language
      prompt: hello
      options: {"1": en, "2": zh-TW}
      next: info
    info:
      type: play
      prompt: hello
      next: main
    check:
      type: screen
      prompt: hello
      next: when
    when:
      type: schedule
      open: main
      closed: vm
      override: closed
""").replace("  general: {name: General}", """\
  general:
    name: General
    number: "100"
    pin_hash: "PINHASH"
    email: [a@example.com, b@example.org]
    greetings:
      busy: {file: greetings/busy.wav}
      temporary: {prompt: bye, until: "2026-08-01T09:00"}
    max_message_s: 120.5""").replace('  ann: {number: "5550100"}', """\
  ann:
    name: Ann Lee
    number: (555) 010-0100
    hours:
      weekly: {"mon-fri": ["09:00-17:00"], sat: ["22:00-02:00"]}
      holidays: [{name: Xmas, date: 2000-12-25, annual: true}, {from: 2026-07-01, to: 2026-07-03}]
      closures: [{from: "2026-05-01T12:00", to: "2026-05-01T15:30"}]
  bob: "0912 345 678"
""") + """\
line:
  backend: modem
  device: /dev/ttyACM0
  flash_ms: 300
  answer: {blocked: ignore, private: reject}
caller_rules:
  allow: ["0912*"]
  block: ["0800??????", "+1900*"]
  vip: [{match: "5550199", target: sales, name: Boss}]
  screen: [unknown, unavailable]
  screen_node: check
  rings: {vip: 1, unknown: 4}
smtp:
  host: mail.example.com
  port: 465
  security: tls
  username: box
  password: "s3cret: yes"
  sender: box@example.com
limits:
  max_call_s: 600
  max_retries: 5
"""


def test_rich_config_round_trips_exactly() -> None:
    text = RICH.replace("PINHASH", hash_pin("2580"))
    first = parse(text, "rich.yaml")
    assert first.people["ann"].number == "5550100100" and first.people["bob"].number == "0912345678"
    assert first.line.action_for("blocked") == "ignore" and first.line.action_for("known") == "answer"
    again = parse(dump(first), "again.yaml")
    assert again == first
    assert dump(again) == dump(first)


def test_settings_are_immutable(default: Settings) -> None:
    with pytest.raises(ValidationError):
        default.limits.max_call_s = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        default.flow.nodes["x"] = default.flow.nodes["goodbye"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        default.business.languages.append("en")  # type: ignore[attr-defined]


def test_country_drives_flash_and_caller_id(default: Settings) -> None:
    assert default.line.flash_ms_for("tw") == 600
    assert default.line.caller_id_for("tw") == ("bell202", "v23", "dtmf")
    assert default.line.caller_id_for("uk") == ("v23",)


def test_caller_classes_rings_and_entry() -> None:
    from firmware.settings import classify, entry_for, rings_for

    s = parse(RICH.replace("PINHASH", hash_pin("2580")))
    assert classify(s, "0800123456") == "blocked"
    assert classify(s, "19005550000") == "blocked"  # '+' is ignored on both sides
    assert classify(s, "5550199") == "vip" and entry_for(s, "vip", "5550199") == "sales"
    assert classify(s, "0912000000") == "known"  # allow pattern
    assert classify(s, "5550100100") == "known"  # a person's number
    assert classify(s, "0223456789") == "unknown" and entry_for(s, "unknown", "0223456789") == "check"
    assert classify(s, None, "P") == "private" and entry_for(s, "private", None) == "main"
    assert classify(s, None, "O") == "unavailable" and entry_for(s, "unavailable", None) == "check"
    assert rings_for(s, "vip") == 1 and rings_for(s, "known") == 2
