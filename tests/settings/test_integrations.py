"""Webhooks, page_url and the lookup node: validated like the rest, errors located."""

from __future__ import annotations

from firmware.settings import LookupNode, dump, parse

from .conftest import MINIMAL, found, one

SECRET = "0123456789abcdef0123"
LINE_ID = "U" + "a" * 32


def with_hooks(hooks: str) -> str:
    return MINIMAL + "page_url: http://ivrbox.local:8080/\nwebhooks:\n" + hooks


def test_generic_line_and_telegram_hooks_parse_and_dump_back() -> None:
    text = with_hooks(f"""\
  office: {{url: "https://example.com/hook", secret: {SECRET}, events: [voicemail, survey]}}
  line: {{preset: line, token: abc, target: {LINE_ID}, language: en}}
  tg: {{preset: telegram, token: "123456:AAbbCCddEEffGGhhIIjjKK", target: -1001234567890}}
""")
    s = parse(text)
    assert s.page_url == "http://ivrbox.local:8080"
    assert s.webhooks["office"].wants("voicemail") and not s.webhooks["office"].wants("call_ended")
    assert s.webhooks["office"].wants("test")
    assert s.webhooks["tg"].target == "-1001234567890"
    assert s.webhooks["line"].wants("call_ended")
    assert SECRET not in repr(s.webhooks["office"])
    assert parse(dump(s)) == s


def test_generic_hook_needs_url_and_a_long_secret() -> None:
    problems = found(with_hooks("  a: {url: 'https://x.example/h'}\n  b: {url: ftp://x, secret: short}\n"))
    paths = {(p, m) for _, p, m in problems}
    assert ("webhooks.a", "a generic webhook needs secret") in paths
    assert any(p == "webhooks.b.url" and "not an http" in m for p, m in paths)
    assert any(p == "webhooks.b.secret" and "at least 16" in m for p, m in paths)


def test_preset_fields_are_checked_with_lines() -> None:
    text = with_hooks(f"""\
  line: {{preset: line, token: abc, target: "12345"}}
  tg: {{preset: telegram, token: nope, target: "@ok_channel"}}
  mixed: {{preset: line, token: abc, target: {LINE_ID}, url: "https://x.example", secret: {SECRET}}}
  typo: {{preset: telegramm, token: a, target: b}}
""")
    problems = found(text)
    by_path = {p: (line, m) for line, p, m in problems}
    assert by_path["webhooks.line"][0] == 22 and "not a LINE user" in by_path["webhooks.line"][1]
    assert "not a Telegram bot token" in by_path["webhooks.tg"][1]
    assert "leave out url and secret" in by_path["webhooks.mixed"][1]
    assert by_path["webhooks.typo.preset"][1].endswith("did you mean 'telegram'?")


def test_unknown_event_and_key_suggest_the_right_one() -> None:
    problems = found(with_hooks(f"  a: {{url: 'https://x.example', secret: {SECRET}, events: [voicemial], enabeld: false}}\n"))
    messages = [m for _, _, m in problems]
    assert any("did you mean 'voicemail'" in m for m in messages)
    assert any(m == "unknown key 'enabeld'; did you mean 'enabled'?" for m in messages)


def test_hook_language_must_be_offered() -> None:
    line, path, msg = one(with_hooks(f"  a: {{preset: line, token: t, target: {LINE_ID}, language: zh-TW}}\n"))
    assert (line, path) == (22, "webhooks.a.language") and "not in business.languages" in msg


LOOKUP = MINIMAL.replace('      options: {"1": bye}', '      options: {"1": bye, "2": orders}') + """\
    orders:
      type: lookup
      prompt: hello
      table: orders
      next: bye
      fallback: bye
      operator_key: null
"""


def test_lookup_node_parses_with_defaults() -> None:
    s = parse(LOOKUP)
    node = s.flow.nodes["orders"]
    assert isinstance(node, LookupNode)
    assert (node.attempts, node.timeout_s, node.repeat_key, node.private) == (3, 2, "1", False)
    assert node.silent_targets() == {"next": "bye", "fallback": "bye"}
    assert parse(dump(s)) == s


def test_lookup_needs_exactly_one_source() -> None:
    both = LOOKUP.replace("      table: orders\n", "      table: orders\n      url: https://x.example/q\n")
    line, path, msg = one(both)
    assert path == "flow.nodes.orders" and "exactly one of 'table'" in msg
    neither = LOOKUP.replace("      table: orders\n", "")
    assert "exactly one" in one(neither)[2]
    # a second mistake of the node is not hidden behind the first
    short = neither.replace("      next: bye\n", "      next: bye\n      min_digits: 8\n      max_digits: 4\n")
    msg = one(short)[2]
    assert "exactly one" in msg and "min_digits must not be more than max_digits" in msg


def test_lookup_keys_ranges_targets_and_prompts_are_checked() -> None:
    text = LOOKUP.replace("      operator_key: null\n", (
        "      another_key: '1'\n      operator_key: '0'\n      attempts: 11\n"
        "      not_found_prompt: helo\n      fallback: byee\n")).replace("      fallback: bye\n", "", 1)
    problems = {p: m for _, p, m in found(text)}
    assert problems["flow.nodes.orders.attempts"].startswith("should be less than or equal to 10")
    # attempts is invalid, so the node is checked as part of a partial flow; fix it and retry
    text = text.replace("      attempts: 11\n", "")
    problems = {p: m for _, p, m in found(text)}
    assert problems["flow.nodes.orders.another_key"] == "'1' is also repeat_key"
    assert "has no target" in problems["flow.nodes.orders.operator_key"]
    assert "did you mean 'hello'" in problems["flow.nodes.orders.not_found_prompt"]
    assert "did you mean 'bye'" in problems["flow.nodes.orders.fallback"]


def test_lookup_url_must_be_http_and_unknown_type_lists_lookup() -> None:
    bad = LOOKUP.replace("      table: orders\n", "      url: file:///etc/passwd\n")
    assert "not an http" in one(bad)[2]
    typo = LOOKUP.replace("type: lookup", "type: lookpu")
    assert one(typo)[2] == "unknown type 'lookpu'; did you mean 'lookup'?"
