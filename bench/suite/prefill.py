"""Fill a stopped server's database fast, for the scale figures: rows cloned from a real
call of that server, written through the SQLite queue's own enqueue (SqliteLedger.enqueue,
the accept path's write) in large batches, one transaction each, synchronous=NORMAL."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from sluice import call_meta
from sluice.call_meta import CallMeta
from sluice.ids import CallId
from sluice.records import CallState, NewCall
from sluice.store.sqlite.db import Database
from sluice.store.sqlite.ledger import SqliteLedger
from sluice.timing import now_ms


@dataclass(frozen=True)
class Template:
    """A finished call of the server: what each clone copies."""

    namespace: str
    params: dict[str, Any]
    meta: CallMeta
    memory_mb: int
    record: dict[str, Any]


def template(db_path: Path, path: str) -> Template:
    """The latest successful call of `path` in the database."""
    with sqlite3.connect(db_path) as conn:
        row = conn.execute(
            "SELECT namespace, params, meta, memory_mb, record FROM calls"
            " WHERE path = ? AND state = 'success' ORDER BY id DESC LIMIT 1",
            (path,),
        ).fetchone()
    if row is None:
        raise RuntimeError(f"no finished call of {path} to copy in {db_path}")
    return Template(
        row[0],
        orjson.loads(row[1]),
        call_meta.decode(orjson.loads(row[2])),
        row[3],
        orjson.loads(row[4]),
    )


def clones(t: Template, paths: list[str], count: int, finished: bool) -> list[NewCall]:
    """`count` new calls of `paths` (round robin): queued, or finished like the template."""
    at = now_ms()
    extra: dict[str, Any] = (
        {"state": CallState.SUCCESS, "record": t.record, "ended": at} if finished else {}
    )
    return [
        NewCall(
            id=CallId.new(),
            namespace=t.namespace,
            path=paths[i % len(paths)],
            params=t.params,
            meta=t.meta,
            memory_mb=t.memory_mb,
            created=at,
            visible_at=at,
            **extra,
        )
        for i in range(count)
    ]


async def fill(
    db_path: Path,
    t: Template,
    paths: list[str],
    count: int,
    finished: bool,
    batch: int = 20_000,
    sample: int = 1000,
) -> list[str]:
    """Write `count` calls; the hex ids of up to `sample` of them, picked at random."""
    db = Database(db_path, "NORMAL")
    await db.open()
    queue = SqliteLedger(db)
    picked: list[str] = []
    try:
        for start in range(0, count, batch):
            calls = clones(t, paths, min(batch, count - start), finished)
            await queue.enqueue(*calls)
            keep = max(1, sample * len(calls) // max(count, 1))
            picked += [call.id.hex for call in random.sample(calls, min(keep, len(calls)))]
    finally:
        await db.close()
    return picked
