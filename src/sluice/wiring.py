"""The one place that picks backends and connects the parts."""

from __future__ import annotations

import logging
import os
from typing import Any

from sluice.backends import build_backends, node_name
from sluice.bootstrap import ensure_node_packages, platform_secret
from sluice.build.builder import Builder
from sluice.build.registries import registry_hosts, registry_networks
from sluice.config import Settings
from sluice.config_lists import parse_allowed
from sluice.engine.actions import Actions
from sluice.engine.alarms import Alarms
from sluice.engine.apis import Apis
from sluice.engine.apps import Apps
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
from sluice.function_libs import PYTHON_LIBS
from sluice.notify.callbacks import CallbackSender
from sluice.notify.destinations import Destinations
from sluice.notify.waiters import Waiters
from sluice.observe import metrics, spans
from sluice.paths import claim_work_dir, release_work_dir
from sluice.runtime.base import Runtime
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.interpreters import Interpreter
from sluice.runtime.pool import ProcessRuntime
from sluice.sandbox.base import Network, Sandbox
from sluice.sandbox.bwrap import BwrapSandbox, Limits, api_address
from sluice.sandbox.choose import choose_sandbox
from sluice.sandbox.rlimits import RlimitSandbox
from sluice.transport import Transport, node_lock, scheduler_lock
from sluice.worker.housekeeping import pruner, reaper, sweeper
from sluice.worker.loop import Worker
from sluice.worker.process import WorkerProcess
from sluice.worker.scheduler import Job, Scheduler

log = logging.getLogger("sluice")

#: the parts each `--role` runs
ROLES = {
    "all": frozenset({"api", "worker", "scheduler"}),
    "api": frozenset({"api"}),
    "worker": frozenset({"worker"}),
    "scheduler": frozenset({"scheduler"}),
}


def build_runtime(settings: Settings) -> Runtime:
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


def build_sandbox(sandbox: Sandbox, settings: Settings) -> Sandbox:
    """Where builds run: the functions' sandbox on the egress network, the package registries
    let through (a build runs its packages' scripts), or on the host's if so configured or
    if there is no egress here."""
    if settings.build_network == "egress" and isinstance(sandbox, BwrapSandbox):
        if sandbox.egress is not None:
            return sandbox.reaching(
                registry_networks(registry_hosts({**os.environ, "GOPROXY": settings.goproxy}))
            ).with_network(Network.EGRESS)
        log.warning("builds run on the host's network: there is no egress here (slirp4netns)")
    return sandbox.with_network(Network.HOST)


class Sluice:
    def __init__(self, settings: Settings, runtime: Runtime | None = None) -> None:
        self.settings = settings
        self.store, ledger = build_backends(settings)
        self.transport = Transport(settings, ledger)
        self.queue = self.transport.queue
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
        self.waiters = Waiters()
        sandbox = (
            self.runtime.sandbox if isinstance(self.runtime, ProcessRuntime) else RlimitSandbox()
        )
        self.builder = Builder(
            build_sandbox(sandbox, settings),
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
        self.worker = Worker(
            self.queue,
            self.runtime,
            self.execution,
            self.waiters,
            settings,
            long_poll=self.transport.jetstream is not None,
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
            self.store, self.queue, self.packages, self.waiters, settings, self.dispatcher
        )
        self.calls.feeds = self.alarms
        #: where callbacks may go: checked at submit by the dialects, and at send
        self.destinations = Destinations(settings)
        self.callbacks = CallbackSender(self.store, self.queue, settings, self.destinations)
        self.cancellation = Cancellation(self.store, self.queue, self.dispatcher, self.waiters)
        if self.transport.events is not None:
            self.cancellation.remote = self.transport.events.cancel_remote
        self.worker.sequences = Sequences(
            self.store, self.calls, settings, self.namespaces.platform_secret
        )
        self.worker.sequences.cancel = self.cancellation.call
        self.dead_letters = DeadLetters(self.store, self.calls)
        self.waiters.listeners.append(self.callbacks.wake)
        self.apps = Apps(
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
                self.transport.local.on_queued = self.worker.wake
                self.transport.local.serve_pool(self.runtime.warm, self.runtime.drop)
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
