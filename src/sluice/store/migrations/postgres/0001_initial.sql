-- Sluice on PostgreSQL: the store and the call ledger (the queue's durable half).
-- Times are epoch milliseconds; ids are the calls' 16-byte ULIDs; JSON documents are kept
-- as the bytes the engine wrote (BYTEA), so they read back exactly as they were stored.

-- Names are compared byte by byte (COLLATE "C"), as in the embedded store, whatever the
-- database's locale: listings sort the same and prefix searches use the indexes.
CREATE TABLE namespaces (
    name       TEXT COLLATE "C" PRIMARY KEY,
    uuid       TEXT NOT NULL UNIQUE,
    -- a hash of the namespace's key, never the key itself
    key_hash   TEXT NOT NULL,
    generation INTEGER NOT NULL,
    created    BIGINT NOT NULL
);

-- Actions, triggers, rules and packages; the fields of each live in doc (JSON).
CREATE TABLE entities (
    namespace  TEXT COLLATE "C" NOT NULL,
    collection TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    version    TEXT NOT NULL,
    updated    BIGINT NOT NULL,
    doc        BYTEA NOT NULL,
    PRIMARY KEY (namespace, collection, name)
);

CREATE INDEX entities_by_updated ON entities (namespace, collection, updated DESC, name);

-- One row per call, from accept to its terminal state: the ledger and the activation record.
CREATE TABLE calls (
    id          BYTEA PRIMARY KEY,
    namespace   TEXT COLLATE "C" NOT NULL,
    path        TEXT COLLATE "C" NOT NULL,
    state       TEXT NOT NULL,
    params      BYTEA NOT NULL,
    meta        BYTEA NOT NULL,
    memory_mb   INTEGER NOT NULL,
    created     BIGINT NOT NULL,
    visible_at  BIGINT NOT NULL,
    started     BIGINT,
    ended       BIGINT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until BIGINT,
    record      BYTEA,
    queue_name  TEXT NOT NULL DEFAULT '',
    fn_limit    INTEGER NOT NULL DEFAULT 0,
    -- the node holding the lease, so that a restarted node recovers its own calls only
    owner       TEXT
);

CREATE INDEX calls_queued ON calls (visible_at, id) WHERE state = 'queued';
CREATE INDEX calls_running ON calls (lease_until) WHERE state = 'running';
CREATE INDEX calls_running_by_owner ON calls (owner) WHERE state = 'running';
CREATE INDEX calls_by_namespace ON calls (namespace, id);
CREATE INDEX calls_by_path ON calls (namespace, path, id);
CREATE INDEX calls_queued_by_queue ON calls (queue_name, visible_at, id)
    WHERE state = 'queued' AND queue_name <> '';

-- Callbacks a call owes (X-Callback-Url): written with the call, made due when it ends,
-- delivered with retries by the callback sender.
CREATE TABLE callbacks (
    id          BYTEA PRIMARY KEY,
    namespace   TEXT NOT NULL,
    url         TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    due         BIGINT,
    last_status INTEGER,
    last_error  TEXT,
    settled     BIGINT
);

CREATE INDEX callbacks_due ON callbacks (due) WHERE due IS NOT NULL;
CREATE INDEX callbacks_by_namespace ON callbacks (namespace);

-- Idempotency keys of submits (Idempotency-Key): a key names its first call for a day.
CREATE TABLE idempotency (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    id        BYTEA NOT NULL,
    created   BIGINT NOT NULL,
    PRIMARY KEY (namespace, key)
);

-- Dead letters: async calls that failed for good (or grew too old), kept to be redriven.
CREATE TABLE dead_letters (
    id        BYTEA PRIMARY KEY,
    namespace TEXT NOT NULL,
    path      TEXT NOT NULL,
    reason    TEXT NOT NULL,
    created   BIGINT NOT NULL
);

CREATE INDEX dead_letters_by_path ON dead_letters (namespace, path, id);

-- Call parameters stored aside (claim checks): too large for the ledger's rows.
CREATE TABLE blobs (
    id        BYTEA PRIMARY KEY,
    namespace TEXT NOT NULL,
    data      BYTEA NOT NULL
);

CREATE INDEX blobs_by_namespace ON blobs (namespace);
