"""Everything a call plays is a `prompt` event (ivr/heard.py): configured prompts (kept in
the call log too), built-in sentences, read-outs, the beep. And the forward whisper is
said in the office's language, whatever language the caller chose."""

from __future__ import annotations

import numpy as np

from firmware.ivr.heard import Heard, phrase_key, spoken
from firmware.ivr.phrases import phrase
from firmware.line.sim import SimParty
from tests.ivr.conftest import DELETE, KNOWN

SALES = "202"
# main menu: 7 = language node, 9 there = English; then 2 = the sales forward
ENGLISH_THEN_SALES = "wait 0.5; press 7; wait 0.5; press 9; wait 1; press 2; wait 60; hangup"
MANDARIN_OFFICE = {"business": {"default_language": "zh-TW"}}


def logged_prompts(phone, call_id: int) -> list[dict]:
    return [e.detail for e in phone.store.calls.events(call_id) if e.kind == "prompt"]


def test_built_in_retry_sentences_are_in_the_transcript_not_the_call_log(make_phone) -> None:
    phone = make_phone({"flow": {"nodes": {"main": {"invalid_prompt": DELETE,
                                                    "timeout_prompt": DELETE}}}})
    summary, _ = phone.call("wait 0.5; press A; wait 4; press #; wait 1; hangup", number=KNOWN)
    assert phone.phrases_played() == ["invalid", "more_time"]
    said = [d for d in phone.of("prompt") if d.get("phrase") == "invalid"][0]
    assert said["language"] == "en" and said["t_ms"] >= phone.first("invalid")["t_ms"]
    assert logged_prompts(phone, summary.call_id) == [{"prompt": "main", "language": "en"}] * 2

    phone.call("wait 12; hangup", number=KNOWN)  # first_key_timeout_s 3: the timeout sentence
    assert phone.phrases_played()[0] == "timeout"


def test_a_read_out_and_the_closing_sentences_are_named(make_phone) -> None:
    phone = make_phone({"flow": {"nodes": {"bye": {"prompt": DELETE}}}})
    summary, _ = phone.call("wait 0.5; press 5; wait 12; press 1; wait 10; hangup", number=KNOWN)
    assert phone.first("callback_requested")["number"] == KNOWN
    heard = phone.of("prompt")
    names = [d.get("prompt") or d.get("phrase") or d.get("words") for d in heard]
    start = names.index("callback_number_is")
    assert names[start + 1] == ["digit-2", "digit-0", "digit-2"]  # the number, read out
    assert heard[start + 1]["language"] == "en"
    assert names[start + 2].startswith("callback_confirm")
    assert names[-2:] == ["callback_thanks", "goodbye"]  # the hangup node's built-in goodbye
    times = [d["t_ms"] for d in heard]
    assert times == sorted(times)
    assert summary.path[-1] == "bye"


def test_the_whisper_is_in_the_office_language_after_the_caller_chose_english(make_phone) -> None:
    phone = make_phone(MANDARIN_OFFICE)
    party = SimParty.answers("wait 9; press 1; wait 10")
    summary, caller = phone.call(ENGLISH_THEN_SALES, number=KNOWN, parties={SALES: party})
    assert phone.first("language")["language"] == "en"
    assert phone.first("forward_result")["result"] == "accepted"
    assert ("公司來電，請按1。", "zh-TW") in phone.prompts.rendered  # the configured whisper
    assert ("Office call, press 1.", "en") not in phone.prompts.rendered
    whisper = [d for d in phone.of("prompt") if d.get("to") == "party"]
    assert [(d["prompt"], d["language"]) for d in whisper] == [("whisper", "zh-TW")]
    connecting = [d for d in phone.of("prompt") if d.get("prompt") == "connecting"]
    assert connecting[0]["language"] == "en"  # the caller still hears English
    assert {"prompt": "whisper", "language": "zh-TW", "to": "party"} in logged_prompts(
        phone, summary.call_id)


def test_the_built_in_whisper_too_and_the_caller_hears_the_outcome_in_english(make_phone) -> None:
    phone = make_phone({**MANDARIN_OFFICE, "flow": {"nodes": {"sales": {"whisper": DELETE}}}})
    party = SimParty.answers("wait 9; press 2; wait 10")  # declines
    summary, _ = phone.call(ENGLISH_THEN_SALES, number=KNOWN, parties={SALES: party})
    assert phone.first("forward_result")["result"] == "declined"
    assert ("公司電話轉接來電，接聽請按 1。", "zh-TW") in phone.prompts.rendered
    heard = phone.of("prompt")
    assert [(d["phrase"], d["language"]) for d in heard if d.get("to") == "party"] == [
        ("whisper", "zh-TW")]
    assert {"phrase": "not_reached", "language": "en"}.items() <= next(
        d for d in heard if d.get("phrase") == "not_reached").items()
    assert "busy_vm" in summary.path


def test_rendered_text_is_matched_back_to_its_phrase_and_never_logged() -> None:
    assert phrase_key(phrase("busy_greeting", "zh-TW", name="業務部")) == "busy_greeting"
    assert phrase_key(phrase("callback_confirm", "en", confirm="1", other="2")) == "callback_confirm"
    assert spoken("Order 12345 ships on Friday", "en") == {"speech": 27, "language": "en"}
    assert spoken(phrase("unavailable_greeting", "en", name="Sales"), "en", recording=True) == {
        "phrase": "unavailable_greeting", "language": "en", "recording": True}


def test_a_part_of_named_audio_keeps_its_name_and_unnamed_audio_is_described() -> None:
    heard = Heard(limit=2)
    greeting = heard.name(np.ones(8000, np.int16), prompt="greeting", language="en")
    assert heard.take(greeting[4000:]) == {"prompt": "greeting", "language": "en"}  # played on
    for n in range(3):  # a bounded memory: the oldest name goes
        heard.name(np.zeros(160 * (n + 1), np.int16), phrase=f"p{n}")
    assert heard.take(greeting) == {"audio": "other", "ms": 1000}


def test_a_greeting_prompt_that_its_node_logs_itself_is_logged_once(make_phone) -> None:
    # a configured greeting is a prompt like any other: one event in the call log
    phone = make_phone({"mailboxes": {"general": {"greetings": {"unavailable": {"prompt": "closed"}}}}})
    summary, _ = phone.call("wait 0.5; press A; wait 1; press A; wait 1; press A; waitbeep 30; hangup",
                            number=KNOWN)
    assert "general_vm" in summary.path
    logged = [d["prompt"] for d in logged_prompts(phone, summary.call_id)]
    assert logged.count("closed") == 1, logged
    assert phone.prompts_played().count("closed") == 1
