"""Passwords, sessions and CSRF tokens for the owner's page.

API:
    hash_password(pw) -> str / verify_password(hash, pw) -> bool     argon2id
    check_new_password(pw, t) -> str | None       why a new password is refused (translated)
    Auth(store, clock_ms)
        .login(password, source) -> (token, WebSession)   raises LoginRefused
        .create_owner(password) -> (token, WebSession)    the first-run page
        .resolve(token) -> WebSession | None      a valid session (expiry slid on use)
        .logout(token)
        .change_password(session, old, new)       ends every other session
    token_hash(token) -> str                      what the db keeps instead of the cookie
    csrf_ok(expected, given) -> bool              constant-time comparison
    LoginRefused(message, wait_ms)

Why argon2id: memory-hard, so a stolen database is slow to brute-force even on GPUs;
the parameters are argon2-cffi's RFC 9106 "low memory" profile, which hashes in well
under a second on a Pi Zero. Sessions live in the database (not in a signed cookie)
so that logout and a password change end them for real.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from firmware.errors import IvrboxError
from firmware.store import Store, WebSession

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
SESSION_TTL_MS = 12 * 60 * 60_000  # idle sessions end after 12 hours
ADMIN = "admin"  # one owner account; the name is not a secret and never asked for
GLOBAL_SOURCE = "*"  # every source together: slows a distributed guesser as well
GLOBAL_FREE_FAILURES = 30  # wrong passwords from anywhere before everyone waits

_hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
_DUMMY_HASH = _hasher.hash("not the password")  # equal work when there is no user


class LoginRefused(IvrboxError):
    def __init__(self, message: str, wait_ms: int = 0):
        super().__init__(message)
        self.wait_ms = wait_ms


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_new_password(password: str, t: Callable[[str], str]) -> str | None:
    if len(password) < MIN_PASSWORD_CHARS:
        return t("Use at least 8 characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        return t("That password is too long (at most 256 characters).")
    if len(set(password)) < 4:
        return t("That password is too easy to guess: use more different characters.")
    return None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Auth:
    def __init__(self, store: Store, clock_ms: Callable[[], int], hasher: PasswordHasher | None = None):
        self.store = store
        self.clock_ms = clock_ms
        self.hasher = hasher or _hasher

    def _wait(self, source: str) -> int:
        now = self.clock_ms()
        web = self.store.web
        return max(web.throttle(source, now).wait_ms(now), web.throttle(GLOBAL_SOURCE, now).wait_ms(now))

    def login(self, password: str, source: str) -> tuple[str, WebSession]:
        """A new session for the owner, or LoginRefused (wrong password, or wait first)."""
        web = self.store.web
        wait = self._wait(source)
        if wait:
            raise LoginRefused("throttled", wait)
        user = web.user(ADMIN)
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password) and user is not None
        if ok and user is not None and self.hasher.check_needs_rehash(user.password_hash):
            web.set_password(user.id, self.hasher.hash(password))
        now = self.clock_ms()
        if not ok:
            state = web.failure(source, now)
            web.failure(GLOBAL_SOURCE, now, free=GLOBAL_FREE_FAILURES)
            raise LoginRefused("wrong", state.wait_ms(now))
        web.clear_failures(source)
        assert user is not None
        token = new_token()
        session = web.open_session(user.id, token_hash(token), new_token(), SESSION_TTL_MS)
        return token, session

    def resolve(self, token: str | None) -> WebSession | None:
        if not token or len(token) > 128:
            return None
        session = self.store.web.session(token_hash(token))
        if session is not None and self.clock_ms() - session.last_seen_ms > 60_000:
            self.store.web.touch(session.token_hash, SESSION_TTL_MS)
        return session

    def logout(self, token: str | None) -> None:
        if token:
            self.store.web.close_session(token_hash(token))

    def create_owner(self, password: str) -> tuple[str, WebSession]:
        web = self.store.web
        user_id = web.create_user(ADMIN, self.hasher.hash(password))
        token = new_token()
        return token, web.open_session(user_id, token_hash(token), new_token(), SESSION_TTL_MS)

    def change_password(self, session: WebSession, old: str, new: str) -> bool:
        """False if `old` is wrong; on success every other session of the owner ends."""
        user = self.store.web.user_by_id(session.user_id)
        if user is None or not verify_password(user.password_hash, old):
            return False
        self.store.web.set_password(user.id, self.hasher.hash(new), keep_session=session.token_hash)
        return True
