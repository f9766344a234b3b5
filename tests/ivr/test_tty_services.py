"""Callback, mailbox login and lookup for a TTY caller, end to end on the SimLine: the
caller's characters are Baudot audio (our modulator, or minimodem's), and what the box
sent is decoded from `caller.heard()` (our decoder, or `minimodem --rx tdd`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from firmware.dsp.baudot import modulate
from firmware.ivr.lookup import key_secret, log_key
from firmware.ivr.nodes import OVERRIDE_KEY
from firmware.line.sim import Speak, parse_script
from firmware.line.simscript import Silence, WaitForSilence
from firmware.settings import hash_pin
from firmware.store import LookupEntry
from tests.ivr.conftest import KNOWN, OPEN, Phone
from tests.ivr.test_tty import box_text, typing

PIN = "4711"
RATE = 8000
needs_minimodem = pytest.mark.skipif(shutil.which("minimodem") is None,
                                     reason="minimodem missing (make test installs it)")


def turn() -> WaitForSilence:
    """Wait until the box has sent its turn (TTY text, then quiet)."""
    return WaitForSilence(ms=1500, timeout_ms=90_000)


def start(choice: str) -> list:
    """Wake text mode, then type the main-menu choice."""
    return [Silence(1500), typing("HELLO GA"), turn(), typing(choice), turn()]


def answer(text: str) -> list:
    return [typing(text), turn()]


def end() -> list:
    return [Silence(2000), *parse_script("hangup")]


def stored_details(phone: Phone, call_id: int) -> str:
    return json.dumps([e.detail for e in phone.store.calls.events(call_id)])


# -- callback -----------------------------------------------------------------------------

def test_callback_typed_number_read_back_confirmed_and_marked_tty(make_phone) -> None:
    phone = make_phone({"webhooks": {"office": {"url": "http://127.0.0.1:9/in",
                                                "secret": "a-webhook-secret-0123"}},
                        "mailboxes": {"general": {"email": ["office@example.com"]}},
                        "smtp": {"host": "127.0.0.1", "port": 2525, "security": "none",
                                 "sender": "box@example.com"}})
    script = [*start("5"), *answer("555 0142 GA"), *answer("Y GA"), *end()]
    summary, caller = phone.call(script, number=KNOWN)
    heard = box_text(caller)
    assert "WE CAN CALL YOU BACK. WE WILL CALL YOU BACK BY TTY OR RELAY AT 202." in heard
    assert "AT 5550142. TYPE Y TO CONFIRM, OR TYPE ANOTHER NUMBER. GA" in heard
    assert "THANK YOU. WE WILL CALL YOU BACK BY TTY OR RELAY AS SOON AS WE CAN." in heard
    assert heard.endswith("GOODBYE. SK")
    [request] = phone.store.callbacks.open()
    assert (request.number, request.by_tty, request.call_id) == ("5550142", True, summary.call_id)
    assert summary.outcome == "callback_requested"
    assert phone.first("callback_requested")["tty"] is True
    # the owner learns it was a TTY caller: in the webhook event and in the e-mail
    hook = next(j.payload["event"] for j in phone.store.jobs.list() if j.kind == "webhook"
                and j.payload["event"]["event"] == "callback")
    assert hook["data"]["tty"] is True and hook["data"]["number"] == "5550142"
    mail = next(j.payload for j in phone.store.jobs.list() if j.kind == "callback_email")
    assert mail["tty"] is True


def test_callback_without_caller_id_too_short_then_confirmed_by_digit(make_phone) -> None:
    phone = make_phone({"caller_rules": {"screen": []}})
    script = [*start("5"), *answer("12 GA"), *answer("5550100\r\n"), *answer("1 GA"), *end()]
    summary, caller = phone.call(script)
    heard = box_text(caller)
    assert "PLEASE TYPE YOUR PHONE NUMBER, THEN PRESS ENTER. GA" in heard
    assert "THAT NUMBER IS TOO SHORT. PLEASE TYPE YOUR PHONE NUMBER" in heard
    assert "AT 5550100. TYPE Y TO CONFIRM" in heard
    [request] = phone.store.callbacks.open()
    assert request.number == "5550100" and request.by_tty


def test_callback_refused_with_n_when_no_other_number_is_allowed(make_phone) -> None:
    phone = make_phone({"flow": {"nodes": {"callback": {"other_key": None}}}})
    summary, caller = phone.call([*start("5"), *answer("N GA"), *end()], number=KNOWN)
    heard = box_text(caller)
    assert "AT 202. TYPE Y TO CONFIRM OR N TO CANCEL. GA" in heard
    assert "NO CALL BACK WAS ARRANGED." in heard
    assert phone.store.callbacks.open() == [] and phone.of("callback_abandoned")


def test_callback_without_caller_id_when_no_number_may_be_typed(make_phone) -> None:
    phone = make_phone({"flow": {"nodes": {"callback": {"other_key": None}}}})
    summary, caller = phone.call([*start("5"), *end()])  # no caller ID at all
    heard = box_text(caller)
    assert "YOUR NUMBER DID NOT COME WITH THIS CALL. NO CALL BACK WAS ARRANGED." in heard
    assert "PLEASE TYPE YOUR PHONE NUMBER" not in heard
    assert phone.store.callbacks.open() == []
    assert phone.first("callback_abandoned")["reason"] == "no_number"
    assert summary.path[-1] == "bye"


def minimodem_typing(text: str, tmp_path: Path) -> Speak:
    """A TTY caller's keystrokes as minimodem (an independent Baudot modem) sends them."""
    wav = tmp_path / "typed.wav"
    subprocess.run(["minimodem", "--tx", "tdd", "-f", str(wav), "-R", "48000"],
                   input=text.encode(), check=True, capture_output=True)
    data, rate = sf.read(wav, dtype="float64")
    audio = soxr.resample(data, rate, RATE) * 32767 * 0.3  # about -13 dBm0
    return Speak(np.clip(audio, -32768, 32767).astype(np.int16), f"minimodem:{text}")


