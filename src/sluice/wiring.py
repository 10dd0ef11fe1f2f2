"""Connects the parts: each built once what it needs is, and handed it at construction.
Which implementation each seam gets is the catalogue's choice (sluice/catalogue.py)."""

from __future__ import annotations

from typing import Any

from sluice.bootstrap import platform_secret
from sluice.build.builder import Builder
from sluice.catalogue import (
    build_backends,
    build_runtime,
    build_sandbox,
    build_transport,
    node_lock,
    node_name,
    scheduler_lock,
)
from sluice.config import Settings
from sluice.dialects.fn.model import Apps
from sluice.engine.actions import Actions
from sluice.engine.alarms import Alarms
from sluice.engine.apis import Apis
from sluice.engine.calls import Calls
from sluice.engine.cancel import Cancellation
from sluice.engine.dead_letters import DeadLetters
from sluice.engine.dispatch import Dispatcher, RemoteWorkers
from sluice.engine.execution import Execution
from sluice.engine.namespaces import Namespaces
from sluice.engine.packages import Packages
from sluice.engine.rules import Rules
from sluice.engine.secrets import Secrets
from sluice.engine.sequences import SequenceCheck, Sequences
from sluice.engine.stock.install import StockPackages
from sluice.engine.triggers import Triggers
from sluice.errors import CannotStart
from sluice.notify.callbacks import CallbackSender
from sluice.notify.destinations import Destinations
from sluice.notify.waiters import Waiters
from sluice.observe import metrics, spans
from sluice.paths import release_work_dir
from sluice.runtime.base import Runtime
from sluice.runtime.interpreters import Interpreter
from sluice.worker.housekeeping import pruner, reaper, sweeper
from sluice.worker.loop import Worker
from sluice.worker.process import WorkerProcess
from sluice.worker.scheduler import Job, Scheduler

#: the parts each `--role` runs
ROLES = {
    "all": frozenset({"api", "worker", "scheduler"}),
    "api": frozenset({"api"}),
    "worker": frozenset({"worker"}),
    "scheduler": frozenset({"scheduler"}),
}


