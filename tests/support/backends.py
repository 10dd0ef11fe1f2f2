"""The store and queue backends on real services, for the contract tests that run one body
on each (tests/store/test_contract.py, tests/queue/test_contract.py): a SQLite file, the
session's PostgreSQL database (emptied for each test), and JetStream (a stream of the test's
own) delivering the calls of a SQLite ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sluice.ids import CallId
from sluice.queue.base import Queue
from sluice.queue.jetstream import JetStream, JetStreamQueue, Names
from sluice.queue.nats_connect import connect
from sluice.records import Lease
from sluice.store.base import Candidate, Store
from sluice.store.postgres.db import PgDatabase
from sluice.store.postgres.entities import PostgresStore
from sluice.store.postgres.ledger import PostgresLedger
from sluice.store.sqlite.db import Database
from sluice.store.sqlite.entities import SqliteStore
from sluice.store.sqlite.ledger import SqliteLedger
from sluice.timing import now_ms
from tests.runtime.helpers import wait_until
from tests.support.nats import delete_stream

#: where entities and call records live
STORES = ("sqlite", "postgres")
#: how calls are delivered: polling the SQLite file or PostgreSQL, or JetStream's messages
QUEUES = ("sqlite", "postgres", "jetstream")


@dataclass(frozen=True, slots=True)
class Opened:
    """One process's view of a deployment: its store and its queue, over one database."""

    store: Store
    queue: Queue


class Deployment:
    """Where one test's entities and calls live; each `open()` is one more process on it (or
    the same one restarted)."""

    def __init__(self, kind: str, tmp_path: Path, pg_url: str = "", nats_url: str = "") -> None:
        self.kind = kind
        self.path = tmp_path / "sluice.db"
        self.pg_url = pg_url
        self.nats_url = nats_url
        stream = f"T{CallId.new().hex}"
        self.names = Names(stream, stream.lower())

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Opened]:
        store: Store
        queue: Queue
        if self.kind == "postgres":
            pg = PgDatabase(self.pg_url)
            store, queue = PostgresStore(pg), PostgresLedger(pg, "node")
        else:
            db = Database(self.path)
            store, queue = SqliteStore(db), SqliteLedger(db)
        await store.open()
        stream: JetStream | None = None
        try:
            if self.kind == "jetstream":
                stream = JetStream(await connect(self.nats_url, "test"), self.names, 30, 100)
                await stream.ensure_stream()
                assert isinstance(queue, SqliteLedger)
                queue = JetStreamQueue(queue, stream, poll_seconds=0.2)
            yield Opened(store, queue)
        finally:
            if stream is not None:
                await stream.close()
            await store.close()

    def remove(self) -> None:
        """What outlives the test on a shared server: its stream."""
        if self.kind == "jetstream":
            delete_stream(self.nats_url, self.names.stream)


def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Deployment:
    """The deployment the fixture's parameter names, its services asked of their fixtures
    (which skip, or in CI fail, when a service is missing)."""
    kind = str(request.param)
    pg_url = str(request.getfixturevalue("pg_url")) if kind == "postgres" else ""
    nats_url = str(request.getfixturevalue("nats_url")) if kind == "jetstream" else ""
    return Deployment(kind, tmp_path, pg_url, nats_url)


def admit_all(candidate: Candidate) -> bool:
    return True


async def take_until(
    queue: Queue,
    count: int,
    admit: Callable[[Candidate], bool] = admit_all,
    lease_ms: int = 60_000,
) -> list[Lease]:
    """Take until `count` calls are leased (JetStream hands messages over as they arrive, a
    polling queue all it has at once); fails after a deadline."""
    leases: list[Lease] = []

    async def enough() -> bool:
        leases.extend(await queue.take(now_ms(), lease_ms, 32, admit))
        return len(leases) >= count

    await wait_until(enough, f"{count} calls leased", timeout=20)
    return leases