def minimodem_reads(audio: np.ndarray, tmp_path: Path) -> str:
    wav = tmp_path / "heard.wav"
    sf.write(wav, audio, RATE, subtype="PCM_16")
    out = subprocess.run(["minimodem", "--rx", "tdd", "-f", str(wav)], check=True,
                         capture_output=True, text=True)
    return " ".join(out.stdout.replace("\r", " ").split())


@needs_minimodem
def test_callback_with_minimodem_as_the_callers_tty(make_phone, tmp_path: Path) -> None:
    phone = make_phone()
    # minimodem leads each burst with only 2 bits of mark and sends FIGS first: the
    # choice and the number are its first codes, with no leading space to spare.
    script = [Silence(1500), minimodem_typing("HI GA", tmp_path), turn(),
              minimodem_typing("5", tmp_path), turn(),
              minimodem_typing("5550177\r\n", tmp_path), turn(),
              minimodem_typing("YES GA", tmp_path), turn(), *end()]
    summary, caller = phone.call(script, number=KNOWN)
    read = minimodem_reads(caller.heard(), tmp_path)
    assert "WE WILL CALL YOU BACK BY TTY OR RELAY AT 5550177." in read
    assert "THANK YOU. WE WILL CALL YOU BACK BY TTY OR RELAY AS SOON AS WE CAN." in read
    [request] = phone.store.callbacks.open()
    assert request.number == "5550177" and request.by_tty


# -- mailbox login ------------------------------------------------------------------------

@pytest.fixture
def owner_phone(make_phone) -> Phone:
    return make_phone({"mailboxes": {"support": {"pin_hash": hash_pin(PIN)}}})


