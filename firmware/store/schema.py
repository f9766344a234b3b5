"""The database schema as an ordered list of migrations (PRAGMA user_version = index + 1).

API index:
    MIGRATIONS        tuple of SQL scripts; MIGRATIONS[i] takes a db from version i to i+1
    SCHEMA_VERSION    len(MIGRATIONS): the version this code writes

Rules: never edit a migration that has shipped; append a new one. Times are UTC epoch
milliseconds (INTEGER), so the web page's range queries are plain integer comparisons and
the business's time zone is applied only when showing them. Free-form details are JSON text.
"""

from __future__ import annotations

_V1 = """
CREATE TABLE calls (
    id              INTEGER PRIMARY KEY,
    line            TEXT NOT NULL,
    caller_number   TEXT,
    caller_name     TEXT,
    caller_absent   TEXT,             -- why no number: 'P' private, 'O' unavailable, ...
    started_ms      INTEGER NOT NULL, -- first ring / call seen
    answered_ms     INTEGER,
    ended_ms        INTEGER,
    outcome         TEXT,             -- e.g. transferred, voicemail, hung_up, no_answer
    end_reason      TEXT,             -- e.g. loop_drop, tone, local, line_gone
    duration_ms     INTEGER           -- answered to ended (0 if never answered)
);
CREATE INDEX calls_started ON calls (started_ms);
CREATE INDEX calls_number ON calls (caller_number);

CREATE TABLE call_events (
    id       INTEGER PRIMARY KEY,
    call_id  INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    t_ms     INTEGER NOT NULL,        -- since answer (line sample clock)
    kind     TEXT NOT NULL,           -- node_entered, key, prompt, transfer, message_saved...
    node     TEXT,                    -- the flow node it happened in, for per-node funnels
    detail   TEXT                     -- JSON
);
CREATE INDEX call_events_call ON call_events (call_id, t_ms);
CREATE INDEX call_events_kind_node ON call_events (kind, node);

CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    mailbox        TEXT NOT NULL,
    call_id        INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    caller_number  TEXT,
    caller_name    TEXT,
    received_ms    INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL DEFAULT 0,
    path           TEXT,              -- relative to the data dir; NULL for text messages
    text           TEXT,              -- TTY/TDD messages
    heard          INTEGER NOT NULL DEFAULT 0,
    heard_ms       INTEGER,
    deleted_ms     INTEGER            -- set on delete; row and file purged after the undo window
);
CREATE INDEX messages_mailbox ON messages (mailbox, received_ms);
CREATE INDEX messages_received ON messages (received_ms);
CREATE INDEX messages_deleted ON messages (deleted_ms) WHERE deleted_ms IS NOT NULL;

CREATE TABLE callbacks (
    id            INTEGER PRIMARY KEY,
    call_id       INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    number        TEXT NOT NULL,
    name          TEXT,
    requested_ms  INTEGER NOT NULL,
    done_ms       INTEGER,
    note          TEXT
);
CREATE INDEX callbacks_open ON callbacks (done_ms, requested_ms);

CREATE TABLE survey_answers (
    id           INTEGER PRIMARY KEY,
    call_id      INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    survey       TEXT NOT NULL,
    question     TEXT NOT NULL,
    answer       TEXT NOT NULL,
    answered_ms  INTEGER NOT NULL
);
CREATE INDEX survey_answers_survey ON survey_answers (survey, question, answered_ms);

CREATE TABLE config_versions (
    version       INTEGER PRIMARY KEY,
    published_ms  INTEGER NOT NULL,
    text          TEXT NOT NULL,
    note          TEXT
);

CREATE TABLE key_value (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,        -- JSON
    updated_ms  INTEGER NOT NULL
);

CREATE TABLE pin_lockouts (
    mailbox          TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL DEFAULT 0,
    last_failure_ms  INTEGER,
    locked_until_ms  INTEGER
);

CREATE TABLE outbox_jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,        -- email, webhook, ...
    payload     TEXT NOT NULL,        -- JSON
    state       TEXT NOT NULL DEFAULT 'pending',   -- pending, done, dead
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_ms  INTEGER NOT NULL,
    due_ms      INTEGER NOT NULL,
    done_ms     INTEGER,
    last_error  TEXT
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (state, due_ms);

-- Room for the web page's users and sessions (issue "web"): added by a later migration.
"""

_V2 = """
-- The web page's owner accounts, sessions and login throttling (issue 5).
CREATE TABLE web_users (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,      -- argon2id, never shown anywhere
    created_ms           INTEGER NOT NULL,
    password_changed_ms  INTEGER NOT NULL
);

CREATE TABLE web_sessions (
    token_hash    TEXT PRIMARY KEY,          -- sha256 of the cookie: a db leak is no login
    user_id       INTEGER NOT NULL REFERENCES web_users (id) ON DELETE CASCADE,
    csrf          TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

CREATE TABLE web_login_failures (
    source           TEXT PRIMARY KEY,       -- client address, or '*' for all of them
    failures         INTEGER NOT NULL,
    last_failure_ms  INTEGER NOT NULL,
    locked_until_ms  INTEGER
);
"""

_V3 = """
-- Information by phone (issue 8): the owner's lookup tables (orders, bookings, tickets).
CREATE TABLE lookup_entries (
    tbl          TEXT NOT NULL,           -- the table's name, as a lookup node names it
    key          TEXT NOT NULL,           -- digits the caller keys
    texts        TEXT NOT NULL,           -- JSON {"": one text, "en": ..., "zh-TW": ...}
    valid_until  TEXT,                    -- local 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM'; NULL = always
    updated_ms   INTEGER NOT NULL,
    PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
"""

_V4 = """
-- TTY callers (issue 8): a callback asked for from a text telephone is returned by TTY or
-- through a relay service, not by a voice call.
ALTER TABLE callbacks ADD COLUMN by_tty INTEGER NOT NULL DEFAULT 0;
"""

_V5 = """
-- The outbox's send lease: a job whose attempt has begun is someone's until this time
-- (NULL: no one's). The worker, "send again" and the failed list leave a leased job alone,
-- and a sender that died mid-attempt loses it when it runs out. Kept apart from due_ms,
-- which still says when a failed job is next tried.
ALTER TABLE outbox_jobs ADD COLUMN sending_until INTEGER;
"""

_V6 = """
-- When a message's notice (e-mail, webhooks) was queued in the outbox; NULL: still owed.
-- Set in the transaction that queues it, so a crash between saving a message and queuing
-- its notice leaves it owed, and the next start sends it. Messages from before this
-- version were notified when they were saved.
ALTER TABLE messages ADD COLUMN notified_ms INTEGER;
UPDATE messages SET notified_ms = received_ms;
CREATE INDEX messages_unnotified ON messages (id) WHERE notified_ms IS NULL;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
SCHEMA_VERSION = len(MIGRATIONS)
