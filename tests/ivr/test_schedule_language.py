"""Schedule (hours, lunch break, holiday, manual override), language and extension nodes,
each a real call on the simulated line."""

from __future__ import annotations

import pytest

from firmware.ivr.nodes import OVERRIDE_KEY
from tests.ivr.conftest import CLOSED, HOLIDAY, KNOWN, LUNCH, OPEN


@pytest.mark.parametrize("when, status, branch", [
    (OPEN, "open", "main"),
    (CLOSED, "closed", "closed"),
    (LUNCH, "closed", "closed"),
    (HOLIDAY, "holiday", "holiday"),
])
def test_schedule_branches_on_the_local_clock(make_phone, when, status, branch) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 66; wait 6; hangup", number=KNOWN, when=when)
    assert phone.first("schedule")["status"] == status
    assert summary.path[1] == branch


def test_override_in_the_store_wins_over_the_hours(make_phone) -> None:
    phone = make_phone()
    phone.store.kv.set(OVERRIDE_KEY, {"mode": "closed", "until_ms": None})
    summary, _ = phone.call("wait 3; hangup", number=KNOWN, when=OPEN)
    assert summary.path[1] == "closed"
    phone.store.kv.set(OVERRIDE_KEY, {"mode": "open", "until_ms": None})
    summary, _ = phone.call("wait 3; hangup", number=KNOWN, when=CLOSED)
    assert summary.path[1] == "main"
    # an override with an end: after it, the hours apply again
    until = int(OPEN.timestamp() * 1000) + 60_000
    phone.store.kv.set(OVERRIDE_KEY, {"mode": "closed", "until_ms": until})
    summary, _ = phone.call("wait 3; hangup", number=KNOWN, when=OPEN)
    assert summary.path[1] == "closed"
    later = OPEN.replace(minute=5)
    summary, _ = phone.call("wait 3; hangup", number=KNOWN, when=later)
    assert summary.path[1] == "main"


def test_language_choice_applies_to_every_later_prompt(make_phone) -> None:
    phone = make_phone()
    # 7: language node; 8: Mandarin; then no key at all: timeouts, voicemail, goodbye
    summary, _ = phone.call("wait 0.5; press 7; wait 0.5; press 8; wait 45; hangup",
                            number=KNOWN)
    assert phone.first("language")["language"] == "zh-TW"
    switched = phone.kinds().index("language")
    later = [d for k, d in phone.events[switched:] if k == "prompt" and "language" in d]  # not the beep
    assert later and all(p["language"] == "zh-TW" for p in later), later
    assert "unavailable_greeting" in phone.phrases_played()  # built-in sentences too
    texts = [t for t, _ in phone.prompts.rendered]
    langs = [lang for _, lang in phone.prompts.rendered]
    first_zh = langs.index("zh-TW")
    assert all(lang == "zh-TW" for lang in langs[first_zh:]), list(zip(texts, langs))[first_zh:]
    assert "主選單。" in texts  # the menu prompt in Mandarin
    assert any("請在嗶聲後留言" in t for t in texts)  # the built-in voicemail greeting too
    assert "general_vm" in summary.path


def test_no_key_at_the_language_node_keeps_the_default(make_phone) -> None:
    phone = make_phone()
    phone.call("wait 0.5; press 7; wait 5; press 66; wait 4", number=KNOWN)
    assert not phone.of("language")
    assert {p["language"] for p in phone.of("prompt")} == {"en"}


def test_dial_by_extension_ends_on_the_inter_digit_timeout(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 4; wait 0.5; press 123; wait 6", number=KNOWN)
    found = phone.first("extension")
    assert found["digits"] == "123" and found["target"] == "bye"
    last_key = phone.of("key")[-1]["t_ms"]
    assert 1500 - 60 <= found["t_ms"] - last_key <= 1500 + 60  # inter_digit_timeout_s 1.5
    assert summary.path[-2:] == ("ext", "bye")


def test_extension_digits_typed_slowly_still_count(make_phone) -> None:
    phone = make_phone()
    # 1.0 s between the keys (< 1.5 s): one extension "11" (the sales forward)
    summary, _ = phone.call("wait 0.5; press 4; wait 0.5; press 1; wait 1.0; press 1; wait 40; hangup",
                            number=KNOWN)
    assert phone.first("extension")["digits"] == "11"
    assert "sales" in summary.path


def test_wrong_extension_retries_then_final(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 4; wait 0.5; press 99; wait 12; hangup",
                            number=KNOWN)
    invalid = phone.of("invalid")
    assert invalid[0]["keys"] == "99"
    assert phone.of("timeout")  # the second try heard nothing
    assert "invalid" in phone.prompts_played()
    assert summary.path[-2:] == ("ext", "bye")
