"""SQLite access: one `Database(path)` per data dir, one connection per thread, WAL mode.

API index:
    Database(path, migrations=MIGRATIONS, clock_ms=None)
      .write()          context manager: an IMMEDIATE transaction (one writer at a time)
      .read()           context manager: a consistent snapshot for several SELECTs
      .query(sql, args) / .query_one(sql, args)   rows (sqlite3.Row) outside a transaction
      .version          the schema version of the file (PRAGMA user_version)
      .now_ms()         the injectable clock the repositories use for "now"
      .close()          close every connection this object opened
    wall_clock_ms()     default clock: UTC epoch milliseconds

Why WAL: the call engine writes (call log, messages) while the web page reads; in WAL mode
readers never block the writer or each other, and a power cut loses at most the last
transaction. Why one connection per thread: sqlite3 connections must not be shared
between threads, and the engine, the web server and `asyncio.to_thread` workers each get
their own. Migrations run on open, each in one transaction with its `user_version` bump,
so an interrupted update leaves the old, intact schema. Only `firmware.store` writes SQL.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from firmware.errors import StoreError
from firmware.store.schema import MIGRATIONS

BUSY_TIMEOUT_MS = 5000  # how long a writer waits for another writer before failing


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        text += " (the file is damaged; restore a backup or move it away to start empty)"
    elif "full" in text:
        text += " (free space on the data disk)"
    return StoreError(f"database {path}: {text}")


class Database:
    """One SQLite file. Thread-safe by giving each thread its own connection."""

    def __init__(
        self,
        path: Path | str,
        *,
        migrations: Sequence[str] = MIGRATIONS,
        clock_ms: Callable[[], int] | None = None,
    ):
        self.path = Path(path)
        self.now_ms: Callable[[], int] = clock_ms or wall_clock_ms
        self._migrations = tuple(migrations)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self.migrate()

    # -- connections -------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and set up) on first use."""
        con = getattr(self._local, "con", None)
        if con is not None:
            return con
        if self._closed:
            raise StoreError(f"database {self.path} is closed")
        try:
            con = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"database {self.path}: cannot use WAL mode (got {mode})")
            # NORMAL is durable in WAL mode except for the last commits before a power cut.
            con.execute("PRAGMA synchronous = NORMAL")
            con.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc
        self._local.con = con
        with self._all_lock:
            self._all.append(con)
        return con

    def close(self) -> None:
        """Close every connection (call when no other thread uses the database any more)."""
        self._closed = True
        with self._all_lock:
            for con in self._all:
                with contextlib.suppress(sqlite3.Error):
                    con.close()
            self._all.clear()
        self._local = threading.local()

    # -- transactions ------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: committed on normal exit, rolled back on an exception.
        Nested use joins the outer transaction."""
        con = self.connection()
        if con.in_transaction:
            yield con
            return
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc
        try:
            yield con
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise _store_error(self.path, exc) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every SELECT inside sees the same snapshot."""
        con = self.connection()
        if con.in_transaction:
            yield con
            return
        con.execute("BEGIN")
        try:
            yield con
        finally:
            with contextlib.suppress(sqlite3.Error):
                con.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        try:
            return self.connection().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise _store_error(self.path, exc) from exc

    def query_one(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, args)
        return rows[0] if rows else None

    # -- schema ------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return int(self.query_one("PRAGMA user_version")[0])  # type: ignore[index]

    def migrate(self) -> int:
        """Bring the file up to the newest schema; returns the number of steps applied."""
        current = self.version
        target = len(self._migrations)
        if current > target:
            raise StoreError(
                f"database {self.path} has schema version {current}, newer than this "
                f"ivrbox understands ({target}); install the newer ivrbox again"
            )
        con = self.connection()
        for index in range(current, target):
            script = self._migrations[index]
            try:
                # executescript commits any open transaction first, so the BEGIN, the
                # statements and the version bump travel inside one script.
                con.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {index + 1};\nCOMMIT;"
                )
            except sqlite3.Error as exc:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                if self.version > index:
                    # another process (the engine and the web page start together after
                    # an update) applied this step while ours waited for the lock
                    continue
                raise StoreError(
                    f"database {self.path}: migration to version {index + 1} failed: {exc}"
                ) from exc
        return target - current
