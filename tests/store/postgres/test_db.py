"""The PostgreSQL connection pools: a connection PostgreSQL dropped is not handed out again
once idle, and while it is, the caller gets Unavailable (a 503), never a bare driver error."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from sluice.errors import CannotStart, Unavailable
from sluice.store.postgres.db import PgDatabase


def _drop_connections(url: str) -> int:
    """Make PostgreSQL end every other session on the database (as a restart would)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_dropped_connections_are_replaced_before_use(pg_url: str) -> None:
    async def scenario() -> None:
        db = PgDatabase(pg_url, check_idle_seconds=0)  # check every connection handed out
        await db.open()
        try:
            assert await db.fetchone("SELECT 1") == (1,)
            assert _drop_connections(pg_url) >= 1
            assert await db.fetchone("SELECT 2") == (2,)
            assert await db.execute("UPDATE namespaces SET generation = 1", durable=False) == 0
        finally:
            await db.close()

    asyncio.run(scenario())


def test_a_connection_dropped_while_busy_fails_as_unavailable_once(pg_url: str) -> None:
    async def scenario() -> None:
        db = PgDatabase(pg_url, pool_size=1, check_idle_seconds=3600)  # never checked
        await db.open()
        try:
            assert await db.fetchone("SELECT 1") == (1,)
            assert _drop_connections(pg_url) >= 1
            with pytest.raises(Unavailable, match="store is unavailable"):
                await db.fetchone("SELECT 2")
            assert await db.fetchone("SELECT 3") == (3,)  # a new connection took its place
        finally:
            await db.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("migrate", [False, True])
def test_an_unreachable_server_fails_at_once_named_without_its_password(migrate: bool) -> None:
    db = PgDatabase("postgresql://sluice:s3cret@127.0.0.1:1/none", migrate=migrate)
    with pytest.raises(CannotStart, match="cannot use PostgreSQL") as caught:
        asyncio.run(db.open())
    assert "s3cret" not in str(caught.value)
    assert "postgresql://sluice:***@127.0.0.1:1/none" in str(caught.value)
