"""The catalogue of Sluice's seams: each seam, the setting that picks its implementation,
and the implementations there are (as OpenWhisk's `whisk.spi` block lists its providers).

This is the only module that picks implementations from the settings: wiring.py connects
what it builds, transport.py opens and closes the delivery parts it chose, and the engine
and the dialects see the protocols alone. `SEAMS` says the same in data, for the docs
(docs/architecture.md, "Seams and their implementations") and their test.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from sluice.bootstrap import ensure_node_packages
from sluice.build.registries import registry_hosts, registry_networks
from sluice.config import Settings
from sluice.config_lists import parse_allowed
from sluice.function_libs import PYTHON_LIBS
from sluice.notify.events import NatsEvents
from sluice.notify.local import LocalEvents
from sluice.paths import claim_work_dir
from sluice.queue.base import Ledger
from sluice.queue.jetstream import JetStream, JetStreamQueue, Names
from sluice.queue.nats_connect import NatsClient
from sluice.runtime.base import Runtime
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.pool import ProcessRuntime
from sluice.sandbox.base import Network, Sandbox
from sluice.sandbox.bwrap import BwrapSandbox, Limits, api_address
from sluice.sandbox.choose import choose_sandbox
from sluice.sandbox.rlimits import RlimitSandbox
from sluice.store.base import Store
from sluice.store.postgres.db import is_postgres_url
from sluice.transport import Transport
from sluice.worker.lock import FileLock, Lock, PgAdvisoryLock

log = logging.getLogger("sluice")


@dataclass(frozen=True, slots=True)
class Seam:
    """One seam: its protocol, the setting that picks, and what each choice gives."""

    name: str
    protocol: str
    setting: str
    #: the choice (a setting's value, or the condition) -> the implementation's dotted name
    implementations: dict[str, str]


SEAMS: tuple[Seam, ...] = (
    Seam(
        "store",
        "sluice.store.base.Store",
        "SLUICE_STORE",
        {
            "unset: the SQLite file in the data dir": "sluice.store.sqlite.entities.SqliteStore",
            "a postgresql:// URL": "sluice.store.postgres.entities.PostgresStore",
        },
    ),
    Seam(
        "ledger: the store's own queue",
        "sluice.queue.base.Ledger",
        "SLUICE_STORE",
        {
            "SQLite": "sluice.store.sqlite.ledger.SqliteLedger",
            "PostgreSQL": "sluice.store.postgres.ledger.PostgresLedger",
        },
    ),
    Seam(
        "delivery: how calls reach workers",
        "sluice.queue.base.Queue",
        "SLUICE_QUEUE",
        {
            "unset: the store's ledger": "sluice.queue.base.Ledger",
            "a nats:// or tls:// URL: JetStream in front of the ledger": (
                "sluice.queue.jetstream.JetStreamQueue"
            ),
        },
    ),
    Seam(
        "events: call ends and cancels between processes",
        "sluice.notify.waiters.Events",
        "SLUICE_QUEUE, SLUICE_WORKER_PROCESS",
        {
            "SLUICE_WORKER_PROCESS: a unix socket to the worker process": (
                "sluice.notify.local.LocalEvents"
            ),
            "a nats:// URL: NATS core subjects": "sluice.notify.events.NatsEvents",
        },
    ),
    Seam(
        "sandbox: how a function process is held",
        "sluice.sandbox.base.Sandbox",
        "SLUICE_SANDBOX",
        {
            "auto or bwrap: bubblewrap where it can make namespaces": (
                "sluice.sandbox.bwrap.BwrapSandbox"
            ),
            "auto or landlock: Landlock and seccomp": "sluice.sandbox.landlock.LandlockSandbox",
            "none: environment and limits only": "sluice.sandbox.rlimits.RlimitSandbox",
        },
    ),
    Seam(
        "runtime: run one call in a process",
        "sluice.runtime.base.Runtime",
        "(one implementation)",
        {"always: the warm pool": "sluice.runtime.pool.ProcessRuntime"},
    ),
    Seam(
        "lock: one scheduler, one process per node",
        "sluice.worker.lock.Lock",
        "SLUICE_STORE",
        {
            "SQLite: a file beside the database": "sluice.worker.lock.FileLock",
            "PostgreSQL: an advisory lock": "sluice.worker.lock.PgAdvisoryLock",
        },
    ),
)


def uses_postgres(settings: Settings) -> bool:
    return is_postgres_url(settings.store)


def uses_nats(settings: Settings) -> bool:
    return settings.queue.startswith(("nats://", "tls://"))


def node_name(settings: Settings) -> str:
    """This process's name as a lease holder: the same after a restart on the same data dir."""
    return f"{socket.gethostname()}:{settings.data_dir}"


