-- Sluice embedded schema (SQLite). One file holds the store and the queue.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS namespaces (
    name       TEXT PRIMARY KEY,
    uuid       TEXT NOT NULL UNIQUE,
    key_hash   TEXT NOT NULL,
    generation INTEGER NOT NULL,
    created    INTEGER NOT NULL
);

-- Actions, triggers, rules and packages; the fields of each live in doc (JSON).
CREATE TABLE IF NOT EXISTS entities (
    namespace  TEXT NOT NULL,
    collection TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    updated    INTEGER NOT NULL,
    doc        BLOB NOT NULL,
    PRIMARY KEY (namespace, collection, name)
) WITHOUT ROWID;

-- One row per call, from accept to its terminal state: the queue and the activation record.
CREATE TABLE IF NOT EXISTS calls (
    id          BLOB PRIMARY KEY,
    namespace   TEXT NOT NULL,
    path        TEXT NOT NULL,
    state       TEXT NOT NULL,
    params      BLOB NOT NULL,
    meta        BLOB NOT NULL,
    memory_mb   INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    visible_at  INTEGER NOT NULL,
    started     INTEGER,
    ended       INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    record      BLOB,
    queue_name  TEXT NOT NULL DEFAULT '',
    fn_limit    INTEGER NOT NULL DEFAULT 0,
    concurrency INTEGER NOT NULL DEFAULT 1,
    -- the call's span (W3C traceparent) and its parent's span id (observe/trace.py)
    traceparent TEXT,
    trace_parent TEXT
) WITHOUT ROWID;

-- The queue, oldest first. It holds every column a take decides from (store/choose.py), so
-- that reading past a namespace at its cap never looks up the rows themselves.
DROP INDEX IF EXISTS calls_queued;
CREATE INDEX IF NOT EXISTS calls_queued_keys ON calls (
    visible_at, id, state, namespace, path, memory_mb, queue_name, fn_limit, concurrency
) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS calls_running ON calls (lease_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS calls_by_namespace ON calls (namespace, id);
CREATE INDEX IF NOT EXISTS calls_by_path ON calls (namespace, path, id);
CREATE INDEX IF NOT EXISTS calls_queued_by_queue ON calls (queue_name, visible_at, id)
    WHERE state = 'queued' AND queue_name != '';

-- Callbacks a call owes (X-Callback-Url): written with the call, made due when it ends,
-- delivered with retries by the callback sender.
CREATE TABLE IF NOT EXISTS callbacks (
    id          BLOB PRIMARY KEY,
    namespace   TEXT NOT NULL,
    url         TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    due         INTEGER,
    last_status INTEGER,
    last_error  TEXT,
    settled     INTEGER
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (due) WHERE due IS NOT NULL;

-- Idempotency keys of submits (Idempotency-Key): a key names its first call for a day.
CREATE TABLE IF NOT EXISTS idempotency (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    id        BLOB NOT NULL,
    created   INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;

-- Dead letters: async calls that failed for good (or grew too old), kept to be redriven.
CREATE TABLE IF NOT EXISTS dead_letters (
    id        BLOB PRIMARY KEY,
    namespace TEXT NOT NULL,
    path      TEXT NOT NULL,
    reason    TEXT NOT NULL,
    created   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS dead_letters_by_path ON dead_letters (namespace, path, id);

-- Call parameters stored aside (claim checks): too large for the queue's rows.
CREATE TABLE IF NOT EXISTS blobs (
    id        BLOB PRIMARY KEY,
    namespace TEXT NOT NULL,
    data      BLOB NOT NULL
) WITHOUT ROWID;
