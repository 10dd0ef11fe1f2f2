"""Shared fixtures: real Sluice servers on free ports, each with its own data dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.listener import LOOPBACK_CALLBACKS
from tests.support.nats import nats_url, private_nats
from tests.support.postgres import create_database, drop_database, postgres_unavailable
from tests.support.server import SluiceServer
from tests.support.services import service_missing

__all__ = ["nats_url", "private_nats"]  # fixtures for the tests that need NATS


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    """One server for the whole session: tests that must not share one use `new_server`.
    Its callbacks may go to the listeners on 127.0.0.1."""
    instance = SluiceServer(tmp_path_factory.mktemp("sluice"), extra_env=LOOPBACK_CALLBACKS)
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture
def new_server(tmp_path: Path) -> Iterator[Callable[..., SluiceServer]]:
    """A factory for servers of this test alone (crash and restart tests)."""
    made: list[SluiceServer] = []

    def make(**env: str) -> SluiceServer:
        instance = SluiceServer(tmp_path / f"server{len(made)}", extra_env=env)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the session, migrated; dropped at its end."""
    import asyncio

    from sluice.store.postgres.migrate import migrate

    why = postgres_unavailable()
    if why is not None:
        service_missing(why)
    url = create_database()
    try:
        asyncio.run(migrate(url))
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE namespaces, entities, calls, callbacks, idempotency, dead_letters, blobs"
        )
    return pg_database
