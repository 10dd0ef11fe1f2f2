"""The scale pre-fill: clones of a real finished call, written through SqliteLedger.enqueue."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bench.suite import prefill
from sluice.call_meta import CallMeta
from sluice.ids import CallId
from sluice.records import CallState, NewCall
from sluice.store.sqlite.db import Database
from sluice.store.sqlite.ledger import SqliteLedger

RECORD = {"result": {}, "logs": [], "start": 1, "end": 2, "kind": "nodejs:20"}


async def _one_finished_call(db_path: Path) -> None:
    db = Database(db_path, "NORMAL")
    await db.open()
    try:
        await SqliteLedger(db).enqueue(
            NewCall(
                id=CallId.new(),
                namespace="guest",
                path="noop",
                params={"a": 1},
                meta=CallMeta(subject="guest"),
                memory_mb=256,
                created=1,
                visible_at=1,
                state=CallState.SUCCESS,
                record=RECORD,
                ended=2,
            )
        )
    finally:
        await db.close()


def test_fill_writes_queued_and_finished_clones(tmp_path: Path) -> None:
    db_path = tmp_path / "sluice.db"
    asyncio.run(_one_finished_call(db_path))
    template = prefill.template(db_path, "noop")
    assert template.params == {"a": 1}
    assert template.record == RECORD
    queued = asyncio.run(prefill.fill(db_path, template, ["noop"], 250, False, batch=100))
    done = asyncio.run(prefill.fill(db_path, template, ["x", "y"], 100, True, 30, sample=10))
    assert len(set(queued)) == len(queued) > 0
    assert 10 <= len(done) <= 20
    with sqlite3.connect(db_path) as conn:
        counts = dict(conn.execute("SELECT state, count(*) FROM calls GROUP BY state").fetchall())
        paths = dict(
            conn.execute(
                "SELECT path, count(*) FROM calls WHERE state = 'success' GROUP BY path"
            ).fetchall()
        )
        one = conn.execute("SELECT record FROM calls WHERE id = ?", (bytes.fromhex(done[0]),))
        assert one.fetchone()[0] is not None
    assert counts == {"queued": 250, "success": 101}
    assert paths == {"noop": 1, "x": 50, "y": 50}
