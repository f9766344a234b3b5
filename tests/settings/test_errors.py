"""Each kind of mistake is reported with its exact line and path, all at once."""

from __future__ import annotations

from firmware.errors import ConfigError
from firmware.settings import parse, problems

from .conftest import MINIMAL, found, one


def test_minimal_config_is_valid() -> None:
    s = parse(MINIMAL, "test.yaml")
    assert s.flow.entry == "main"
    assert problems(MINIMAL) == []


def test_problem_prints_as_file_line_path_message() -> None:
    text = MINIMAL.replace("country: us", "country: usa")
    try:
        parse(text, "office.yaml")
    except ConfigError as exc:
        assert str(exc.problems[0]) == (
            "office.yaml:4 business.country: 'usa' is not allowed: use 'us', 'tw', 'cn', "
            "'uk', 'de' or 'jp'; did you mean 'us'?"
        )
    else:
        raise AssertionError("accepted an unknown country")


def test_unknown_key_is_an_error_with_did_you_mean() -> None:
    line, path, msg = one(MINIMAL.replace("      final: bye", "      finale: bye\n      final: bye"))
    assert (line, path) == (16, "flow.nodes.main.finale")
    assert msg == "unknown key 'finale'; did you mean 'final'?"


def test_unknown_top_level_section_suggests_the_section() -> None:
    assert one(MINIMAL + "limts:\n  max_call_s: 60\n") == (
        20, "limts", "unknown key 'limts'; did you mean 'limits'?"
    )


def test_plain_pin_is_refused_with_a_hint() -> None:
    text = MINIMAL + "mailboxes:\n  general:\n    name: G\n    pin: 1234\n"
    line, path, msg = one(text)
    assert (line, path) == (23, "mailboxes.general.pin")
    assert "hash-pin" in msg


def test_wrong_type_and_range() -> None:
    text = MINIMAL.replace("      final: bye", "      final: bye\n      retries: lots")
    assert one(text)[:2] == (17, "flow.nodes.main.retries")
    text = MINIMAL + "line:\n  rings: 40\n"
    assert one(text)[:2] == (21, "line.rings")


def test_missing_required_field_points_at_its_parent() -> None:
    text = MINIMAL.replace("      final: bye\n", "")
    assert one(text) == (11, "flow.nodes.main.final", "missing (required)")


def test_unknown_node_type_and_missing_type() -> None:
    text = MINIMAL.replace("type: hangup", "type: hangpu")
    assert one(text) == (18, "flow.nodes.bye.type", "unknown type 'hangpu'; did you mean 'hangup'?")
    text = MINIMAL.replace("      type: hangup\n", "")
    line, path, msg = one(text)
    assert (line, path) == (17, "flow.nodes.bye") and msg.startswith("missing 'type'")


def test_bad_time_zone_and_time_range() -> None:
    text = MINIMAL.replace("America/New_York", "America/New_Yrok") + (
        "hours:\n  weekly:\n    mon-fri: [\"09:00-12:00\", \"13:00-25:00\"]\n"
    )
    assert found(text) == [
        (3, "business.timezone",
         "'America/New_Yrok' is not an IANA time zone (e.g. Asia/Taipei, America/New_York)"),
        (22, "hours.weekly.mon-fri[1]", "'25:00' is not a time: write HH:MM, 00:00 to 24:00"),
    ]


def test_bad_day_key_is_reported_on_its_line() -> None:
    text = MINIMAL + "hours:\n  weekly:\n    mon-wed: [\"09:00-17:00\"]\n    thr: [\"10:00-12:00\"]\n"
    line, path, msg = one(text)
    assert (line, path) == (23, "hours.weekly.thr")
    assert msg.startswith("'thr' is not a day") and msg.endswith("did you mean 'thu'?")


def test_day_listed_twice() -> None:
    text = MINIMAL + "hours:\n  weekly:\n    mon-fri: [\"09:00-17:00\"]\n    fri: [\"10:00-12:00\"]\n"
    assert one(text) == (21, "hours.weekly", "fri is in both 'mon-fri' and 'fri'")


def test_dialable_numbers() -> None:
    text = MINIMAL + "people:\n  ann: \"+1 555 0100\"\n  bob: {number: 555-CALL}\n"
    (l1, p1, m1), (l2, p2, m2) = found(text)
    assert (l1, p1) == (21, "people.ann.number") and "without '+'" in m1
    assert (l2, p2) == (22, "people.bob.number") and "not a dialable number" in m2


def test_yaml_syntax_error_has_its_line() -> None:
    text = MINIMAL.replace("  hello: {en: Hello}", "  hello: {en: Hello")
    (line, path, msg), = found(text)
    assert line == 7 and path == "" and msg.startswith("YAML syntax")


def test_duplicate_key_is_an_error_not_a_silent_overwrite() -> None:
    text = MINIMAL.replace("  bye: {en: Goodbye}", "  bye: {en: Goodbye}\n  hello: {en: Hi}")
    assert found(text) == [(8, "prompts.hello", "duplicate key (first at line 6)")]


def test_empty_and_non_mapping_documents() -> None:
    assert found("") == [(None, "", "the document is empty")]
    assert found("- a\n- b\n")[0][2].startswith("the document must be a mapping")


def test_many_problems_are_reported_together_in_line_order() -> None:
    text = """\
    business:
      name: Test Office
      timezone: Mars/Base
      country: us
      languages: [en, fr]
    line:
      backend: modem
      ringz: 3
    prompts:
      hello: {en: Hello, de: Hallo}
      bye: {en: Goodbye}
    flow:
      entry: main
      nodes:
        main:
          type: menu
          prompt: hello
          options: {"1": bye, "2": sales}
          operator_key: null
          retries: 0
          final: bye
        sales:
          type: forward
          person: nobody
          fallback: bye
        bye:
          type: hangup
          prompt: bye
    limits:
      max_call_s: -5
    """
    got = found(text)
    assert [(line, path) for line, path, _ in got] == [
        (3, "business.timezone"),
        (5, "business.languages[1]"),
        (8, "line.ringz"),
        (10, "prompts.hello.de"),
        (20, "flow.nodes.main.retries"),
        (24, "flow.nodes.sales.person"),
        (30, "limits.max_call_s"),
    ]
    assert got[5][2].startswith("no person 'nobody' (none configured)")


def test_value_error_from_a_model_check_is_on_the_model() -> None:
    text = MINIMAL + "line:\n  backend: modem\n"
    assert one(text) == (20, "line", "backend 'modem' needs 'device'")


def test_load_reports_an_unreadable_file(tmp_path) -> None:
    from firmware.settings import load

    missing = tmp_path / "nope.yaml"
    try:
        load(missing)
    except ConfigError as exc:
        (p,) = exc.problems
        assert p.file == str(missing) and p.line is None and p.message.startswith("cannot read")
    else:
        raise AssertionError("loaded a missing file")


def test_yaml_1_1_traps_are_not_sprung() -> None:
    """18:00 is not 1080, no is not False, 0912345678 keeps its leading zero."""
    text = MINIMAL + (
        "hours:\n  weekly:\n    mon: [\"9:00-18:00\"]\n    tue: [09:00-18:00]\n"
        "people:\n  ann: 0912345678\n  bob: 5550100\n"
    )
    s = parse(text)
    assert s.people["ann"].number == "0912345678" and s.people["bob"].number == "5550100"
    assert str(s.hours.ranges_on(1)[0].model_dump()) == "09:00-18:00"