def build_backends(settings: Settings) -> tuple[Store, Ledger]:
    """A store and its ledger over one database (opened by the store's `open`)."""
    if uses_postgres(settings):
        from sluice.store.postgres.db import PgDatabase
        from sluice.store.postgres.entities import PostgresStore
        from sluice.store.postgres.ledger import PostgresLedger

        pg = PgDatabase(settings.store, settings.sync, settings.migrate, settings.store_pool_size)
        return PostgresStore(pg), PostgresLedger(pg, node_name(settings))

    from sluice.store.sqlite.db import Database
    from sluice.store.sqlite.entities import SqliteStore
    from sluice.store.sqlite.ledger import SqliteLedger

    db = Database(settings.db_path, settings.sync)
    return SqliteStore(db), SqliteLedger(db)


def build_transport(settings: Settings, ledger: Ledger) -> Transport:
    """How calls reach workers: JetStream in front of the ledger (any number of processes,
    call ends told on NATS core subjects), the ledger told of over a unix socket between an
    API process and its worker process, or the ledger alone (one process)."""
    if uses_nats(settings):
        nats = NatsClient()
        names = Names(settings.nats_stream, settings.nats_prefix)
        stream = JetStream(nats, names, settings.lease_seconds, settings.nats_max_deliver)
        jetstream = JetStreamQueue(ledger, stream, recover_own=uses_postgres(settings))
        events = NatsEvents(nats, settings.nats_prefix)
        return Transport(
            settings, jetstream, jetstream=jetstream, nats=nats, stream=stream, events=events
        )
    if settings.worker_process:
        local = LocalEvents(events_socket(settings))
        return Transport(settings, ledger, events=local, local=local)
    return Transport(settings, ledger)


def events_socket(settings: Settings) -> Path:
    return settings.data_dir / "run" / "events.sock"


def scheduler_lock(settings: Settings) -> Lock:
    """PostgreSQL's advisory lock when the store is there, else a file beside the SQLite one."""
    if uses_postgres(settings):
        return PgAdvisoryLock(settings.store)
    return FileLock(settings.data_dir / "scheduler.lock")


def node_lock(settings: Settings) -> Lock | None:
    """On PostgreSQL, a lock of the node's own, held while it runs calls: a start hands back
    the running calls the node's name holds (the queue's `recover`), which is only right once
    their holder is gone. (On one machine the data dir's lock says so; this covers two
    machines that share a host name and a data dir path, as containers may.)"""
    if not uses_postgres(settings):
        return None
    digest = hashlib.sha256(f"sluice node {node_name(settings)}".encode()).digest()
    return PgAdvisoryLock(settings.store, int.from_bytes(digest[:8], "big", signed=True))


def build_runtime(settings: Settings) -> ProcessRuntime:
    """The warm pool, its processes held by the sandbox SLUICE_SANDBOX picks (probed here by
    `choose_sandbox`: auto takes bubblewrap, else Landlock)."""
    node_modules = ensure_node_packages(
        settings.node_modules or settings.data_dir / "runtimes" / "node" / "node_modules"
    )
    # both must exist before the sandbox can hide them
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.client_config.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.builds_dir.mkdir(exist_ok=True)
    sandbox = choose_sandbox(
        settings.sandbox,
        hidden=[settings.data_dir, settings.client_config.parent],
        # the builds dir stays hidden: each process is launched seeing the dependency
        # environments of its own code alone (each launch names them)
        visible=[node_modules] if node_modules else [],
        network=Network(settings.function_network),
        api=api_address(settings.resolved_api_host()),
        limits=Limits(
            pids=settings.function_pids,
            open_files=settings.function_open_files,
            cpus=settings.function_cpus or None,
            tmp_mb=settings.function_tmp_mb,
            memory_mb=settings.memory_max_mb,
        ),
        uid=settings.function_uid,
        egress_allow=parse_allowed(settings.function_egress_allow),
        bwrap=settings.bwrap,
    )
    config = RuntimeConfig(
        idle_seconds=settings.idle_seconds,
        stem_cells=settings.stem_cells,
        max_processes=settings.max_processes,
        max_starting=settings.max_starting,
        node_path=(str(node_modules),) if node_modules else (),
        python_path=(str(PYTHON_LIBS),),
        work_dir=claim_work_dir(settings.resolved_work_dir, settings.data_dir),
        builds_dir=settings.builds_dir,
        runtimes=settings.runtimes,
    )
    return ProcessRuntime(config, sandbox)


def build_sandbox(runtime: Runtime, settings: Settings) -> Sandbox:
    """Where builds run: the functions' sandbox on the egress network, the package registries
    let through (a build runs its packages' scripts), or on the host's if so configured or
    if there is no egress here."""
    # a runtime handed in (tests, the bench) may hold no sandbox: builds then run unconfined
    sandbox = runtime.sandbox if isinstance(runtime, ProcessRuntime) else RlimitSandbox()
    if settings.build_network == "egress" and isinstance(sandbox, BwrapSandbox):
        if sandbox.egress is not None:
            return sandbox.reaching(
                registry_networks(registry_hosts({**os.environ, "GOPROXY": settings.goproxy}))
            ).with_network(Network.EGRESS)
        log.warning("builds run on the host's network: there is no egress here (slirp4netns)")
    return sandbox.with_network(Network.HOST)
