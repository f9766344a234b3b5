"""The mailbox greeting a caller hears, and `*` during it, end to end on the SimLine:
on the shipped default config (mailboxes with configured greetings, no PIN) and on the
test flow. The owner's choice by phone (unavailable, busy, temporary) wins over the
config's greeting until the config's greeting is changed again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from firmware.appliance import DEFAULT_CONFIG, Box, ConfigSource
from firmware.dsp.audiofile import write_wav
from firmware.line.base import FRAME_SAMPLES
from firmware.line.sim import SimParty
from firmware.settings import hash_pin
from tests.ivr.conftest import KNOWN, Phone, SpyPrompts, voice

PIN = "4711"
SALES = "202"  # the test flow's sales person (busy_vm: greeting auto, mailbox general)
DEFAULT_SALES = "0200000002"
TO_SUPPORT = "wait 1; press 93"  # default config: English, then 3 (support's voicemail)
GENERAL_LOGIN = "wait 0.5; press 8; wait 0.5; press 100#; wait 0.5; press {pin}#; waitsilence 20"


@pytest.fixture(scope="module")
def pin_hash() -> str:
    return hash_pin(PIN)


@pytest.fixture
def shipped(tmp_path: Path, session_prompts: SpyPrompts, pin_hash: str):
    """The shipped default config, as is or with a PIN for the support mailbox."""
    boxes: list[Box] = []

    def make(pin: bool = False) -> Phone:
        data = tmp_path / f"data{len(boxes)}"
        path = data / "config" / "current.yaml"
        path.parent.mkdir(parents=True)
        text = DEFAULT_CONFIG.read_text(encoding="utf-8")
        if pin:
            anchor = "    name: Technical support\n"
            assert anchor in text
            text = text.replace(anchor, f"{anchor}    pin_hash: '{pin_hash}'\n")
        path.write_text(text, encoding="utf-8")
        box = Box(data, ConfigSource(path, fallback=None))
        boxes.append(box)
        return Phone(box, session_prompts)

    yield make
    for box in boxes:
        box.close()


def _edit_config(phone: Phone, change) -> None:
    """Change the config file as the web page publishes one (a new file, renamed in)."""
    path = phone.box.config.path
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tmp.replace(path)


def _wav(tmp_path: Path, name: str, seconds: float, level_db: float = -18.0) -> Path:
    path = tmp_path / f"{name}.wav"
    write_wav(path, voice(seconds, level_db=level_db))
    return path


def _contains(heard: np.ndarray, audio: np.ndarray) -> bool:
    """`audio` (whole frames of it) was heard as one unbroken stretch."""
    whole = audio[: len(audio) // FRAME_SAMPLES * FRAME_SAMPLES]
    first = whole[:FRAME_SAMPLES]
    for i in range(0, len(heard) - len(whole) + 1, FRAME_SAMPLES):
        if np.array_equal(heard[i:i + FRAME_SAMPLES], first):
            return np.array_equal(heard[i:i + len(whole)], whole)
    return False


def _greeting(phone: Phone) -> dict:
    return phone.first("greeting")


# -- `*` during the greeting -------------------------------------------------------------
def test_star_in_the_greeting_of_a_mailbox_without_pin_is_ignored(shipped, tmp_path) -> None:
    """The shipped menu says "press star to hear these options again": a caller who
    presses it during a greeting goes on hearing the greeting and leaves a message."""
    phone = shipped()
    settings = phone.box.config.current()
    # spoken before the call, so the key falls while the greeting plays, not while
    # text-to-speech renders it (a key then is typed ahead: dropped)
    greeting = phone.prompts.render(settings.prompts["support_greeting"].en, "en")
    message = _wav(tmp_path, "message", 2.0)
    summary, caller = phone.call(f"{TO_SUPPORT}; wait 2; press *; waitbeep; wait 0.3;"
                                 f" speak {message}; press #; wait 5")
    assert not phone.of("owner_login") and not phone.of("pin_wrong")
    assert "Please enter your PIN, then press pound." not in phone.texts()
    assert phone.first("message_saved")["mailbox"] == "support"
    assert summary.outcome == "voicemail"
    # the greeting went on where the key stopped it: heard whole, without a gap
    assert _contains(caller.heard(), greeting)
    started, recording = _greeting(phone)["t_ms"], phone.first("recording")["t_ms"]
    stars = [k["t_ms"] for k in phone.of("key") if k["digit"] == "*"]
    assert len(stars) == 1 and started + 500 < stars[0] < recording  # while it played
    assert recording - started >= len(greeting) / 8
    assert phone.prompts_played().count("support_greeting") == 1  # resumed, not replayed
    assert phone.store.lockouts.state("support").failures == 0  # nothing counted


def test_star_typed_ahead_into_a_mailbox_without_pin_is_dropped(shipped, tmp_path) -> None:
    phone = shipped()
    message = _wav(tmp_path, "message", 2.0)
    phone.call(f"wait 1; press 93*; waitbeep; wait 0.3; speak {message}; press #; wait 5")
    assert not phone.of("owner_login")
    assert phone.first("message_saved")["mailbox"] == "support"


def test_a_wrong_then_abandoned_login_goes_back_to_the_message(make_phone, pin_hash,
                                                               tmp_path) -> None:
    phone = make_phone({"mailboxes": {"support": {"pin_hash": pin_hash}}})
    message = _wav(tmp_path, "message", 2.0)
    # *, a wrong PIN, then only # (no PIN): the greeting again, whose * is ignored now
    summary, _ = phone.call(f"wait 0.5; press 3; wait 1; press *; wait 0.5; press 1111#;"
                            f" waitsilence 20; press #; wait 1.5; press *; waitbeep; wait 0.3;"
                            f" speak {message}; press #; wait 5", number=KNOWN)
    assert len(phone.of("owner_login")) == 1
    assert len(phone.of("pin_wrong")) == 1 and not phone.of("pin_ok")
    assert phone.first("login_abandoned")["mailbox"] == "support"
    assert "That PIN is not correct." in phone.texts()
    assert len(phone.of("greeting")) == 2
    assert phone.first("message_saved")["mailbox"] == "support"
    assert summary.outcome == "voicemail" and summary.path[-1] == "bye"


def test_a_locked_out_login_still_lets_the_caller_leave_a_message(make_phone, pin_hash,
                                                                   tmp_path) -> None:
    phone = make_phone({"mailboxes": {"support": {"pin_hash": pin_hash}}})
    message = _wav(tmp_path, "message", 2.0)
    summary, _ = phone.call(f"wait 0.5; press 3; wait 1; press *; wait 0.5; press 1111#;"
                            f" waitsilence 20; press 2222#; waitsilence 20; press 3333#;"
                            f" waitbeep; wait 0.3; speak {message}; press #; wait 5",
                            number=KNOWN)
    assert len(phone.of("pin_wrong")) == 2 and phone.of("pin_locked")
    assert "This mailbox is locked after too many wrong PINs. Please try again later." in phone.texts()
    assert phone.first("message_saved")["mailbox"] == "support"
    assert summary.outcome == "voicemail"


# -- the owner's greeting by phone against the config's ----------------------------------
def test_a_greeting_recorded_by_phone_replaces_the_shipped_prompt_until_the_config_changes(
        shipped, tmp_path) -> None:
    phone = shipped(pin=True)
    recorded = _wav(tmp_path, "greeting", 2.0, level_db=-16)
    phone.call(f"{TO_SUPPORT}; wait 1; press *; wait 0.5; press {PIN}#; waitsilence 20;"
               f" press 3; wait 0.5; press 1; waitbeep; wait 0.3; speak {recorded}; press #;"
               " waitsilence 20; press 1; waitsilence 20; press *; wait 3")
    assert phone.first("greeting_recorded")["greeting"] == "unavailable"
    # the next caller hears the recording, not the configured support_greeting
    _, caller = phone.call(f"{TO_SUPPORT}; wait 8; hangup")
    assert _greeting(phone)["source"] == "phone"
    assert "support_greeting" not in phone.prompts_played()
    probe = voice(2.0, level_db=-16)[4000:4160]
    heard = caller.heard()
    assert any(np.array_equal(heard[i:i + 160], probe) for i in range(0, len(heard) - 160, 160))
    # an edit elsewhere in the config (the hours) leaves the owner's recording in place
    _edit_config(phone, lambda doc: doc["hours"]["weekly"].update({"sat": ["09:00-12:00"]}))
    phone.call(f"{TO_SUPPORT}; wait 8; hangup")
    assert _greeting(phone)["source"] == "phone"
    # the owner then sets another greeting in the config: the newer choice plays
    _edit_config(phone, lambda doc: doc["mailboxes"]["support"]["greetings"].update(
        {"unavailable": {"prompt": "leave_message"}}))
    phone.call(f"{TO_SUPPORT}; wait 8; hangup")
    assert _greeting(phone)["source"] == "config"
    assert "leave_message" in phone.prompts_played()
    # ...and a new recording by phone wins again
    phone.call(f"{TO_SUPPORT}; wait 1; press *; wait 0.5; press {PIN}#; waitsilence 20;"
               f" press 3; wait 0.5; press 1; waitbeep; wait 0.3; speak {recorded}; press #;"
               " waitsilence 20; press 1; waitsilence 20; press *; wait 3")
    phone.call(f"{TO_SUPPORT}; wait 8; hangup")
    assert _greeting(phone)["source"] == "phone"


def test_busy_and_temporary_greetings_by_phone(make_phone, pin_hash, tmp_path) -> None:
    phone = make_phone({"mailboxes": {"general": {"pin_hash": pin_hash}}})
    busy = SimParty.busy
    to_busy_sales = "wait 0.5; press 2; wait 25; hangup"

    def record(which: str, seconds: float) -> None:
        wav = _wav(tmp_path, f"g{which}", seconds, level_db=-16)
        phone.call(GENERAL_LOGIN.format(pin=PIN) + f"; press 3; wait 0.5; press {which}; waitbeep;"
                   f" wait 0.3; speak {wav}; press #; waitsilence 20; press 1; waitsilence 20;"
                   " press *; wait 3", number=KNOWN)
        assert phone.of("greeting_recorded")

    record("2", 1.5)  # busy
    phone.call(to_busy_sales, number=KNOWN, parties={SALES: busy()})
    assert (_greeting(phone)["mailbox"], _greeting(phone)["source"], _greeting(phone)["slot"]) \
        == ("general", "phone", "busy")
    phone.call("wait 0.5; press 3; wait 1; hangup", number=KNOWN)  # support: untouched
    assert _greeting(phone)["source"] == "built-in"
    record("3", 1.8)  # temporary: instead of both
    phone.call(to_busy_sales, number=KNOWN, parties={SALES: busy()})
    assert (_greeting(phone)["source"], _greeting(phone)["slot"]) == ("phone", "temporary")
    # the greetings menu says it is on, and 4 turns it off
    phone.call(GENERAL_LOGIN.format(pin=PIN) + "; press 3; waitsilence 20; press 4;"
               " waitsilence 20; press *; wait 3", number=KNOWN)
    assert "Your temporary greeting is on. To turn it off, press 4." in phone.texts()
    assert "Your temporary greeting is off." in phone.texts()
    assert phone.first("greeting_removed")["greeting"] == "temporary"
    phone.call(to_busy_sales, number=KNOWN, parties={SALES: busy()})
    assert (_greeting(phone)["source"], _greeting(phone)["slot"]) == ("phone", "busy")


# -- busy falls back to the unavailable greeting -----------------------------------------
def test_busy_without_a_busy_greeting_plays_the_configured_unavailable_one(shipped) -> None:
    """default.yaml: sales is busy, general_voicemail (greeting auto) has only an
    unavailable greeting: that one plays, not the built-in "is on another call"."""
    phone = shipped()
    phone.call("wait 1; press 92; wait 40; hangup", parties={DEFAULT_SALES: SimParty.busy()})
    assert phone.first("forward_result")["result"] == "busy"
    assert (_greeting(phone)["source"], _greeting(phone)["slot"]) == ("config", "unavailable")
    assert "leave_message" in phone.prompts_played()
    assert not any("is on another call" in t for t in phone.texts())


def test_busy_greeting_falls_back_to_one_recorded_by_phone_too(make_phone, pin_hash,
                                                               tmp_path) -> None:
    phone = make_phone({"mailboxes": {"general": {"pin_hash": pin_hash}}})
    wav = _wav(tmp_path, "unavailable", 1.5, level_db=-16)
    phone.call(GENERAL_LOGIN.format(pin=PIN) + f"; press 3; wait 0.5; press 1; waitbeep;"
               f" wait 0.3; speak {wav}; press #; waitsilence 20; press 1; waitsilence 20;"
               " press *; wait 3", number=KNOWN)
    _, caller = phone.call("wait 0.5; press 2; wait 25; hangup", number=KNOWN,
                           parties={SALES: SimParty.busy()})
    assert (_greeting(phone)["source"], _greeting(phone)["slot"]) == ("phone", "unavailable")
    recorded = voice(1.5, level_db=-16)
    assert _contains(caller.heard(), recorded[2400:9600])  # the middle of the recording
