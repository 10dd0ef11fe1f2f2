"""The delivery parts the catalogue chose (sluice/catalogue.py), opened and closed together:
the store's own queue (embedded: one process, or an API process and its worker process told
of each other's events over a unix socket), or NATS JetStream in front of the store's ledger
(any number of API, worker and scheduler processes), with call ends told across hosts on
NATS core subjects."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from nats.errors import NoRespondersError
from nats.js.errors import ServiceUnavailableError

from sluice.config import Settings
from sluice.errors import CannotStart
from sluice.notify.local import LocalEvents
from sluice.notify.waiters import Events, Waiters
from sluice.queue.base import Queue
from sluice.queue.jetstream import JetStream, JetStreamQueue
from sluice.queue.nats_connect import NatsClient, NatsTarget, connect


@dataclass(slots=True)
class Transport:
    settings: Settings
    #: what the engine and the worker put calls in and take them from
    queue: Queue
    #: the queue when it is JetStream in front of the ledger (SLUICE_QUEUE=nats://...)
    jetstream: JetStreamQueue | None = None
    nats: NatsClient | None = None
    stream: JetStream | None = None
    #: call ends and cancels between processes (None: there is one)
    events: Events | None = None
    #: the embedded store split in two processes (SLUICE_WORKER_PROCESS)
    local: LocalEvents | None = None

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
