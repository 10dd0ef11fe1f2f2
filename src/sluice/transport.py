"""Picks how calls reach workers: the store's own queue (embedded: one process, or an API
process and its worker process told of each other's events over a unix socket), or NATS
JetStream in front of the store's ledger (any number of API, worker and scheduler processes),
with call ends told across hosts on NATS core subjects."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import cast

from nats.errors import NoRespondersError
from nats.js.errors import ServiceUnavailableError

from sluice.backends import node_name
from sluice.config import Settings
from sluice.errors import CannotStart
from sluice.notify.events import NatsEvents
from sluice.notify.local import LocalEvents
from sluice.notify.waiters import Events, Waiters
from sluice.queue.base import Ledger, Queue
from sluice.queue.jetstream import JetStream, JetStreamQueue, Names
from sluice.queue.nats_connect import NatsClient, NatsTarget, connect
from sluice.store.pg_db import is_postgres_url
from sluice.worker.lock import FileLock, Lock, PgAdvisoryLock


def uses_nats(settings: Settings) -> bool:
    return settings.queue.startswith(("nats://", "tls://"))


class Transport:
    def __init__(self, settings: Settings, ledger: Queue) -> None:
        self.settings = settings
        self.nats: NatsClient | None = None
        self.stream: JetStream | None = None
        self.events: Events | None = None
        #: the embedded store split in two processes (SLUICE_WORKER_PROCESS)
        self.local: LocalEvents | None = None
        self.queue: Queue = ledger
        if uses_nats(settings):
            if not hasattr(ledger, "claim_ids"):
                raise ValueError(f"the store {type(ledger).__name__} cannot be a JetStream ledger")
            self.nats = NatsClient()
            names = Names(settings.nats_stream, settings.nats_prefix)
            self.stream = JetStream(
                self.nats, names, settings.lease_seconds, settings.nats_max_deliver
            )
            self.queue = JetStreamQueue(
                cast(Ledger, ledger), self.stream, recover_own=is_postgres_url(settings.store)
            )
            self.events = NatsEvents(self.nats, settings.nats_prefix)
        elif settings.worker_process:
            self.local = LocalEvents(events_socket(settings))
            self.events = self.local

    @property
    def jetstream(self) -> JetStreamQueue | None:
        return self.queue if isinstance(self.queue, JetStreamQueue) else None

    async def open(self, waiters: Waiters) -> None:
        if self.local is not None:
            if self.settings.role == "worker":
                await self.local.connect()
            else:
                await self.local.listen()
            await self.local.start(waiters)
        if self.nats is None or self.stream is None or self.events is None:
            return
        name = f"sluice-{self.settings.role}@{socket.gethostname()}"
        jetstream = self.jetstream
        target = nats_target(self.settings)
        await connect(target, name, self.nats, jetstream.republish if jetstream else None)
        try:
            await self.stream.ensure_stream()
        except (NoRespondersError, ServiceUnavailableError) as exc:
            raise CannotStart(
                f"NATS at {target.shown}: JetStream does not answer this user: start nats-server"
                " with JetStream on, and enable it for the user's account (jetstream: enabled)"
            ) from exc
        await self.events.start(waiters)

    async def close(self) -> None:
        if self.events is not None:
            await self.events.stop()
        if self.stream is not None:
            await self.stream.close()


def nats_target(settings: Settings) -> NatsTarget:
    return NatsTarget.parse(
        settings.queue,
        creds=settings.nats_creds,
        nkey_seed=settings.nats_nkey_seed,
        tls_ca=settings.nats_tls_ca,
        tls_cert=settings.nats_tls_cert,
        tls_key=settings.nats_tls_key,
    )


def events_socket(settings: Settings) -> Path:
    return settings.data_dir / "run" / "events.sock"


def scheduler_lock(settings: Settings) -> Lock:
    """PostgreSQL's advisory lock when the store is there, else a file beside the SQLite one."""
    if is_postgres_url(settings.store):
        return PgAdvisoryLock(settings.store)
    return FileLock(settings.data_dir / "scheduler.lock")


def node_lock(settings: Settings) -> Lock | None:
    """On PostgreSQL, a lock of the node's own, held while it runs calls: a start hands back
    the running calls the node's name holds (the queue's `recover`), which is only right once
    their holder is gone. (On one machine the data dir's lock says so; this covers two
    machines that share a host name and a data dir path, as containers may.)"""
    if not is_postgres_url(settings.store):
        return None
    digest = hashlib.sha256(f"sluice node {node_name(settings)}".encode()).digest()
    return PgAdvisoryLock(settings.store, int.from_bytes(digest[:8], "big", signed=True))
