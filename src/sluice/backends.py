"""Picks the store and queue from the settings: the embedded SQLite file, or PostgreSQL.

Only this module knows the backends' classes; the engine and the dialects see the Store and
Queue protocols."""

from __future__ import annotations

import socket

from sluice.config import Settings
from sluice.queue.base import Queue
from sluice.store.base import Store
from sluice.store.pg_db import is_postgres_url


def uses_postgres(settings: Settings) -> bool:
    return is_postgres_url(settings.store)


def node_name(settings: Settings) -> str:
    """This process's name as a lease holder: the same after a restart on the same data dir."""
    return f"{socket.gethostname()}:{settings.data_dir}"


def build_backends(settings: Settings) -> tuple[Store, Queue]:
    """A store and a queue over one database (opened by the store's `open`)."""
    if uses_postgres(settings):
        from sluice.queue.pg_ledger import PostgresLedger
        from sluice.store.pg_db import PgDatabase
        from sluice.store.postgres import PostgresStore

        pg = PgDatabase(settings.store, settings.sync, settings.migrate, settings.store_pool_size)
        # the ledger also serves as JetStream's (SLUICE_QUEUE=nats://...)
        return PostgresStore(pg), PostgresLedger(pg, node_name(settings))

    from sluice.queue.sqlite import SqliteQueue
    from sluice.store.sqlite import SqliteStore
    from sluice.store.sqlite_db import Database

    db = Database(settings.db_path, settings.sync)
    return SqliteStore(db), SqliteQueue(db)
