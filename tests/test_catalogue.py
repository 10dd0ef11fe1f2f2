"""The catalogue of seams (sluice/catalogue.py): every implementation it lists exists and is
named in docs/architecture.md, and configuration alone picks them: the SQLite file by
default, PostgreSQL for a postgresql:// URL (anything else is refused when the settings are
read), JetStream in front of either store's ledger for a NATS URL; on PostgreSQL one
process at a time runs calls under a node's name, whatever its host says."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from sluice.catalogue import SEAMS, Seam, build_backends, build_transport, node_lock, node_name
from sluice.config import Settings
from sluice.notify.events import NatsEvents
from sluice.notify.local import LocalEvents
from sluice.queue.jetstream import JetStreamQueue
from sluice.store.postgres.entities import PostgresStore
from sluice.store.postgres.ledger import PostgresLedger
from sluice.store.sqlite.entities import SqliteStore
from sluice.store.sqlite.ledger import SqliteLedger

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
PG_URL = "postgresql://u:p@db:5432/sluice"


def _section() -> str:
    text = DOC.read_text()
    start = text.index("## Seams and their implementations")
    return text[start : text.index("\n## ", start + 1)]


def _find(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("seam", SEAMS, ids=[seam.name for seam in SEAMS])
def test_every_listed_implementation_exists_and_is_documented(seam: Seam) -> None:
    section = _section()
    for dotted in (seam.protocol, *seam.implementations.values()):
        assert isinstance(_find(dotted), type), dotted
        assert f"`{dotted.rpartition('.')[2]}`" in section, f"{dotted} is not in the docs"


@pytest.mark.parametrize("store", ["", PG_URL])
def test_jetstream_goes_in_front_of_either_stores_ledger(tmp_path: Path, store: str) -> None:
    settings = Settings(data_dir=tmp_path, store=store, queue="nats://127.0.0.1:4222")
    _store, ledger = build_backends(settings)
    transport = build_transport(settings, ledger)
    assert isinstance(transport.queue, JetStreamQueue)
    assert transport.jetstream is transport.queue
    assert transport.queue.ledger is ledger
    assert isinstance(transport.events, NatsEvents)
    assert transport.local is None


def test_the_embedded_queue_is_the_ledger_told_of_over_a_socket(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_process=True)
    _store, ledger = build_backends(settings)
    transport = build_transport(settings, ledger)
    assert transport.queue is ledger
    assert transport.jetstream is None
    assert isinstance(transport.local, LocalEvents)
    assert transport.events is transport.local
    alone = build_transport(Settings(data_dir=tmp_path, worker_process=False), ledger)
    assert (alone.queue, alone.events, alone.local) == (ledger, None, None)


def test_the_default_is_the_embedded_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLUICE_STORE", raising=False)
    store, queue = build_backends(Settings(data_dir=tmp_path))
    assert isinstance(store, SqliteStore)
    assert isinstance(queue, SqliteLedger)
    assert store.db is queue.db
    assert store.db.path == tmp_path / "sluice.db"


@pytest.mark.parametrize("url", ["postgresql://u:p@db:5432/sluice", "postgres://db/sluice"])
def test_a_postgresql_url_selects_postgresql(tmp_path: Path, url: str) -> None:
    settings = Settings(data_dir=tmp_path, store=url, migrate=True, sync="NORMAL")
    store, queue = build_backends(settings)
    assert isinstance(store, PostgresStore)
    assert isinstance(queue, PostgresLedger)
    assert store.db is queue.db
    assert (store.db.url, store.db.migrate, store.db.sync) == (url, True, "NORMAL")
    # the lease holder's name survives a restart on the same host and data dir
    assert queue.node == node_name(settings) == node_name(Settings(data_dir=tmp_path, store=url))


@pytest.mark.parametrize("value", ["mysql://db/sluice", "/var/lib/sluice.db", "redis://x"])
def test_other_stores_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="postgresql:// URL"):
        Settings(store=value)


def test_one_process_per_node_name_on_postgres(pg_database: str, tmp_path: Path) -> None:
    same = Settings(store=pg_database, data_dir=tmp_path / "a")
    other = Settings(store=pg_database, data_dir=tmp_path / "b")

    async def check() -> None:
        first, second, elsewhere = node_lock(same), node_lock(same), node_lock(other)
        assert first is not None
        assert second is not None
        assert elsewhere is not None
        assert await first.acquire()
        assert not await second.acquire()  # the same node: refused while the first runs
        assert await elsewhere.acquire()  # another data dir is another node
        await first.release()
        assert await second.acquire()
        for lock in (second, elsewhere):
            await lock.release()

    asyncio.run(check())


def test_no_node_lock_on_the_embedded_store(tmp_path: Path) -> None:
    assert node_lock(Settings(data_dir=tmp_path)) is None
