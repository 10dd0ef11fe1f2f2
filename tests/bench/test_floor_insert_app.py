"""The accept floor: every 202 of the one-insert-per-request app left its row."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import orjson
import pytest
from bench.core import floor_server
from bench.loadgen import HttpClient


@pytest.mark.parametrize("sync", ["FULL", "NORMAL"])
def test_each_202_is_one_row(tmp_path: Path, sync: str) -> None:
    db = tmp_path / "floor.db"
    env = {"BENCH_FLOOR_DB": str(db), "BENCH_FLOOR_SYNC": sync}

    async def send(port: int) -> list[str]:
        client = HttpClient("127.0.0.1", port)
        ids = []
        for i in range(20):
            answer = await client.request("POST", "/accept", b'{"i": %d}' % i)
            assert answer.status == 202
            ids.append(orjson.loads(answer.body)["activationId"])
        client.close()
        return ids

    with floor_server("bench.floor_insert_app:app", env) as (port, _):
        ids = asyncio.run(send(port))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, body FROM calls").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert sorted(row[0].hex() for row in rows) == sorted(ids)
    assert {row[1] for row in rows} == {b'{"i": %d}' % i for i in range(20)}
    assert mode == "wal"
