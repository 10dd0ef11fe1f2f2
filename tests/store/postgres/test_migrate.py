"""Migrations on real, fresh databases: each once, in turn, and a stale schema refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from tests.support.postgres import create_database, drop_database

from sluice.store.postgres.db import PgDatabase
from sluice.store.postgres.entities import PostgresStore
from sluice.store.postgres.migrate import SchemaError, latest_version, migrate, migrations, redacted


@pytest.fixture
def empty_url(pg_database: str) -> Iterator[str]:
    """A fresh database with no schema (pg_database: PostgreSQL is here), dropped after."""
    url = create_database("sluice_migrate")
    yield url
    drop_database(url)


async def _open_and_list(url: str, migrate_first: bool = False) -> None:
    store = PostgresStore(PgDatabase(url, migrate=migrate_first))
    await store.open()
    try:
        assert await store.list_namespaces() == []
    finally:
        await store.close()


def test_migrations_run_once_and_a_stale_schema_is_refused(empty_url: str) -> None:
    with pytest.raises(SchemaError, match="sluice migrate"):
        asyncio.run(_open_and_list(empty_url))
    every = [m.version for m in migrations()]
    assert every[-1] == latest_version()
    assert [m.version for m in asyncio.run(migrate(empty_url))] == every
    assert asyncio.run(migrate(empty_url)) == []  # a second run finds nothing to do
    with psycopg.connect(empty_url) as conn:
        rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert rows == [(version,) for version in every]
    asyncio.run(_open_and_list(empty_url))


def test_a_schema_newer_than_this_sluice_is_refused(empty_url: str) -> None:
    asyncio.run(migrate(empty_url))
    with psycopg.connect(empty_url) as conn:
        conn.execute("INSERT INTO schema_version VALUES (9999, 'future', 0)")
    with pytest.raises(SchemaError, match="upgrade Sluice"):
        asyncio.run(_open_and_list(empty_url))


def test_concurrent_migrations_take_turns(empty_url: str) -> None:
    async def three() -> list[int]:
        runs = await asyncio.gather(*(migrate(empty_url) for _ in range(3)))
        return sorted(len(applied) for applied in runs)

    assert asyncio.run(three()) == [0, 0, len(migrations())]


def test_start_with_migrate_creates_the_schema(empty_url: str) -> None:
    asyncio.run(_open_and_list(empty_url, migrate_first=True))


def test_messages_do_not_show_the_password() -> None:
    assert redacted("postgresql://u:s3cret@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert redacted("postgresql://u@h/d") == "postgresql://u@h/d"
    # libpq takes the password and the client key's passphrase as parameters too
    assert redacted(
        "postgresql://u@h/d?sslmode=verify-full&password=s3cret&sslrootcert=/etc/ca.crt"
    ) == ("postgresql://u@h/d?sslmode=verify-full&password=***&sslrootcert=/etc/ca.crt")
    assert (
        redacted("postgresql://u:a@h/d?sslpassword=k3y") == "postgresql://u:***@h/d?sslpassword=***"
    )
