"""Database: WAL, migrations, concurrency, and the repositories on real SQLite files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from firmware.errors import StoreError, UsageError
from firmware.store import Store
from firmware.store.db import Database
from firmware.store.schema import MIGRATIONS, SCHEMA_VERSION

HOUR_MS = 3_600_000


class Clock:
    def __init__(self, start_ms: int = 1_700_000_000_000):
        self.t = start_ms

    def __call__(self) -> int:
        return self.t


def test_new_database_is_wal_and_at_current_version(tmp_path: Path) -> None:
    db = Database(tmp_path / "ivrbox.db")
    assert db.version == SCHEMA_VERSION
    assert db.query_one("PRAGMA journal_mode")[0] == "wal"
    tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"calls", "call_events", "messages", "callbacks", "survey_answers",
            "config_versions", "key_value", "pin_lockouts", "outbox_jobs"} <= tables
    indexes = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"calls_started", "messages_mailbox", "outbox_jobs_due"} <= indexes
    assert db.migrate() == 0  # idempotent
    db.close()


def test_update_migrates_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "ivrbox.db"
    old = Database(path, migrations=MIGRATIONS[:1])
    old.query("INSERT INTO key_value (key, value, updated_ms) VALUES ('mode', '\"night\"', 1)")
    old.close()
    v2 = "ALTER TABLE calls ADD COLUMN language TEXT; CREATE TABLE extra (x INTEGER);"
    new = Database(path, migrations=(*MIGRATIONS, v2))
    assert new.version == len(MIGRATIONS) + 1
    assert new.query_one("SELECT value FROM key_value WHERE key = 'mode'")[0] == '"night"'
    new.query("INSERT INTO extra (x) VALUES (1)")
    cols = [r[1] for r in new.query("PRAGMA table_info(calls)")]
    assert "language" in cols
    new.close()


def test_callbacks_from_before_the_tty_marker_are_voice_callbacks(tmp_path: Path) -> None:
    path = tmp_path / "ivrbox.db"
    old = Database(path, migrations=MIGRATIONS[:3])
    old.query("INSERT INTO callbacks (number, requested_ms) VALUES ('5550000', 1)")
    old.close()
    store = Store(tmp_path)
    assert [(c.number, c.by_tty) for c in store.callbacks.open()] == [("5550000", False)]
    store.close()


def test_failed_migration_leaves_old_schema_intact(tmp_path: Path) -> None:
    path = tmp_path / "ivrbox.db"
    Database(path).close()
    broken = "CREATE TABLE half_done (x INTEGER); ALTER TABLE no_such_table ADD COLUMN y;"
    with pytest.raises(StoreError, match=f"migration to version {SCHEMA_VERSION + 1} failed"):
        Database(path, migrations=(*MIGRATIONS, broken))
    db = Database(path)
    assert db.version == SCHEMA_VERSION
    names = {r[0] for r in db.query("SELECT name FROM sqlite_master")}
    assert "half_done" not in names
    db.close()


def test_database_newer_than_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ivrbox.db"
    Database(path, migrations=(*MIGRATIONS, "CREATE TABLE later (x);")).close()
    with pytest.raises(StoreError, match="newer than this ivrbox"):
        Database(path)


def test_damaged_file_is_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "ivrbox.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="damaged"):
        Database(path)


def test_write_rolls_back_on_exception(tmp_path: Path) -> None:
    db = Database(tmp_path / "ivrbox.db")
    with pytest.raises(RuntimeError):
        with db.write() as con:
            con.execute("INSERT INTO key_value VALUES ('a', '1', 1)")
            raise RuntimeError
    assert db.query("SELECT * FROM key_value") == []


def test_reader_is_not_blocked_by_an_open_write(tmp_path: Path) -> None:
    """WAL: the web page reads committed rows while the engine holds a write transaction."""
    store = Store(tmp_path)
    store.messages.add("100", path="voicemail/100/a.wav", duration_ms=3000)
    entered = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with store.db.write() as con:
            con.execute("INSERT INTO messages (mailbox, received_ms, path) VALUES ('100', 5, 'b')")
            entered.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert entered.wait(10)
    # Another thread (own connection) and another process-like connection both read.
    other = sqlite3.connect(tmp_path / "ivrbox.db", timeout=0)
    assert other.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    seen: list[int] = []
    r = threading.Thread(target=lambda: seen.append(len(store.messages.list("100"))))
    r.start()
    r.join(10)
    assert seen == [1]
    release.set()
    t.join(10)
    assert len(store.messages.list("100")) == 2
    other.close()
    store.close()


def test_concurrent_writers_and_readers_lose_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    call_ids: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    per_writer = 150

    def write(line: str) -> None:
        try:
            for i in range(per_writer):
                cid = store.calls.start(line, caller_number=f"555{i:04d}")
                store.calls.event(cid, 0, "node_entered", node="main")
                store.calls.finish(cid, "hung_up", "loop_drop")
                call_ids.append(cid)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        try:
            while not stop.is_set():
                with store.db.read():
                    calls = store.calls.recent(limit=1000)
                    # A snapshot never shows a finished call without its event.
                    for c in calls[:20]:
                        if c.ended_ms is not None:
                            assert store.calls.events(c.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(f"line{n}",)) for n in range(2)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(60)
    stop.set()
    for t in readers:
        t.join(60)
    assert not errors, errors
    assert len(set(call_ids)) == 2 * per_writer
    assert store.calls.node_funnel(0, 2**62) == {"main": 2 * per_writer}
    store.close()


def test_call_log_round_trip_and_analytics(tmp_path: Path) -> None:
    clock = Clock(1_700_000_000_000)  # 2023-11-14 22:13:20 UTC, a Tuesday
    store = Store(tmp_path, clock_ms=clock)
    cid = store.calls.start("sim", caller_number="5551234", caller_name="ALICE")
    clock.t += 4000
    store.calls.answered(cid)
    store.calls.event(cid, 0, "node_entered", node="main")
    store.calls.event(cid, 1800, "key", node="main", digit="2")
    store.calls.event(cid, 1900, "node_entered", node="sales")
    store.calls.event(cid, 5000, "transfer", node="sales", to="101", result="answered")
    clock.t += 62_000
    store.calls.finish(cid, "transferred", "local")
    call = store.calls.get(cid)
    assert call is not None
    assert (call.caller_number, call.caller_name, call.outcome) == ("5551234", "ALICE", "transferred")
    assert call.duration_ms == 62_000
    assert [e.kind for e in store.calls.events(cid)] == ["node_entered", "key", "node_entered", "transfer"]
    assert store.calls.events(cid)[1].detail == {"digit": "2"}

    private = store.calls.start("sim", caller_absent="P", started_ms=clock.t + HOUR_MS)
    store.calls.event(private, 0, "node_entered", node="main")
    store.calls.finish(private, "hung_up", "tone", ended_ms=clock.t + HOUR_MS + 1000)
    assert store.calls.get(private).duration_ms == 0  # never answered
    assert store.calls.node_funnel(0, 2**62) == {"main": 2, "sales": 1}
    assert [c.id for c in store.calls.recent()] == [private, cid]
    assert [c.id for c in store.calls.recent(before_ms=clock.t)] == [cid]
    assert [c.id for c in store.calls.recent(number="5551234")] == [cid]

    grid = store.calls.hour_of_week(0, 2**62, "Asia/Taipei")  # UTC+8: Wednesday 06:13, 07:xx
    assert grid[2][6] == 1 and grid[2][7] == 1 and sum(map(sum, grid)) == 2
    with pytest.raises(UsageError):
        store.calls.hour_of_week(0, 1, "Mars/Olympus")
    with pytest.raises(StoreError):
        store.calls.finish(9999, "x")
    store.close()


def test_open_calls_are_closed_after_a_crash(tmp_path: Path) -> None:
    store = Store(tmp_path)
    cid = store.calls.start("sim", started_ms=1000)
    store.calls.answered(cid, 2000)
    store.close()
    store = Store(tmp_path)
    assert [c.id for c in store.calls.open_calls()] == [cid]
    assert store.calls.close_open() == 1
    call = store.calls.get(cid)
    assert call.outcome == "interrupted" and call.end_reason == "restart"
    assert store.calls.open_calls() == []
    store.close()


def test_messages_lifecycle(tmp_path: Path) -> None:
    clock = Clock(10_000)
    store = Store(tmp_path, clock_ms=clock)
    a = store.messages.add("100", path="voicemail/100/a.wav", duration_ms=4000, caller_number="1")
    clock.t += 1000
    b = store.messages.add("100", text="HELLO FROM TTY", caller_number="2")
    store.messages.add("200", path="voicemail/200/c.wav", duration_ms=2000)
    assert [m.id for m in store.messages.list("100")] == [b.id, a.id]
    assert store.messages.counts("100") == (2, 2)
    store.messages.mark_heard(a.id)
    assert store.messages.get(a.id).heard and store.messages.counts("100") == (1, 2)
    store.messages.delete(a.id)
    assert [m.id for m in store.messages.list("100")] == [b.id]
    assert store.messages.counts("100") == (1, 1)
    assert store.messages.get(a.id).deleted
    store.messages.undelete(a.id)
    assert len(store.messages.list("100")) == 2
    clock.t = 50_000
    store.messages.delete(a.id)
    assert store.messages.purgeable(49_999) == []
    assert [m.id for m in store.messages.purgeable(50_000)] == [a.id]
    assert store.messages.purge([a.id, b.id]) == 1  # b is not deleted: kept
    assert store.messages.get(a.id) is None and store.messages.get(b.id) is not None
    with pytest.raises(UsageError):
        store.messages.add("100")
    with pytest.raises(StoreError):
        store.messages.mark_heard(9999)
    store.close()


def test_small_tables(tmp_path: Path) -> None:
    store = Store(tmp_path)
    cb = store.callbacks.request("5550000", name="BOB")
    assert [c.number for c in store.callbacks.open()] == ["5550000"]
    store.callbacks.done(cb, note="called back")
    assert store.callbacks.open() == [] and store.callbacks.list()[0].note == "called back"
    tty = store.callbacks.request("5550001", by_tty=True)
    assert [(c.id, c.by_tty) for c in store.callbacks.open()] == [(tty, True)]
    assert store.callbacks.list()[-1].by_tty is False

    for answer in "55412":
        store.surveys.add("satisfaction", "q1", answer)
    assert store.surveys.tally("satisfaction", "q1") == {"1": 1, "2": 1, "4": 1, "5": 2}

    assert store.kv.get("mode", "auto") == "auto"
    store.kv.set("mode", {"override": "night", "until_ms": 5})
    store.kv.set("mode", {"override": "day"})
    assert store.kv.get("mode") == {"override": "day"}
    store.kv.delete("mode")
    assert store.kv.get("mode") is None

    for n in range(5):
        assert store.configs.publish(f"version: {n}\n", note=f"edit {n}") == n + 1
    assert store.configs.latest().text == "version: 4\n"
    assert store.configs.prune(keep=2) == 3
    assert [c.version for c in store.configs.list()] == [5, 4]
    assert store.configs.get(1) is None
    assert store.configs.publish("x") == 6
    store.close()


def test_pin_lockout_counts_survive_restart(tmp_path: Path) -> None:
    store = Store(tmp_path)
    lock = store.lockouts
    assert lock.record_failure("100", 3, 60_000, at_ms=1000).failures == 1
    store.close()
    store = Store(tmp_path)
    lock = store.lockouts
    assert lock.state("100").failures == 1
    assert lock.record_failure("100", 3, 60_000, at_ms=2000).failures == 2
    state = lock.record_failure("100", 3, 60_000, at_ms=3000)
    assert state.locked_until_ms == 63_000 and state.locked(62_999) and not state.locked(63_000)
    lock.reset("100")
    assert lock.state("100") == type(state)()
    store.close()


def test_outbox_jobs_rows(tmp_path: Path) -> None:
    clock = Clock(1000)
    store = Store(tmp_path, clock_ms=clock)
    jobs = store.jobs
    a = jobs.add("email", {"to": ["a@example.com"]})
    b = jobs.add("email", {"to": ["b@example.com"]}, due_ms=5000)
    assert [j.id for j in jobs.due(1000)] == [a]
    assert jobs.next_due_ms() == 1000
    assert jobs.begin_attempt(a) == 1
    jobs.retry(a, "connection refused", due_ms=7000)
    assert jobs.next_due_ms() == 5000
    assert [j.id for j in jobs.due(7000)] == [b, a]
    jobs.done(b)
    assert jobs.begin_attempt(a) == 2
    jobs.dead(a, "550 no such user")
    assert jobs.begin_attempt(a) is None  # not pending: nothing to attempt
    assert jobs.counts() == {"pending": 0, "done": 1, "dead": 1}
    assert jobs.get(a).last_error == "550 no such user" and jobs.get(a).attempts == 2
    assert jobs.get(b).payload == {"to": ["b@example.com"]}
    assert jobs.next_due_ms() is None
    assert jobs.prune_done(before_ms=2000) == 1
    store.close()


def test_store_notices_a_replaced_database_and_reopens_in_place(tmp_path) -> None:
    import shutil

    from firmware.store import Store

    store = Store(tmp_path / "data")
    store.kv.set("who", "original")
    other = Store(tmp_path / "other")
    other.kv.set("who", "restored")
    other.close()
    assert not store.replaced()
    # what a restore does: the old write-ahead log moved aside, a new file renamed in
    for suffix in ("-wal", "-shm"):
        old = store.data.db_path.with_name(store.data.db_path.name + suffix)
        if old.exists():
            old.rename(tmp_path / f"aside{suffix}")
    shutil.copyfile(other.data.db_path, tmp_path / "data" / "incoming.db")
    (tmp_path / "data" / "incoming.db").replace(store.data.db_path)
    assert store.replaced()
    calls = store.calls
    store.reopen()
    assert not store.replaced()
    assert store.kv.get("who") == "restored"
    assert store.calls is not calls  # repositories point at the new connection
    store.close()


def test_two_processes_updating_at_once_both_start(tmp_path: Path) -> None:
    """The engine and the web page start together after an update: both read the old
    schema version, and the one whose migration waits for the other's must not fail on
    what the other just did ("duplicate column name: notified_ms")."""
    path = tmp_path / "ivrbox.db"
    Database(path, migrations=MIGRATIONS[:5]).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # both openers read version 5, then queue behind it
    opened: list[Database] = []
    failed: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(Database(path))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failed.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for t in threads:
        t.start()
    threading.Event().wait(0.5)  # let both read the version and wait for the lock
    blocker.execute("ROLLBACK")
    blocker.close()
    for t in threads:
        t.join(30)
    try:
        assert failed == []
        assert [db.version for db in opened] == [SCHEMA_VERSION, SCHEMA_VERSION]
    finally:
        for db in opened:
            db.close()