class Sluice:
    def __init__(self, settings: Settings, runtime: Runtime | None = None) -> None:
        """Each part is built once what it needs is, and handed it at construction; the
        implementations are the catalogue's picks (sluice/catalogue.py)."""
        self.settings = settings
        self.store, ledger = build_backends(settings)
        self.transport = build_transport(settings, ledger)
        self.queue = self.transport.queue
        events = self.transport.events
        #: what this process runs (`sluice serve --role`); the calls of an API process with
        #: a worker process of its own run there
        self.roles = ROLES[settings.role]
        self.worker_process: WorkerProcess | None = None
        if self.transport.local is not None and settings.role == "all":
            self.roles = self.roles - {"worker"}
            self.worker_process = WorkerProcess(settings, self.transport.local)
        #: held while this process runs calls on PostgreSQL as its node (see node_lock): by
        #: the worker process, where there is one
        self.node_lock = node_lock(settings) if "worker" in self.roles else None
        self.runtime = runtime or build_runtime(settings)
        self.builder = Builder(
            build_sandbox(self.runtime, settings),
            settings.builds_dir,
            settings.resolved_work_dir,
            settings.build_timeout_seconds,
            interpreter_of=self._interpreter_of,
            go_proxy=settings.goproxy,
        )
        self.packages = Packages(self.store)
        self.actions = Actions(
            self.store,
            settings,
            self.runtime.resolve_kind,
            self.builder.for_action,
            SequenceCheck(self.store, self.packages, settings),
            refuse_kind=self.runtime.served().refusal,
        )
        self.namespaces = Namespaces(self.store, platform_secret(settings.data_dir))
        self.secrets = Secrets(self.store, self.namespaces.platform_secret)
        self.rules = Rules(self.store, self.packages)
        self.apis = Apis(self.store)
        self.triggers = Triggers(self.store, self.queue, self.rules, self.packages, settings)
        self.execution = Execution(self.store, self.namespaces, settings, self.secrets)
        #: where callbacks may go: checked at submit by the dialects, and at send
        self.destinations = Destinations(settings)
        self.callbacks = CallbackSender(self.store, self.queue, settings, self.destinations)
        self.waiters = Waiters(
            listeners=[self.callbacks.wake],
            broadcast=events.publish if events is not None else None,
        )
        # the one cycle: the worker conducts sequences, whose steps are calls that Calls and
        # Cancellation dispatch to this same worker; the conductor gets those two as
        # callables, looked up when a sequence runs (wiring is done by then)
        sequences = Sequences(
            self.store,
            settings,
            self.namespaces.platform_secret,
            calls=lambda: self.calls,
            cancel=lambda namespace, call_id: self.cancellation.call(namespace, call_id),
        )
        self.worker = Worker(
            self.queue,
            self.runtime,
            self.execution,
            self.waiters,
            settings,
            long_poll=self.transport.jetstream is not None,
            sequences=sequences,
        )
        #: who runs the calls this process accepts: its worker, or the workers elsewhere
        self.dispatcher: Dispatcher = (
            self.worker
            if "worker" in self.roles
            else RemoteWorkers(self.transport.local.queued if self.transport.local else None)
        )
        self.alarms = Alarms(self.store, self.triggers, self.namespaces.platform_secret)
        #: /whisk.system/utils and samples, installed by the scheduler as the alarms are
        self.stock = StockPackages(self.store, self.actions)
        self.scheduler = Scheduler(
            self.alarms, self.dispatcher.wake, scheduler_lock(settings), self._housekeeping()
        )
        self.calls = Calls(
            self.store,
            self.queue,
            self.packages,
            self.waiters,
            settings,
            self.dispatcher,
            feeds=self.alarms,
        )
        self.cancellation = Cancellation(
            self.store,
            self.queue,
            self.dispatcher,
            self.waiters,
            remote=events.cancel_remote if events is not None else None,
        )
        self.dead_letters = DeadLetters(self.store, self.calls)
        #: Fn's apps and routes (the Fn dialect's model, over packages and actions)
        self.fn_apps = Apps(
            self.store, self.packages, self.actions, settings, build=self.builder.for_deploy
        )

    def _housekeeping(self) -> list[Job]:
        """The scheduler's jobs beyond alarms: forgetting calls past their retention; a
        worker reaps expired leases itself, with workers elsewhere the scheduler does; and
        it sweeps JetStream's lost publishes."""
        jobs = []
        retention_ms = int(self.settings.activation_retention.total_seconds() * 1000)
        if retention_ms > 0:
            jobs.append(pruner(self.store, retention_ms))
        if "worker" not in self.roles:
            jobs.append(reaper(self.queue, self.waiters, self.settings.max_attempts))
        jetstream = self.transport.jetstream
        if jetstream is not None:
            jobs.append(sweeper(jetstream, int(self.settings.nats_sweep_seconds * 1000)))
        return jobs

    async def start(self) -> None:
        spans.install(self.settings)
        # a worker process links to its API process first: that one listens once its store
        # is open, the schema made or migrated
        link_first = self.transport.local is not None and self.settings.role == "worker"
        try:
            if link_first:
                await self.transport.open(self.waiters)
            await self.store.open()
            if self.node_lock is not None and not await self.node_lock.acquire():
                raise CannotStart(
                    f"another Sluice runs calls as {node_name(self.settings)} on this store:"
                    " stop it first (or give this one another --data-dir)"
                )
            if not link_first:
                await self.transport.open(self.waiters)
        except BaseException:
            # refused (CannotStart) or interrupted: let go of what was opened
            await self.transport.close()
            await self.store.close()
            if self.node_lock is not None:
                await self.node_lock.release()
            raise
        if "worker" in self.roles:
            await self.runtime.start()
            if self.transport.local is not None:
                self.transport.local.serve_worker(
                    self.worker.wake, self.runtime.warm, self.runtime.drop
                )
            await self.worker.start()
            if self.transport.events is not None:
                await self.transport.events.serve_cancels(self.worker.cancel)
        if self.worker_process is not None:
            await self.worker_process.start()
        if "scheduler" in self.roles:
            await self.stock.install()
            await self.scheduler.start()
            await self.callbacks.start()

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop; running calls get `grace_seconds` (default: the setting) to finish."""
        grace = self.settings.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        await self.calls.stop_accepting()
        if "scheduler" in self.roles:
            await self.scheduler.stop()
        if self.worker_process is not None:
            await self.worker_process.stop(grace)
        if "worker" in self.roles:
            await self.worker.stop(grace)
            await self.runtime.close()
        if "scheduler" in self.roles:
            await self.callbacks.stop()
        await self.transport.close()
        await self.store.close()
        if self.node_lock is not None:
            await self.node_lock.release()
        metrics.remove()  # in the work dir: before it is released
        spans.uninstall()  # sends the spans still batched
        if "worker" in self.roles:
            release_work_dir(self.settings.resolved_work_dir)

    def _interpreter_of(self, kind: str) -> Interpreter | None:
        found = self.runtime.served().resolve(kind)
        return found.interpreter if found is not None else None

    async def warm_processes(self, namespace: str, path: str) -> int | None:
        """Live processes of the namespace's own action `path` (all versions), when this
        process or its worker process runs the calls; None when workers elsewhere do."""
        prefix = f"{namespace}/{namespace}/{path}@"
        if "worker" in self.roles:
            return self.runtime.warm(prefix)
        if self.transport.local is not None:
            return await self.transport.local.warm_remote(prefix)
        return None

    def drop_warm(self, namespace: str, path: str) -> None:
        """Stop the idle processes of the namespace's own action `path`, where they run here
        or in this process's worker process."""
        prefix = f"{namespace}/{namespace}/{path}@"
        if "worker" in self.roles:
            self.runtime.drop(prefix)
        elif self.transport.local is not None:
            self.transport.local.drop_remote(prefix)

    def runtime_kinds(self) -> dict[str, list[dict[str, Any]]]:
        """The kinds that run here, grouped by family, each family's default marked (the API
        info's `runtimes`)."""
        return self.runtime.served().by_family()
