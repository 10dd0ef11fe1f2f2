"""The fixture that runs one scenario on each SQL queue (a SQLite file, a PostgreSQL
database)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sluice.queue.base import Queue
from sluice.queue.postgres import PostgresQueue
from sluice.queue.sqlite import SqliteQueue
from sluice.store.pg_db import PgDatabase
from sluice.store.sqlite_db import Database

Run = Callable[[Callable[[Queue], Awaitable[None]]], None]


@pytest.fixture(params=["sqlite", "postgres"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """Runs a scenario on an empty queue of the kind named by the parameter."""
    url = str(request.getfixturevalue("pg_url")) if request.param == "postgres" else ""

    def on(scenario: Callable[[Queue], Awaitable[None]]) -> None:
        async def main() -> None:
            db: Database | PgDatabase
            if url:
                db = PgDatabase(url)
                await db.open()
                queue: Queue = PostgresQueue(db, "a")
            else:
                db = Database(tmp_path / "q.db")
                await db.open()
                queue = SqliteQueue(db)
            try:
                await scenario(queue)
            finally:
                await db.close()

        asyncio.run(main())

    return on
