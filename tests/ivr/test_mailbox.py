"""The owner's mailbox by phone: PIN (hashed, never logged, lock-out that survives the
call), message count, playback with caller and time read out, repeat/keep/delete/next,
a greeting recorded by phone, and day/night mode switched by phone."""

from __future__ import annotations

import datetime as dt

import pytest

from firmware.dsp.audiofile import write_wav
from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.ivr.owner import phone_greeting_path
from firmware.settings import hash_pin
from tests.ivr.conftest import KNOWN, OPEN, Phone, voice

PIN = "4711"
LOGIN = "wait 0.5; press 8; wait 0.5; press 200#; wait 0.5; press {pin}#; waitsilence 20"


@pytest.fixture(scope="module")
def pin_hash() -> str:
    return hash_pin(PIN)


@pytest.fixture
def owner_phone(make_phone, pin_hash) -> Phone:
    return make_phone({"mailboxes": {"support": {"pin_hash": pin_hash}}})


def _leave_message(phone: Phone, tmp_path, seconds: float = 1.5) -> None:
    path = tmp_path / f"m{seconds}.wav"
    write_wav(path, voice(seconds))
    phone.call(f"wait 0.5; press 3; waitbeep; wait 0.3; speak {path}; press #; wait 4",
               number=KNOWN)
    assert phone.of("message_saved")


def test_messages_by_phone_count_readout_repeat_keep_delete(owner_phone, tmp_path) -> None:
    phone = owner_phone
    _leave_message(phone, tmp_path, 1.5)
    _leave_message(phone, tmp_path, 2.0)
    first, second = sorted(phone.store.messages.list("support"), key=lambda m: m.id)
    script = (LOGIN.format(pin=PIN) + "; press 1; waitsilence 20; press 1; waitsilence 20;"
              " press 2; waitsilence 20; press 3; waitsilence 20; press *; wait 3")
    summary, _ = phone.call(script, number=KNOWN)
    assert phone.first("pin_ok")["mailbox"] == "support"
    words = [w for w, _ in phone.prompts.spoken_words]
    assert words[:3] == ["you-have", "num-2", "new-messages"]
    # each message: "message from 2 0 2, received today, <time>"
    header = ["message-from", "digit-2", "digit-0", "digit-2", "received", "today"]
    starts = [i for i in range(len(words)) if words[i:i + 6] == header]
    assert len(starts) == 3, words  # first, its repeat, second
    assert words[starts[0] + 6:starts[0] + 9] == ["num-10", "oclock", "am"]
    deleted = phone.of("message_deleted")
    assert [d["message"] for d in deleted] == [second.id]
    kept = phone.store.messages.get(first.id)
    assert kept.heard and kept.deleted_ms is None
    assert phone.store.messages.get(second.id).deleted_ms is not None
    assert "No more messages." in phone.texts()
    assert summary.outcome == "mailbox_access" and summary.path[-1] == "bye"


def test_the_pin_never_reaches_the_call_log(owner_phone) -> None:
    phone = owner_phone
    summary, _ = phone.call(LOGIN.format(pin=PIN) + "; press *; wait 3", number=KNOWN)
    assert phone.of("pin_ok")
    logged = "".join(d["digit"] for d in phone.of("key"))
    assert PIN not in logged and "xxxx" in logged
    stored = "".join(e.detail.get("digit", "") for e in phone.store.calls.events(summary.call_id))
    assert PIN not in stored
    config_text = phone.box.config.path.read_text()
    assert PIN not in config_text and "scrypt" in config_text.lower()


def test_three_wrong_pins_lock_the_mailbox_across_calls(owner_phone) -> None:
    phone = owner_phone
    wrong = "wait 0.5; press 8; wait 0.5; press 200#; wait 0.5; press 1111#; waitsilence 20"
    again = "; wait 0.3; press 200#; wait 0.5; press 2222#; waitsilence 20"
    summary, _ = phone.call(wrong + again + again + "; wait 5; hangup", number=KNOWN)
    assert len(phone.of("pin_wrong")) == 2 and phone.of("pin_locked")
    assert "This mailbox is locked after too many wrong PINs. Please try again later." in phone.texts()
    assert summary.path[-1] == "bye"
    # the next call, with the right PIN, is still locked out
    phone.call(LOGIN.format(pin=PIN) + "; wait 3; hangup", number=KNOWN)
    assert phone.of("pin_locked") and not phone.of("pin_ok")
    # after the lock-out time (900 s) the right PIN works again
    phone.call(LOGIN.format(pin=PIN) + "; press *; wait 3", number=KNOWN,
               when=OPEN.replace(minute=20))
    assert phone.of("pin_ok")


def test_greeting_recorded_by_phone_is_what_the_next_caller_hears(owner_phone, tmp_path) -> None:
    phone = owner_phone
    greeting = voice(1.5, level_db=-16)
    path = tmp_path / "greeting.wav"
    write_wav(path, greeting)
    phone.call(LOGIN.format(pin=PIN) + f"; press 3; wait 0.5; press 1; waitbeep; wait 0.3;"
               f" speak {path}; press #; waitsilence 20; press 1; waitsilence 20; press *; wait 3",
               number=KNOWN)
    assert phone.first("greeting_recorded")["greeting"] == "unavailable"
    assert "This is your new greeting." in phone.texts()  # heard back before it was kept
    assert "Your greeting has been saved." in phone.texts()
    # the next caller to that mailbox hears the recording, not the built-in text
    _, caller = phone.call("wait 0.5; press 3; wait 6; hangup", number=KNOWN)
    file = phone_greeting_path_of(phone)
    assert file in phone.prompts.files
    heard = caller.heard()
    probe = greeting[4000:4160]  # a frame from the middle of the recording
    assert any((heard[i:i + 160] == probe).all() for i in range(0, len(heard) - 160))


