"""Persistence: the data dir (files) and the SQLite database (rows). No SQL lives elsewhere.

API index:
    DataDir, safe_name, sanitize_name, atomic_write, atomic_writer, free_bytes   (files)
    Database                                  (db: WAL, per-thread connections, migrations)
    CallLog, Messages, Callbacks, SurveyAnswers, KeyValue, ConfigVersions,
    PinLockouts, OutboxJobs, Reports, WebAuth, LookupTables typed repositories over one Database
    FeatureUsage                              TTY, lookup, hunt-list and per-line figures (analytics)
    Store(data_dir, clock_ms=None)            opens the db of a data dir and bundles them all
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from firmware.store.calllog import Call, CallEvent, CallLog
from firmware.store.db import Database, wall_clock_ms
from firmware.store.files import (
    DataDir,
    atomic_write,
    atomic_writer,
    free_bytes,
    fsync_dir,
    safe_name,
    sanitize_name,
)
from firmware.store.jobs import Job, OutboxJobs
from firmware.store.lockouts import LockoutState, PinLockouts
from firmware.store.lookups import LookupEntry, LookupTables
from firmware.store.messages import Message, Messages
from firmware.store.reports import Reports
from firmware.store.swap import recover, swap_lock
from firmware.store.usage import FeatureUsage
from firmware.store.webauth import LoginThrottle, WebAuth, WebSession, WebUser
from firmware.store.records import (
    Callback,
    Callbacks,
    ConfigVersion,
    ConfigVersions,
    KeyValue,
    SurveyAnswers,
)


class Store:
    """Everything persistent about one data dir, opened once at start-up and passed down."""

    def __init__(self, data_dir: DataDir | Path | str, clock_ms: Callable[[], int] | None = None):
        self.data = data_dir if isinstance(data_dir, DataDir) else DataDir(data_dir)
        self._open(clock_ms)

    def _open(self, clock_ms: Callable[[], int] | None) -> None:
        with swap_lock(self.data.root):  # a restore cut by a power loss: finish or undo it
            recover(self.data.root)
        self.data.ensure()
        self.db = Database(self.data.db_path, clock_ms=clock_ms)
        self._identity = self._file_identity()
        self.calls = CallLog(self.db)
        self.messages = Messages(self.db)
        self.callbacks = Callbacks(self.db)
        self.surveys = SurveyAnswers(self.db)
        self.kv = KeyValue(self.db)
        self.configs = ConfigVersions(self.db)
        self.lockouts = PinLockouts(self.db)
        self.jobs = OutboxJobs(self.db)
        self.reports = Reports(self.db)
        self.usage = FeatureUsage(self.db)
        self.web = WebAuth(self.db)
        self.lookups = LookupTables(self.db)

    def close(self) -> None:
        self.db.close()

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = self.data.db_path.stat()
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def replaced(self) -> bool:
        """True when the database file is no longer the one we opened (a restore ran,
        perhaps in the web page's process)."""
        return self._file_identity() != self._identity

    def reopen(self) -> None:
        """Close and open the data dir's database again, in place: everything that holds
        this Store (engine, page, outbox) then sees the file now there."""
        clock = self.db.now_ms
        self.close()
        self._open(clock)


__all__ = [
    "Call", "CallEvent", "CallLog", "Callback", "Callbacks", "ConfigVersion", "ConfigVersions",
    "DataDir", "Database", "FeatureUsage", "Job", "KeyValue", "LockoutState", "LoginThrottle", "LookupEntry", "LookupTables", "Message",
    "Messages", "Reports", "WebAuth", "WebSession", "WebUser",
    "OutboxJobs", "PinLockouts", "Store", "SurveyAnswers", "atomic_write", "atomic_writer",
    "free_bytes", "fsync_dir", "safe_name", "sanitize_name", "wall_clock_ms",
]
