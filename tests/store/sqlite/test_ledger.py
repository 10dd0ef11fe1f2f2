"""What is the SQLite call ledger's own, on a real file: its group commits and the index its
takes read (what every queue does is tests/queue/test_contract.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sluice.call_meta import CallMeta
from sluice.ids import CallId
from sluice.records import NewCall
from sluice.store.choose import after_sql, candidates_sql, skip_refused
from sluice.store.rows import CANDIDATE_COLUMNS
from sluice.store.sqlite.db import Database, apply_schema
from sluice.store.sqlite.entities import SqliteStore
from sluice.store.sqlite.ledger import SqliteLedger


def _call(namespace: str = "ns", memory: int = 256, at: int = 1000) -> NewCall:
    return NewCall(CallId.new(), namespace, "act", {"a": 1}, CallMeta(), memory, at, at)


def test_a_failing_write_does_not_undo_its_batch_neighbours(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = Database(tmp_path / "q.db")
        await db.open()
        queue, store = SqliteLedger(db), SqliteStore(db)
        call = _call()
        duplicate = queue.enqueue(call)
        results = await asyncio.gather(
            queue.enqueue(call),
            duplicate,
            queue.enqueue(good := _call()),
            return_exceptions=True,
        )
        assert sum(isinstance(r, Exception) for r in results) == 1
        assert await store.get_call(good.id) is not None
        await db.close()

    asyncio.run(scenario())


def test_a_take_reads_the_queue_index_alone_also_in_a_file_from_before_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "q.db"
    with sqlite3.connect(path) as old:  # the queue index of earlier releases
        apply_schema(old)
        old.execute("DROP INDEX calls_queued_keys")
        old.execute("CREATE INDEX calls_queued ON calls (visible_at, id) WHERE state = 'queued'")

    async def plans() -> tuple[set[str], list[str]]:
        db = Database(path)
        await db.open()
        try:
            indexes = {
                row[0]
                for row in db.reader.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'"
                )
            }
            skip, skip_args = skip_refused("?", [("ns", "act", 256, "", 0, 1)])
            reads = [
                (candidates_sql("?", ""), (2000, 32)),
                (
                    f"SELECT {CANDIDATE_COLUMNS} FROM ({after_sql('?')}) WHERE 1{skip}",
                    (1000, b"x", 2000, 224, *skip_args),
                ),
            ]
            details = [
                " ".join(
                    str(row[3]) for row in db.reader.execute(f"EXPLAIN QUERY PLAN {sql}", args)
                )
                for sql, args in reads
            ]
            return indexes, details
        finally:
            await db.close()

    indexes, details = asyncio.run(plans())
    assert "calls_queued" not in indexes
    assert "calls_queued_keys" in indexes
    for detail in details:  # no look-up of a call's row: the index answers
        assert "COVERING INDEX calls_queued_keys" in detail, detail
