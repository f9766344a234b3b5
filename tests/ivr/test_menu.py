"""Menu, play and hangup nodes on the simulated line: barge-in timing, timeouts, retries,
repeat, operator, more time, multi-key choices. Keys are DTMF audio."""

from __future__ import annotations

import pytest

from firmware.line.base import ms_to_samples, samples_to_ms
from tests.ivr.barge import barge_in_ms
from tests.ivr.conftest import KNOWN, Phone

BARGE_IN_LIMIT_MS = 60.0


def _prompt_audio(phone: Phone, prompt_id: str, language: str = "en"):
    settings = phone.box.config.current()
    return phone.prompts.render(settings.prompts[prompt_id].text(language), language)


def _prompt_ms(phone: Phone, prompt_id: str) -> float:
    return samples_to_ms(len(_prompt_audio(phone, prompt_id)))


@pytest.mark.parametrize("press_after_ms", [400, 730, 1110])
def test_a_key_stops_the_prompt_within_60_ms_of_its_onset(make_phone, press_after_ms) -> None:
    phone = make_phone()
    prompt = _prompt_audio(phone, "main")
    assert samples_to_ms(len(prompt)) > press_after_ms + 200, "prompt too short for the test"
    summary, caller = phone.call(f"wait {press_after_ms / 1000}; press 1; wait 3; hangup",
                                 number=KNOWN)
    assert phone.first("choice")["keys"] == "1"
    onset = caller.connected_at + ms_to_samples(press_after_ms)
    latency = barge_in_ms(caller, prompt, onset)
    assert 0 <= latency <= BARGE_IN_LIMIT_MS, latency
    assert summary.path[:3] == ("start", "main", "info")


def test_first_key_timeout_retries_then_final(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 40; hangup", number=KNOWN)
    main_ms = _prompt_ms(phone, "main")
    timeouts = phone.of("timeout")
    assert [t["attempt"] for t in timeouts] == [1, 2, 3]
    # the first timeout comes first_key_timeout_s (3 s) after the prompt ended
    assert abs(timeouts[0]["t_ms"] - (main_ms + 3000)) <= 60, (timeouts[0], main_ms)
    assert phone.prompts_played()[:5] == ["main", "no_input", "main", "no_input", "main"]
    assert phone.first("retries_exhausted")["target"] == "general_vm"
    assert summary.path[:3] == ("start", "main", "general_vm")


def test_invalid_choices_play_the_invalid_prompt_then_go_to_final(make_phone) -> None:
    phone = make_phone({"flow": {"nodes": {"main": {"retries": 2}}}})
    summary, _ = phone.call("wait 0.5; press A; waitsilence 0.5; press D; wait 20; hangup",
                            number=KNOWN)
    assert [d["keys"] for d in phone.of("invalid")] == ["A", "D"]
    # "D" came during the invalid prompt: typed ahead, so the menu is not replayed
    assert phone.prompts_played()[:2] == ["main", "invalid"]
    assert summary.path[:3] == ("start", "main", "general_vm")


def test_star_repeats_the_menu_without_counting_a_failure(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press *; wait 0.6; press *; wait 1; press 66; wait 5",
                            number=KNOWN)
    assert len(phone.of("repeat")) == 2
    assert phone.prompts_played()[:3] == ["main", "main", "main"]
    assert not phone.of("invalid") and not phone.of("timeout")
    assert summary.path[-1] == "bye"


def test_zero_reaches_the_operator_from_every_menu(make_phone) -> None:
    sub = {"type": "menu", "prompt": "info", "options": {"1": "bye", "2": "info"},
           "final": "bye"}
    phone = make_phone({"flow": {"nodes": {"sub": sub, "main": {"options": {"1": "sub"}}}}})
    for script, expect in (("wait 0.5; press 0; wait 5; hangup", ["start", "main", "operator"]),
                           ("wait 0.5; press 1; wait 0.5; press 0; wait 5; hangup",
                            ["start", "main", "sub", "operator"])):
        summary, _ = phone.call(script, number=KNOWN)
        assert list(summary.path[:len(expect)]) == expect, summary.path
        assert phone.of("operator")


def test_operator_key_can_be_turned_off(make_phone) -> None:
    # (the operator node stays reachable through option 55, as the flow check demands)
    phone = make_phone({"flow": {"nodes": {"main": {"operator_key": None, "retries": 1,
                                                    "options": {"55": "operator"}}}}})
    summary, _ = phone.call("wait 0.5; press 0; wait 20; hangup", number=KNOWN)
    assert not phone.of("operator")
    assert phone.first("invalid")["keys"] == "0"


def test_pound_gives_more_time(make_phone) -> None:
    phone = make_phone()
    main_ms = _prompt_ms(phone, "main")
    # '#' during the prompt, then a key 8 s later: past the 3 s timeout, inside 10 s more
    wait = (main_ms + 8000) / 1000
    summary, _ = phone.call(f"wait 0.3; press #; wait {wait:.2f}; press 66; wait 5",
                            number=KNOWN)
    assert phone.of("more_time")
    assert not phone.of("timeout")
    assert phone.first("choice")["keys"] == "66"
    assert "Take your time." in phone.texts("en")


def test_multi_key_choice_and_its_shorter_prefix(make_phone) -> None:
    phone = make_phone()
    summary, _ = phone.call("wait 0.5; press 66; wait 5", number=KNOWN)
    assert phone.first("choice")["keys"] == "66" and summary.path[-1] == "bye"
    # "6" alone waits the inter-key timeout (1.5 s), then takes "6" (the survey)
    summary, _ = phone.call("wait 0.5; press 6; wait 15; hangup", number=KNOWN)
    choice = phone.first("choice")
    key_t = phone.first("key")["t_ms"]
    assert choice["keys"] == "6" and "survey" in summary.path
    assert 1500 - 60 <= choice["t_ms"] - key_t <= 1500 + 60


def test_play_then_back_to_the_menu_and_hangup_with_goodbye(make_phone) -> None:
    phone = make_phone()
    summary, caller = phone.call("wait 0.5; press 1; wait 3; press 66; wait 5", number=KNOWN)
    assert summary.path == ("start", "main", "info", "main", "bye")
    assert phone.prompts_played()[-1] == "goodbye"
    assert summary.outcome == "handled_in_menu" and summary.end_reason == "goodbye"
    assert caller.outcome == "box_hung_up"
