"""A data file from before a column was added gets it on open, its rows kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sluice.store.sqlite.db import apply_schema

OLD_CALLS = """
CREATE TABLE calls (
    id BLOB PRIMARY KEY, namespace TEXT NOT NULL, path TEXT NOT NULL, state TEXT NOT NULL,
    params BLOB NOT NULL, meta BLOB NOT NULL, memory_mb INTEGER NOT NULL,
    created INTEGER NOT NULL, visible_at INTEGER NOT NULL, started INTEGER, ended INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0, lease_until INTEGER, record BLOB
) WITHOUT ROWID;
"""


def test_old_calls_table_gets_the_queue_columns(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.executescript(OLD_CALLS)
    conn.execute(
        "INSERT INTO calls (id, namespace, path, state, params, meta, memory_mb, created,"
        " visible_at) VALUES (x'01', 'guest', 'f', 'queued', '{}', '{}', 256, 1, 1)"
    )
    apply_schema(conn)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
    row = conn.execute(
        "SELECT queue_name, fn_limit, concurrency, traceparent, trace_parent FROM calls"
    ).fetchone()
    conn.close()
    assert {"queue_name", "fn_limit", "concurrency", "traceparent", "trace_parent"} <= columns
    assert row == ("", 0, 1, None, None)
