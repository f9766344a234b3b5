"""The web page's owner accounts, login sessions and login throttling (rows only).

API index:
    WebAuth(db)
      .has_users() -> bool                  False until the first-run page set a password
      .create_user(name, password_hash) -> id       .user(name) / .user_by_id(id) -> WebUser
      .set_password(user_id, password_hash)  and every session of that user ends
      .open_session(user_id, token_hash, csrf, ttl_ms) -> WebSession
      .session(token_hash) -> WebSession | None     None when unknown or expired
      .touch(token_hash, ttl_ms)            slide the expiry on activity
      .close_session(token_hash)            logout
      .close_sessions(user_id, keep=None)   end every (other) session of a user
      .failure(source, now_ms, free=3) -> LoginThrottle   one wrong password from `source`
      .throttle(source, now_ms) -> LoginThrottle    may `source` try now?
      .clear_failures(source)
    WebUser, WebSession, LoginThrottle      frozen rows

Hashing is not done here (the web layer owns argon2); the store keeps only hashes, and
sessions are looked up by the sha256 of the cookie so a copied database holds no login.
Back-off: after `FREE_FAILURES` wrong passwords a source must wait 2, 4, 8 ... seconds
(capped at `MAX_LOCK_MS`) before the next try; the wait survives a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.errors import StoreError, UsageError
from firmware.store.db import Database

FREE_FAILURES = 3  # wrong passwords before the first wait
BASE_LOCK_MS = 2_000
MAX_LOCK_MS = 15 * 60_000
FAILURE_MEMORY_MS = 60 * 60_000  # a source's count is forgotten after an hour of quiet


@dataclass(frozen=True)
class WebUser:
    id: int
    name: str
    password_hash: str
    created_ms: int
    password_changed_ms: int


@dataclass(frozen=True)
class WebSession:
    token_hash: str
    user_id: int
    csrf: str
    created_ms: int
    last_seen_ms: int
    expires_ms: int


@dataclass(frozen=True)
class LoginThrottle:
    failures: int
    locked_until_ms: int | None

    def wait_ms(self, now_ms: int) -> int:
        """How long the source must wait before trying again (0: it may try now)."""
        return max(0, (self.locked_until_ms or 0) - now_ms)


def lock_ms(failures: int, free: int = FREE_FAILURES) -> int:
    """The wait after `failures` wrong passwords in a row (0 while under the free count)."""
    if failures < free:
        return 0
    return min(MAX_LOCK_MS, BASE_LOCK_MS * 2 ** min(30, failures - free))


class WebAuth:
    def __init__(self, db: Database):
        self.db = db

    # -- users ---------------------------------------------------------------------------
    def has_users(self) -> bool:
        return self.db.query_one("SELECT 1 FROM web_users LIMIT 1") is not None

    def create_user(self, name: str, password_hash: str) -> int:
        if not name or not password_hash:
            raise UsageError("a web user needs a name and a password hash")
        now = self.db.now_ms()
        with self.db.write() as con:
            if con.execute("SELECT 1 FROM web_users WHERE name = ?", (name,)).fetchone():
                raise UsageError(f"the user {name!r} exists already")
            cur = con.execute(
                "INSERT INTO web_users (name, password_hash, created_ms, password_changed_ms)"
                " VALUES (?, ?, ?, ?)", (name, password_hash, now, now))
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def user(self, name: str) -> WebUser | None:
        row = self.db.query_one("SELECT * FROM web_users WHERE name = ?", (name,))
        return WebUser(**dict(row)) if row else None

    def user_by_id(self, user_id: int) -> WebUser | None:
        row = self.db.query_one("SELECT * FROM web_users WHERE id = ?", (user_id,))
        return WebUser(**dict(row)) if row else None

    def set_password(self, user_id: int, password_hash: str, keep_session: str | None = None) -> None:
        """New password; every session of the user ends except `keep_session` (the one
        that made the change)."""
        with self.db.write() as con:
            cur = con.execute(
                "UPDATE web_users SET password_hash = ?, password_changed_ms = ? WHERE id = ?",
                (password_hash, self.db.now_ms(), user_id))
            if cur.rowcount != 1:
                raise StoreError(f"no web user {user_id}")
            self.close_sessions(user_id, keep=keep_session)

    # -- sessions ------------------------------------------------------------------------
    def open_session(self, user_id: int, token_hash: str, csrf: str, ttl_ms: int) -> WebSession:
        now = self.db.now_ms()
        with self.db.write() as con:
            con.execute("DELETE FROM web_sessions WHERE expires_ms <= ?", (now,))
            con.execute(
                "INSERT INTO web_sessions (token_hash, user_id, csrf, created_ms, last_seen_ms,"
                " expires_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (token_hash, user_id, csrf, now, now, now + ttl_ms))
        return WebSession(token_hash, user_id, csrf, now, now, now + ttl_ms)

    def session(self, token_hash: str) -> WebSession | None:
        row = self.db.query_one(
            "SELECT * FROM web_sessions WHERE token_hash = ? AND expires_ms > ?",
            (token_hash, self.db.now_ms()))
        return WebSession(**dict(row)) if row else None

    def touch(self, token_hash: str, ttl_ms: int) -> None:
        now = self.db.now_ms()
        with self.db.write() as con:
            con.execute("UPDATE web_sessions SET last_seen_ms = ?, expires_ms = ? WHERE token_hash = ?",
                        (now, now + ttl_ms, token_hash))

    def close_session(self, token_hash: str) -> None:
        with self.db.write() as con:
            con.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))

    def close_sessions(self, user_id: int, keep: str | None = None) -> int:
        with self.db.write() as con:
            cur = con.execute("DELETE FROM web_sessions WHERE user_id = ? AND token_hash IS NOT ?",
                              (user_id, keep))
            return cur.rowcount

    # -- throttling ----------------------------------------------------------------------
    def throttle(self, source: str, now_ms: int) -> LoginThrottle:
        row = self.db.query_one("SELECT * FROM web_login_failures WHERE source = ?", (source,))
        if row is None or now_ms - row["last_failure_ms"] > FAILURE_MEMORY_MS:
            return LoginThrottle(0, None)
        return LoginThrottle(row["failures"], row["locked_until_ms"])

    def failure(self, source: str, now_ms: int, free: int = FREE_FAILURES) -> LoginThrottle:
        failures = self.throttle(source, now_ms).failures + 1
        wait = lock_ms(failures, free)
        until = now_ms + wait if wait else None
        with self.db.write() as con:
            con.execute(
                "INSERT INTO web_login_failures (source, failures, last_failure_ms, locked_until_ms)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET failures = excluded.failures,"
                " last_failure_ms = excluded.last_failure_ms, locked_until_ms = excluded.locked_until_ms",
                (source, failures, now_ms, until))
        return LoginThrottle(failures, until)

    def clear_failures(self, source: str) -> None:
        with self.db.write() as con:
            con.execute("DELETE FROM web_login_failures WHERE source = ?", (source,))
