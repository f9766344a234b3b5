"""Mailbox PINs, stored only as salted scrypt hashes.

Contents: `hash_pin(pin) -> str`, `verify_pin(pin, stored) -> bool`,
`is_pin_hash(text) -> bool`, `MIN_PIN_LENGTH`.

The stored form is `scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>`, so the cost can
be raised later without breaking existing hashes. A four-digit PIN has only 10,000
values, so the hash alone does not make a stolen config safe; it keeps the PIN off the
web page and out of backups, and the mailbox login's lockout does the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from firmware.errors import UsageError

MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 12
# scrypt cost: n=2**14, r=8 takes about 16 MiB and tens of ms on a Pi: fine for a login.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
_STORED = re.compile(r"^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")
_MAX_N = 2**20  # refuse absurd costs from a hand-edited file (memory on a Pi)


def check_pin(pin: str) -> str:
    """The PIN itself if it is 4-12 phone digits; raises UsageError otherwise."""
    if not pin.isdigit() or not pin.isascii():
        raise UsageError("a PIN is made of digits 0-9 only")
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise UsageError(f"a PIN has {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits")
    return pin


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        pin.encode("ascii"), salt=salt, n=n, r=r, p=p, dklen=size, maxmem=256 * n * r + 2**20
    )


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """The stored form of a PIN (a fresh random salt unless one is given, for tests)."""
    check_pin(pin)
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def is_pin_hash(text: str) -> bool:
    """True if `text` has the stored form `hash_pin` produces (with sane parameters)."""
    m = _STORED.match(text)
    if not m:
        return False
    n, r, p = (int(m.group(i)) for i in (1, 2, 3))
    return 2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16


def verify_pin(pin: str, stored: str) -> bool:
    """True if `pin` matches `stored`; False for a wrong PIN or a malformed hash."""
    m = _STORED.match(stored)
    if not m or not is_pin_hash(stored) or not pin.isdigit() or not pin.isascii():
        return False
    n, r, p = (int(m.group(i)) for i in (1, 2, 3))
    salt, expected = base64.b64decode(m.group(4)), base64.b64decode(m.group(5))
    return hmac.compare_digest(_scrypt(pin, salt, n, r, p, len(expected)), expected)
