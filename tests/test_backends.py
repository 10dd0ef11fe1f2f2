"""Configuration alone picks the store and queue: the SQLite file by default, PostgreSQL for
a postgresql:// URL; anything else is refused when the settings are read."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sluice.catalogue import build_backends, node_name
from sluice.config import Settings
from sluice.queue.postgres import PostgresQueue
from sluice.queue.sqlite import SqliteQueue
from sluice.store.postgres import PostgresStore
from sluice.store.sqlite import SqliteStore


def test_the_default_is_the_embedded_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLUICE_STORE", raising=False)
    store, queue = build_backends(Settings(data_dir=tmp_path))
    assert isinstance(store, SqliteStore)
    assert isinstance(queue, SqliteQueue)
    assert store.db is queue.db
    assert store.db.path == tmp_path / "sluice.db"


@pytest.mark.parametrize("url", ["postgresql://u:p@db:5432/sluice", "postgres://db/sluice"])
def test_a_postgresql_url_selects_postgresql(tmp_path: Path, url: str) -> None:
    settings = Settings(data_dir=tmp_path, store=url, migrate=True, sync="NORMAL")
    store, queue = build_backends(settings)
    assert isinstance(store, PostgresStore)
    assert isinstance(queue, PostgresQueue)
    assert store.db is queue.db
    assert (store.db.url, store.db.migrate, store.db.sync) == (url, True, "NORMAL")
    # the lease holder's name survives a restart on the same host and data dir
    assert queue.node == node_name(settings) == node_name(Settings(data_dir=tmp_path, store=url))


@pytest.mark.parametrize("value", ["mysql://db/sluice", "/var/lib/sluice.db", "redis://x"])
def test_other_stores_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="postgresql:// URL"):
        Settings(store=value)
