"""The one place that picks backends and connects the parts."""

from __future__ import annotations

from typing import Any

from sluice.backends import build_backends
from sluice.bootstrap import ensure_node_packages, platform_secret
from sluice.build.builder import Builder
from sluice.config import Settings
from sluice.engine.actions import Actions
from sluice.engine.alarms import Alarms
from sluice.engine.apps import Apps
from sluice.engine.calls import Calls
from sluice.engine.cancel import Cancellation
from sluice.engine.dead_letters import DeadLetters
from sluice.engine.dispatch import Dispatcher, RemoteWorkers
from sluice.engine.execution import Execution
from sluice.engine.namespaces import Namespaces
from sluice.engine.packages import Packages
from sluice.engine.rules import Rules
from sluice.engine.triggers import Triggers
from sluice.function_libs import PYTHON_LIBS
from sluice.notify.callbacks import CallbackSender
from sluice.notify.destinations import Destinations
from sluice.notify.waiters import Waiters
from sluice.observe import metrics
from sluice.paths import claim_work_dir, release_work_dir
from sluice.runtime.base import Runtime
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.pool import ProcessRuntime
from sluice.sandbox.base import Network
from sluice.sandbox.bwrap import Limits, api_address, choose_sandbox
from sluice.sandbox.rlimits import RlimitSandbox
from sluice.transport import Transport, scheduler_lock
from sluice.worker.housekeeping import reaper, sweeper
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
    )
    config = RuntimeConfig(
        idle_seconds=settings.idle_seconds,
        stem_cells=settings.stem_cells,
        max_processes=settings.max_processes,
        node_path=(str(node_modules),) if node_modules else (),
        python_path=(str(PYTHON_LIBS),),
        work_dir=claim_work_dir(settings.resolved_work_dir, settings.data_dir),
        builds_dir=settings.builds_dir,
    )
    return ProcessRuntime(config, sandbox)


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
        if settings.worker_process and settings.role == "all":
            self.roles = self.roles - {"worker"}
            self.worker_process = WorkerProcess(settings)
        self.runtime = runtime or build_runtime(settings)
        self.waiters = Waiters()
        sandbox = (
            self.runtime.sandbox if isinstance(self.runtime, ProcessRuntime) else RlimitSandbox()
        )
        self.builder = Builder(
            # a build fetches its packages from the registries
            sandbox.with_network(Network.HOST),
            settings.builds_dir,
            settings.resolved_work_dir,
            settings.build_timeout_seconds,
        )
        self.actions = Actions(
            self.store, settings, self.runtime.resolve_kind, self.builder.for_action
        )
        self.namespaces = Namespaces(self.store, platform_secret(settings.data_dir))
        self.packages = Packages(self.store)
        self.rules = Rules(self.store)
        self.triggers = Triggers(self.store, self.queue, self.rules, self.packages, settings)
        self.execution = Execution(self.store, self.namespaces, settings)
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
        self.dead_letters = DeadLetters(self.store, self.calls)
        self.waiters.listeners.append(self.callbacks.wake)
        self.apps = Apps(
            self.store, self.packages, self.actions, settings, build=self.builder.for_deploy
        )

    def _housekeeping(self) -> list[Job]:
        """The scheduler's jobs beyond alarms: a worker reaps expired leases itself; with
        workers elsewhere the scheduler does, and it sweeps JetStream's lost publishes."""
        jobs = []
        if "worker" not in self.roles:
            jobs.append(reaper(self.queue, self.waiters, self.settings.max_attempts))
        jetstream = self.transport.jetstream
        if jetstream is not None:
            jobs.append(sweeper(jetstream, int(self.settings.nats_sweep_seconds * 1000)))
        return jobs

    async def start(self) -> None:
        try:
            await self.store.open()
            await self.transport.open(self.waiters)
        except BaseException:
            # refused (CannotStart) or interrupted: let go of what was opened
            await self.transport.close()
            await self.store.close()
            raise
        if "worker" in self.roles:
            await self.runtime.start()
            if self.transport.local is not None:
                self.transport.local.on_queued = self.worker.wake
            await self.worker.start()
            if self.transport.events is not None:
                await self.transport.events.serve_cancels(self.worker.cancel)
        if self.worker_process is not None:
            await self.worker_process.start()
        if "scheduler" in self.roles:
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
        metrics.remove()  # in the work dir: before it is released
        if "worker" in self.roles:
            release_work_dir(self.settings.resolved_work_dir)

    def runtime_kinds(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for kind in self.runtime.kinds():
            family = kind.partition(":")[0]
            out.setdefault(family, []).append({"kind": kind, "default": True})
        return out
