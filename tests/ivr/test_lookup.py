"""The lookup node end to end on the simulated line (keys are DTMF audio): the owner's
table, a local HTTP endpoint that answers, is slow, fails or returns garbage; repeat,
another number, operator; the per-call attempt limit; private keys hashed in the log."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from firmware.ivr.call import SECRET_DIGIT
from firmware.ivr.lookup import entry_segments, key_secret, log_key
from firmware.store import LookupEntry
from tests.ivr.conftest import KNOWN, Phone
from tests.notify.receiver import Receiver, Reply, Seen

ASK = {"en": "Key your order number, then pound.", "zh-TW": "請輸入訂單號碼，再按井字鍵。"}
ORDERS = {"type": "lookup", "prompt": "lookup_ask", "table": "orders", "next": "bye",
          "fallback": "general_vm", "first_digit_timeout_s": 4, "inter_digit_timeout_s": 2}
TO_LOOKUP = "wait 0.5; press 67; waitsilence 20"  # main menu choice 67, prompt heard


def lookup_phone(make_phone, **node) -> Phone:
    return make_phone({"prompts": {"lookup_ask": ASK},
                       "flow": {"nodes": {"orders": {**ORDERS, **node},
                                          "main": {"options": {"67": "orders"}}}}})


def seed(phone: Phone) -> None:
    phone.store.lookups.replace("orders", [
        LookupEntry("12345", {"en": "Shipped on Monday, parcel 8812 77", "zh-TW": "已於週一出貨"}),
        LookupEntry("555", {"": "Ready"}, valid_until="2020-01-01"),  # expired
    ])


def after(path: tuple[str, ...], node: str) -> str:
    return path[path.index(node) + 1]


def lookups(phone: Phone) -> list[dict]:
    return phone.of("lookup")


def test_entry_segments_read_long_numbers_digit_by_digit() -> None:
    assert entry_segments("Order 12-345 ships in 3 days, call 02 2345 6789.") == [
        ("text", "Order"), ("digits", "12345"), ("text", "ships in 3 days, call"),
        ("digits", "0223456789"), ("text", ".")]



def test_private_keys_are_keyed_hashes_not_a_plain_digest() -> None:
    import hashlib
    import hmac

    assert log_key("12345", private=False, secret=b"k") == "12345"
    logged = log_key("12345", private=True, secret=b"k")
    assert logged == "hmac:" + hmac.new(b"k", b"12345", hashlib.sha256).hexdigest()[:12]
    assert logged == log_key("12345", private=True, secret=b"k")  # repeats still match
    assert logged != log_key("12345", private=True, secret=b"other box")
    assert hashlib.sha256(b"12345").hexdigest()[:12] not in logged  # not reversible by a table


def test_table_lookup_reads_the_entry_then_another_number_not_found(make_phone) -> None:
    phone = lookup_phone(make_phone)
    seed(phone)
    summary, _ = phone.call(f"{TO_LOOKUP}; press 12345#; waitsilence 20; press 2; waitsilence 20;"
                            " press 99999#; waitsilence 20; press 555#; waitsilence 20; hangup",
                            number=KNOWN)
    found = lookups(phone)
    assert [(d["key"], d["result"], d["source"], d["attempt"]) for d in found] == [
        ("12345", "found", "table", 1), ("99999", "not_found", "table", 2),
        ("555", "expired", "table", 3)]
    texts = phone.texts("en")
    assert "For number" in texts and "Shipped on Monday, parcel" in texts
    words = [w for w, _ in phone.prompts.spoken_words]
    assert words[:5] == ["digit-1", "digit-2", "digit-3", "digit-4", "digit-5"]  # the key read back
    assert words[5:11] == ["digit-8", "digit-8", "digit-1", "digit-2", "digit-7", "digit-7"]
    assert any(t.startswith("To hear it again, press 1. For another number, press 2.") for t in texts)
    assert phone.of("lookup_another") and texts.count("Sorry, we found nothing for that number.") == 2
    assert "orders" in summary.path


def test_repeat_then_operator(make_phone) -> None:
    phone = lookup_phone(make_phone)
    seed(phone)
    summary, _ = phone.call(f"{TO_LOOKUP}; press 12345#; waitsilence 20; press 1; waitsilence 20;"
                            " press 0; wait 3; hangup", number=KNOWN)
    assert len(phone.of("lookup_repeat")) == 1
    assert phone.texts("en").count("Shipped on Monday, parcel") == 2
    assert summary.path[-1] == "operator"


def test_silence_after_the_entry_continues_to_next(make_phone) -> None:
    phone = lookup_phone(make_phone, choice_timeout_s=2)
    seed(phone)
    summary, _ = phone.call(f"{TO_LOOKUP}; press 12345#; wait 30; hangup", number=KNOWN)
    assert summary.path[-2:] == ("orders", "bye")


def test_caller_language_picks_the_entry_text(make_phone) -> None:
    phone = make_phone({"business": {"default_language": "zh-TW"}, "prompts": {"lookup_ask": ASK},
                        "flow": {"nodes": {"orders": ORDERS, "main": {"options": {"67": "orders"}}}}})
    seed(phone)
    phone.call(f"{TO_LOOKUP}; press 12345#; waitsilence 20; hangup", number=KNOWN)
    assert "已於週一出貨" in phone.texts("zh-TW") and "查詢號碼" in phone.texts("zh-TW")
    assert ("digit-1", "zh-TW") in phone.prompts.spoken_words


def test_attempt_limit_per_call_goes_to_fallback(make_phone) -> None:
    phone = lookup_phone(make_phone, attempts=2)
    seed(phone)
    summary, _ = phone.call(f"{TO_LOOKUP}; press 1111#; waitsilence 20; press 2222#; waitsilence 20;"
                            " press 3333#; wait 3; hangup", number=KNOWN)
    assert [d["key"] for d in lookups(phone)] == ["1111", "2222"]  # the third is never looked up
    assert phone.first("lookup_limit")["attempts"] == 2
    assert "Sorry, that was too many attempts." in phone.texts("en")
    assert after(summary.path, "orders") == "general_vm"


def test_private_keys_are_hashed_and_never_logged_as_digits(make_phone) -> None:
    phone = lookup_phone(make_phone, private=True)
    seed(phone)
    summary, _ = phone.call(f"{TO_LOOKUP}; press 12345#; waitsilence 20; hangup", number=KNOWN)
    [entry] = lookups(phone)
    secret = key_secret(phone.store)
    assert len(secret) == 32 and key_secret(phone.store) == secret  # made once, then kept
    assert entry["key"] == log_key("12345", True, secret) and entry["result"] == "found"
    stored = phone.store.calls.events(summary.call_id)
    logged = json.dumps([e.detail for e in stored])
    assert "12345" not in logged
    keys = [e.detail["digit"] for e in stored if e.kind == "key"]
    assert keys[:2] == ["6", "7"] and set(keys[2:]) == {SECRET_DIGIT}  # the menu choice is not private


def endpoint(replies: dict[str, Reply]) -> Receiver:
    def handle(seen: Seen) -> Reply:
        parts = urllib.parse.urlsplit(seen.path)
        query = urllib.parse.parse_qs(parts.query)
        key = query.get("key", [parts.path.rsplit("/", 1)[-1]])[0]
        return replies.get(key, Reply(404, ""))
    return Receiver(handler=handle)


def test_endpoint_answers_and_is_cached(make_phone) -> None:
    with endpoint({"4321": Reply(200, json.dumps({"text": {"en": "Your repair 4321 is done",
                                                            "zh-TW": "維修完成"}}))}) as rx:
        phone = lookup_phone(make_phone, table=None, url=f"{rx.url}/status?shop=1")
        phone.call(f"{TO_LOOKUP}; press 4321#; waitsilence 20; press 2; waitsilence 20;"
                   " press 4321#; waitsilence 20; press 2; waitsilence 20; press 77#;"
                   " waitsilence 20; hangup", number=KNOWN)
        assert [(d["result"], d.get("detail")) for d in lookups(phone)] == [
            ("found", None), ("found", "cached"), ("not_found", "404")]
        assert [s.path for s in rx.requests] == ["/status?shop=1&key=4321&lang=en",
                                                 "/status?shop=1&key=77&lang=en"]
        assert phone.texts("en").count("Your repair") == 2
        assert "One moment, please." in phone.texts("en")


@pytest.mark.parametrize("reply, detail", [
    (Reply(200, '{"text": "late"}', delay_s=1.5), "timeout"),
    (Reply(500, "boom"), "http 500"),
    (Reply(200, "<html>not json</html>", content_type="text/html"), "not json"),
    (Reply(200, '{"text": 42}'), "no text"),
])
def test_endpoint_failures_say_try_later_and_go_to_fallback(make_phone, reply: Reply, detail: str) -> None:
    with endpoint({"4321": reply}) as rx:
        phone = lookup_phone(make_phone, table=None, url=f"{rx.url}/q/{{key}}?l={{lang}}",
                             timeout_s=0.3)
        summary, _ = phone.call(f"{TO_LOOKUP}; press 4321#; wait 20; hangup", number=KNOWN)
        [entry] = lookups(phone)
        assert (entry["result"], entry["detail"]) == ("failed", detail)
        assert rx.requests[0].path.startswith("/q/4321?l=en") or detail != "timeout"
        assert "Sorry, this information is not available right now. Please try again later." \
            in phone.texts("en")
        assert after(summary.path, "orders") == "general_vm"


def test_the_lookup_sentences_hold_and_entry_are_named_prompt_events(make_phone) -> None:
    with endpoint({"4321": Reply(200, json.dumps({"text": "Your repair 4321 is done"}))}) as rx:
        phone = lookup_phone(make_phone, table=None, url=f"{rx.url}/status", private=True)
        phone.call(f"{TO_LOOKUP}; press 4321#; waitsilence 20; press 2; waitsilence 20;"
                   " press 7#; waitsilence 20; hangup", number=KNOWN)
    heard = [d for d in phone.of("prompt") if d.get("node") == "orders"]
    names = [d.get("prompt") or d.get("lookup_phrase") or d.get("lookup_phrases")
             or ("entry" if d.get("lookup_entry") else d) for d in heard]
    assert names == ["lookup_ask", "wait", "found", "entry",
                     ["repeat_key", "another_key", "operator_key", "done_key"],
                     "lookup_ask", "wait", "not_found", "lookup_ask"]
    assert all(d["language"] == "en" for d in heard)
    asked_at = lookups(phone)[0]["t_ms"]
    last_key = max(k["t_ms"] for k in phone.of("key") if k["t_ms"] <= asked_at)
    assert last_key <= heard[1]["t_ms"] <= asked_at  # noted as the hold starts, not after
    said = json.dumps(heard)
    assert "4321" not in said and "repair" not in said  # neither the key nor the entry's words


def test_the_hashing_key_made_by_two_processes_at_once_is_one_key(tmp_path) -> None:
    """The engine and the web page's test call may make the box's key at the same
    moment: both must end up with the key that stays, or one process's logged keys
    never match the same number again."""
    import sqlite3
    import threading

    from firmware.store import Store

    first = Store(tmp_path / "data")
    blocker = sqlite3.connect(first.data.db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # both see no key yet, then wait to write theirs
    stores = [first, Store(tmp_path / "data")]
    got: dict[int, bytes] = {}
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, key_secret(stores[i])))
               for i in range(2)]
    try:
        for t in threads:
            t.start()
        threading.Event().wait(0.5)
        blocker.execute("ROLLBACK")
        for t in threads:
            t.join(30)
        kept = key_secret(first)
        assert got[0] == kept and got[1] == kept
    finally:
        blocker.close()
        for store in stores:
            store.close()
