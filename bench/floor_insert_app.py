"""The floor of a durable accept: a bare ASGI app that writes one row per request into a
SQLite WAL database (one autocommit INSERT on the event loop, so the 202 goes out after the
commit) and answers 202 with the row's id. The naive design Sluice's accept must beat.

Settings from the environment: BENCH_FLOOR_DB (the database file), BENCH_FLOOR_SYNC
(FULL or NORMAL, SQLite's synchronous pragma). Served by uvicorn (uvloop, httptools) as
Sluice is (bench/core.py floor_server).
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bench.floor_app import read_body, respond

Message = MutableMapping[str, Any]
SYNC = os.environ.get("BENCH_FLOOR_SYNC", "FULL")
if SYNC not in ("FULL", "NORMAL"):
    raise SystemExit(f"BENCH_FLOOR_SYNC must be FULL or NORMAL, not {SYNC!r}")
_db = sqlite3.connect(os.environ["BENCH_FLOOR_DB"], isolation_level=None)
_db.execute("PRAGMA journal_mode=WAL")
_db.execute(f"PRAGMA synchronous={SYNC}")
_db.execute(
    "CREATE TABLE IF NOT EXISTS calls"
    " (id BLOB PRIMARY KEY, body BLOB NOT NULL, created INTEGER NOT NULL) WITHOUT ROWID"
)
_INSERT = "INSERT INTO calls (id, body, created) VALUES (?, ?, ?)"


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    call_id = uuid.uuid4()
    _db.execute(_INSERT, (call_id.bytes, body, time.time_ns()))
    await respond(send, 202, b'{"activationId":"%s"}' % call_id.hex.encode())