def test_mailbox_by_tty_pin_count_voice_and_typed_messages(owner_phone) -> None:
    phone = owner_phone
    nine = int(OPEN.replace(hour=9).timestamp() * 1000)
    voice = phone.store.messages.add("support", path="voicemail/old.wav", duration_ms=4200,
                                     caller_number="0922333444", received_ms=nine)
    typed = phone.store.messages.add("support", text="PLEASE SEND THE FORM", caller_number="202",
                                     caller_name="ANN", received_ms=nine + 30 * 60_000)
    script = [*start("8"), *answer("200 GA"), *answer(f"{PIN}\r\n"), *answer("1"),
              *answer("2"), *answer("3"), *answer("0"), *end()]
    summary, caller = phone.call(script, number=KNOWN)
    heard = box_text(caller)
    assert "MAILBOX LOGIN. PLEASE TYPE YOUR MAILBOX NUMBER, THEN PRESS ENTER. GA" in heard
    assert "YOU HAVE 2 NEW MESSAGES AND 0 SAVED MESSAGES." in heard
    assert "MESSAGE 1 OF 2, NEW. FROM 0922333444. TODAY 09:00. VOICE MESSAGE, 4 SECONDS." in heard
    assert "IT CANNOT BE PLAYED BY TTY. TYPE 2 TO SAVE IT, 3 TO DELETE IT, OR GA FOR THE NEXT. GA" in heard
    assert "MESSAGE SAVED. MESSAGE 2 OF 2, NEW. FROM 202 (ANN). TODAY 09:30." in heard
    assert 'TYPED MESSAGE: "PLEASE SEND THE FORM" TYPE 1 TO SEE IT AGAIN' in heard
    assert "MESSAGE DELETED. NO MORE MESSAGES. TYPE 1 FOR YOUR MESSAGES" in heard
    assert heard.endswith("GOODBYE. SK")
    assert PIN not in heard  # the PIN is never sent back
    assert phone.store.messages.get(voice.id).heard
    assert phone.store.messages.get(typed.id).deleted_ms is not None
    assert phone.first("pin_ok") == {**phone.first("pin_ok"), "mailbox": "support", "tty": True}
    assert summary.outcome == "mailbox_access" and summary.path[-1] == "bye"
    assert PIN not in stored_details(phone, summary.call_id)
    assert "xxxx" in stored_details(phone, summary.call_id)


def test_three_wrong_pins_by_tty_lock_the_mailbox_for_voice_too(owner_phone) -> None:
    phone = owner_phone
    script = [*start("8"), *answer("200 GA"), *answer("1111 GA"), *answer("200 GA"),
              *answer("2222 GA"), *answer("200 GA"), *answer("3333 GA"), *end()]
    summary, caller = phone.call(script, number=KNOWN)
    heard = box_text(caller)
    assert heard.count("THAT PIN IS NOT CORRECT.") == 2
    assert "THIS MAILBOX IS LOCKED AFTER TOO MANY WRONG PINS. PLEASE TRY AGAIN LATER." in heard
    assert len(phone.of("pin_wrong")) == 2 and phone.first("pin_locked")["tty"] is True
    assert summary.path[-1] == "bye" and summary.outcome != "mailbox_access"
    # one lock-out store: the right PIN by voice is refused now too
    phone.call("wait 0.5; press 8; wait 0.5; press 200#; wait 0.5; press 4711#; waitsilence 20;"
               " wait 3; hangup", number=KNOWN)
    assert phone.of("pin_locked") and not phone.of("pin_ok")
    # and by TTY, until the lock-out time (900 s) has passed
    phone.call([*start("8"), *answer("200 GA"), *answer(f"{PIN} GA"), *end()], number=KNOWN)
    assert phone.of("pin_locked") and not phone.of("pin_ok")
    phone.call([*start("8"), *answer("200 GA"), *answer(f"{PIN} GA"), *answer("0"), *end()],
               number=KNOWN, when=OPEN.replace(minute=20))
    assert phone.of("pin_ok")


def test_open_then_the_hours_again_by_tty(owner_phone) -> None:
    """The spoken menu's keys: 8 open until the hours next change, 9 the hours again."""
    phone = owner_phone
    night = OPEN.replace(hour=20)  # closed: the VIP route reaches the menu
    wednesday = int(OPEN.replace(day=25, hour=9).timestamp() * 1000)
    login = [*start("8"), *answer("200 GA"), *answer(f"{PIN} GA")]
    _, caller = phone.call([*login, *answer("8"), *answer("0"), *end()], number="0911111111",
                           when=night)
    assert "THE OFFICE IS NOW OPEN UNTIL YOUR OPENING HOURS NEXT CHANGE." in box_text(caller)
    assert phone.store.kv.get(OVERRIDE_KEY) == {"mode": "open", "until_ms": wednesday}
    _, caller = phone.call([*login, *answer("9"), *answer("0"), *end()], number="0911111111",
                           when=night)
    heard = box_text(caller)
    assert "7 TO CLOSE OR 8 TO OPEN UNTIL YOUR HOURS NEXT CHANGE, 9 TO FOLLOW YOUR HOURS" in heard
    assert "THE OFFICE NOW FOLLOWS ITS OPENING HOURS." in heard
    assert phone.store.kv.get(OVERRIDE_KEY) is None