def _record(phone: Phone, tmp_path, seconds: float, then: str, which: str = "1") -> None:
    """Log in, choose greetings (3), then which one (1 unavailable, 2 busy, 3 temporary)."""
    path = tmp_path / f"greeting{seconds}.wav"
    write_wav(path, voice(seconds, level_db=-16))
    phone.call(LOGIN.format(pin=PIN) + f"; press 3; wait 0.5; press {which}; waitbeep; wait 0.3;"
               f" speak {path}; press #; waitsilence 20; {then}", number=KNOWN)


def test_a_greeting_by_phone_replaces_the_live_one_only_when_kept(owner_phone, tmp_path) -> None:
    phone = owner_phone
    live = phone_greeting_path_of(phone)
    write_wav(live, voice(2.0, level_db=-20))
    before = live.read_bytes()
    _record(phone, tmp_path, 1.5, "press *; waitsilence 20; press *; wait 3")  # cancel
    assert phone.of("greeting_cancelled") and not phone.of("greeting_recorded")
    assert live.read_bytes() == before
    _record(phone, tmp_path, 1.5, "wait 1; hangup")  # hung up while hearing it back
    assert live.read_bytes() == before
    _record(phone, tmp_path, 1.5, "press 2; waitbeep; wait 0.3; hangup")  # again, then gone
    assert live.read_bytes() == before
    assert not list(live.parent.glob("*.new.wav*"))  # no temporary file left behind


def test_a_greeting_without_a_second_of_speech_is_refused(owner_phone, tmp_path) -> None:
    phone = owner_phone
    _record(phone, tmp_path, 0.4, "wait 3; hangup")
    assert phone.first("greeting_too_short")["speech_ms"] < 1000
    assert "Sorry, that greeting was too short." in phone.texts()
    assert not phone_greeting_path_of(phone).exists()


def phone_greeting_path_of(phone: Phone):
    data = phone.store.data
    return data.inside(data.greetings, "mailbox-support-unavailable.wav")


def test_closed_open_and_the_hours_again_by_phone(owner_phone) -> None:
    """7 closed and 8 open until the hours next change (as the web page's buttons),
    9 the hours again; each read out."""
    phone = owner_phone
    taipei = OPEN.tzinfo
    phone.call(LOGIN.format(pin=PIN) + "; press 7; waitsilence 20; press *; wait 3",
               number=KNOWN)  # Tuesday 10:00, open until 12:00
    lunch = dt.datetime(2026, 11, 24, 12, 0, tzinfo=taipei)
    assert phone.store.kv.get(OVERRIDE_KEY) == {"mode": "closed",
                                                "until_ms": int(lunch.timestamp() * 1000)}
    assert "The office is now closed until your opening hours next change." in phone.texts()
    assert any("To follow your opening hours again, press 9." in t for t in phone.texts())
    summary, _ = phone.call("wait 3; hangup", number=KNOWN, when=OPEN.replace(hour=11))
    assert summary.path[1] == "closed"
    summary, _ = phone.call("wait 3; hangup", number=KNOWN, when=OPEN.replace(hour=13, minute=30))
    assert summary.path[1] == "main"  # the hours changed at 12:00 and 13:00: over
    # 8 at night: open until the office next opens (Wednesday 09:00)
    night = OPEN.replace(hour=20)
    phone.call(LOGIN.format(pin=PIN) + "; press 8; waitsilence 20; press *; wait 3",
               number="0911111111", when=night)  # the VIP route reaches the menu when closed
    wednesday = dt.datetime(2026, 11, 25, 9, 0, tzinfo=taipei)
    assert phone.store.kv.get(OVERRIDE_KEY) == {"mode": "open",
                                                "until_ms": int(wednesday.timestamp() * 1000)}
    assert "The office is now open until your opening hours next change." in phone.texts()
    summary, _ = phone.call("wait 3; hangup", number=KNOWN, when=night.replace(hour=22))
    assert summary.path[1] == "main"
    phone.call(LOGIN.format(pin=PIN) + "; press 9; waitsilence 20; press *; wait 3",
               number="0911111111", when=night.replace(hour=22, minute=5))
    assert phone.store.kv.get(OVERRIDE_KEY) is None
    assert "The office now follows its opening hours." in phone.texts()
    summary, _ = phone.call("wait 3; hangup", number=KNOWN, when=night.replace(hour=22, minute=10))
    assert summary.path[1] == "closed"


def test_closed_by_phone_is_held_where_the_hours_never_change(make_phone, pin_hash) -> None:
    phone = make_phone({"mailboxes": {"support": {"pin_hash": pin_hash}},
                        "hours": {"weekly": {"mon-fri": ["00:00-24:00"], "sat-sun": ["00:00-24:00"]},
                                  "holidays": []}})
    phone.call(LOGIN.format(pin=PIN) + "; press 7; waitsilence 20; press *; wait 3",
               number=KNOWN)
    assert phone.store.kv.get(OVERRIDE_KEY) == {"mode": "closed", "until_ms": None}
    assert "The office is now closed until you switch it back." in phone.texts()


def test_star_during_the_mailbox_greeting_logs_the_owner_in(owner_phone) -> None:
    phone = owner_phone
    summary, _ = phone.call(f"wait 0.5; press 3; wait 1; press *; wait 0.5; press {PIN}#;"
                            " waitsilence 20; press *; wait 3", number=KNOWN)
    assert phone.first("owner_login")["mailbox"] == "support"
    assert phone.first("pin_ok")["mailbox"] == "support"
    assert not phone.of("recording")
    assert "Please enter your mailbox number, then press pound." not in phone.texts()
