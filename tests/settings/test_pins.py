"""Mailbox PINs are stored as salted scrypt hashes."""

from __future__ import annotations

import pytest

from firmware.errors import UsageError
from firmware.settings import MIN_PIN_LENGTH, hash_pin, parse, verify_pin
from firmware.settings.pins import is_pin_hash

from .conftest import MINIMAL, one


def test_hash_and_verify() -> None:
    stored = hash_pin("2468")
    assert stored.startswith("scrypt$") and "2468" not in stored
    assert verify_pin("2468", stored)
    assert not verify_pin("2469", stored)
    assert not verify_pin("24680", stored)


def test_each_hash_has_its_own_salt() -> None:
    a, b = hash_pin("1234"), hash_pin("1234")
    assert a != b and verify_pin("1234", a) and verify_pin("1234", b)


def test_a_given_salt_is_deterministic() -> None:
    assert hash_pin("1234", salt=b"0" * 16) == hash_pin("1234", salt=b"0" * 16)


@pytest.mark.parametrize("pin", ["123", "", "12a4", "１２３４", "1234567890123"])
def test_bad_pins_are_refused(pin: str) -> None:
    with pytest.raises(UsageError):
        hash_pin(pin)


def test_min_length_is_four() -> None:
    assert MIN_PIN_LENGTH == 4
    assert verify_pin("0000", hash_pin("0000"))


@pytest.mark.parametrize("stored", ["", "1234", "scrypt$16384$8$1$abc", "scrypt$3$8$1$YWJj$YWJj",
                                    "scrypt$4194304$8$1$YWJj$YWJj", "md5$abc"])
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not is_pin_hash(stored)
    assert not verify_pin("1234", stored)


def test_mailbox_pin_hash_is_checked_in_the_config() -> None:
    good = hash_pin("4321")
    text = MINIMAL + f"mailboxes:\n  general:\n    name: G\n    pin_hash: \"{good}\"\n"
    assert verify_pin("4321", parse(text).mailboxes["general"].pin_hash or "")
    line, path, msg = one(text.replace(good, "1234"))
    assert (line, path) == (23, "mailboxes.general.pin_hash") and "hash-pin" in msg