# -- lookup -------------------------------------------------------------------------------

ORDERS = {"type": "lookup", "prompt": "lookup_ask", "table": "orders", "next": "bye",
          "fallback": "general_vm"}


def lookup_phone(make_phone, **node) -> Phone:
    phone = make_phone({"prompts": {"lookup_ask": {"en": "Key your order number, then pound.",
                                                   "zh-TW": "請輸入訂單號碼，再按井字鍵。"}},
                        "flow": {"nodes": {"orders": {**ORDERS, **node},
                                           "main": {"options": {"67": "orders"}}}}})
    phone.store.lookups.replace("orders", [
        LookupEntry("12345", {"en": "Shipped on Monday, parcel 8812 77", "zh-TW": "已於週一出貨"}),
        LookupEntry("555", {"": "Ready"}, valid_until="2020-01-01"),  # expired
    ])
    return phone


def test_lookup_by_tty_found_another_not_found_then_attempts_exhausted(make_phone) -> None:
    phone = lookup_phone(make_phone)
    script = [*start("67"), *answer("12345 GA"), *answer("1"), *answer("2"), *answer("99999#"),
              *answer("555\r\n"), *[Silence(30_000), *parse_script("hangup")]]
    summary, caller = phone.call(script, number=KNOWN)
    heard = box_text(caller)
    assert "KEY YOUR ORDER NUMBER, THEN POUND. TYPE THE NUMBER, THEN PRESS ENTER. GA" in heard
    shown = "FOR NUMBER 12345: SHIPPED ON MONDAY, PARCEL 8812 77"
    assert heard.count(shown) == 2  # shown, then shown again ("1")
    assert "TYPE 1 TO SEE IT AGAIN, 2 FOR ANOTHER NUMBER, 0 FOR THE OPERATOR, OR GA TO GO ON. GA" in heard
    assert "SORRY, WE FOUND NOTHING FOR THAT NUMBER. KEY YOUR ORDER NUMBER" in heard
    assert "SORRY, THAT WAS TOO MANY ATTEMPTS." in heard
    assert [(d["key"], d["result"], d["attempt"], d["tty"]) for d in phone.of("lookup")] == [
        ("12345", "found", 1, True), ("99999", "not_found", 2, True), ("555", "expired", 3, True)]
    assert phone.of("lookup_repeat") and phone.of("lookup_another")
    assert phone.first("lookup_limit")["attempts"] == 3
    assert summary.path[summary.path.index("orders") + 1] == "general_vm"
    assert "TYPE YOUR MESSAGE" in heard  # the fallback, in text too


def test_private_lookup_by_tty_logs_hashed_keys_only(make_phone) -> None:
    phone = lookup_phone(make_phone, private=True, attempts=2, min_digits=4)
    script = [*start("67"), *answer("123 GA"), *answer("12345 GA"), *answer("GA"),
              *end()]
    summary, caller = phone.call(script, number=KNOWN)
    heard = box_text(caller)
    assert "THAT NUMBER IS TOO SHORT." in heard
    assert "FOR NUMBER 12345: SHIPPED ON MONDAY" in heard
    results = [(d["key"], d["result"]) for d in phone.of("lookup")]
    secret = key_secret(phone.store)
    assert results == [(log_key("123", True, secret), "too_short"),
                       (log_key("12345", True, secret), "found")]
    stored = stored_details(phone, summary.call_id)
    assert "12345" not in stored and "SHIPPED" not in stored and '"123"' not in stored
    assert summary.path[-1] == "bye"  # GA after the entry goes on to `next`
