"""Warm processes: reuse per action and namespace (a process initialised for one namespace
never serves another), stem cells per kind, idle eviction, a cap on the total, several calls
at once on one process when the action allows it; and `ProcessRuntime`, the `Runtime` built
on them."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from sluice.kinds import Family, calls_per_process
from sluice.observe import metrics
from sluice.runtime.base import ActionCode, Outcome, RunRequest, RunResult, code_stem
from sluice.runtime.blackbox import Blackbox
from sluice.runtime.bundle import Deps, zip_deps
from sluice.runtime.calls import run_warm
from sluice.runtime.capacity import SHUTTING_DOWN, Capacity, CapacityClosed
from sluice.runtime.child import sweep_homes
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.fn import FnRuntime
from sluice.runtime.fn_command import Interpreters
from sluice.runtime.http_fn import HttpFunctions
from sluice.runtime.interpreters import discover, report
from sluice.runtime.kinds import Kind, Kinds, available_kinds, find_node, python_runner_script
from sluice.runtime.memory import MemoryWatch
from sluice.runtime.process import Launcher, RuntimeProcess, State
from sluice.runtime.process_fn import ProcessFunctions
from sluice.runtime.results import failure
from sluice.runtime.settings import FamilySettings
from sluice.runtime.warm import Background, IdleProcesses
from sluice.sandbox.base import Sandbox
from sluice.sandbox.rlimits import RlimitSandbox
from sluice.timing import now_ms

log = logging.getLogger("sluice.runtime")

#: processes are interchangeable before init when they share kind and Node.js heap size
Launch = tuple[str, int]


class PoolClosed(CapacityClosed):
    pass


@dataclass
class PoolSnapshot:
    """Pids per state, for tests and diagnostics."""

    idle: dict[str, list[int]] = field(default_factory=dict)
    stems: dict[str, list[int]] = field(default_factory=dict)
    busy: list[int] = field(default_factory=list)
    total: int = 0


class Pool:
    def __init__(
        self, launcher: Launcher, capacity: Capacity, stem_cells: int, idle_seconds: float
    ) -> None:
        self.launcher = launcher
        #: the slots and starts shared with the other warm families
        self.capacity = capacity
        self.stem_cells = max(0, stem_cells)
        self.idle_seconds = idle_seconds
        #: initialised processes no call runs on, per ActionCode.process_key
        self._idle = IdleProcesses[str, RuntimeProcess](
            capacity, _alive, self._evict, expire=self.discard
        )
        #: busy processes of an action with concurrency > 1 that can take one more call
        self._open: dict[str, list[RuntimeProcess]] = {}
        #: one caller at a time finds or starts a process for a shared action, so that calls
        #: arriving together fill one process before the next is started
        self._sharing: dict[str, tuple[asyncio.Lock, int]] = {}
        #: processes started before any init, for the next cold call of their launch
        self._stems = IdleProcesses[Launch, RuntimeProcess](
            capacity, _alive, self._evict, expire=self.discard, metered=False
        )
        self._stems_starting: Counter[Launch] = Counter()
        self._all: set[RuntimeProcess] = set()
        #: slots this pool holds: live processes and processes being started
        self._count = 0
        self._background = Background()
        self._closing = False

    @staticmethod
    def heap_mb(kind: Kind, memory_mb: int) -> int:
        """Node's heap size is fixed at launch; other kinds start the same for any limit."""
        return memory_mb if kind.family is Family.NODEJS else 0

    async def acquire(self, kind: Kind, action: ActionCode) -> RuntimeProcess:
        """A process for one call of `action`: warm (`key` set), being initialised by another
        call of the action (`initialising` set) or not yet initialised."""
        if self._closing:
            raise PoolClosed
        concurrency = calls_per_process(kind.name, action.concurrency)
        if concurrency == 1:
            return await self._acquire_own(kind, action)
        key = action.process_key
        lock, users = self._sharing.get(key) or (asyncio.Lock(), 0)
        self._sharing[key] = (lock, users + 1)
        try:
            async with lock:
                return await self._acquire_shared(kind, action, concurrency)
        finally:
            lock, users = self._sharing[key]
            if users == 1:
                del self._sharing[key]
            else:
                self._sharing[key] = (lock, users - 1)

    async def _acquire_shared(
        self, kind: Kind, action: ActionCode, concurrency: int
    ) -> RuntimeProcess:
        while True:
            joined = self._join(action.process_key, concurrency)
            if joined is not None:
                return joined
            if self.capacity.room():
                break
            await self._wait_for_space()  # a call ending makes room in a process, or a slot
        process = await self._acquire_own(kind, action)
        if process.alive:
            self._open.setdefault(action.process_key, []).append(process)
        return process

    def _join(self, key: str, concurrency: int) -> RuntimeProcess | None:
        """The busiest live process of `key` with room for one more call."""
        stack = self._open.get(key, [])
        for process in sorted(stack, key=_calls, reverse=True):
            if process.alive and process.calls < concurrency:
                process.calls += 1
                if process.calls == concurrency:
                    self._close_to_calls(process)
                self._idle.joined(process)
                return process
        return None

    def _close_to_calls(self, process: RuntimeProcess) -> None:
        for key, stack in list(self._open.items()):
            if process in stack:
                stack.remove(process)
                if not stack:
                    del self._open[key]

    async def _acquire_own(self, kind: Kind, action: ActionCode) -> RuntimeProcess:
        """A process no call is running on."""
        warm = self._idle.take(action.process_key)
        if warm is not None:
            self._checkout(warm)
            return warm
        self._drop_stale(action.process_key)
        launch = (kind.name, self.heap_mb(kind, action.memory_mb))
        # a stem cell was launched seeing no builds: code importing some gets a process of
        # its own, launched seeing its environments (and none of anyone else's)
        deps = await self._deps(action)
        # nor a network other than the server's, nor any secret
        fresh = deps.dirs or action.network is not None or bool(action.secrets)
        stem = self._stems.take(launch) if not fresh else None
        if stem is not None:
            self._checkout(stem)
            self.replenish(kind, launch[1])
            return stem
        await self._reserve()
        try:
            async with self.capacity.starting:
                process = await RuntimeProcess.start(
                    kind,
                    launch[1],
                    self.launcher,
                    deps,
                    network=action.network,
                    secrets=action.secrets,
                )
        except BaseException:
            self._free_slot()
            raise
        self._adopt(process)
        self._checkout(process)
        return process

    async def _deps(self, action: ActionCode) -> Deps:
        """The dependency environments `action`'s zip imports (its owner's builds)."""
        builds = self.launcher.builds_dir
        if not action.binary or builds is None:
            return Deps()
        return await asyncio.to_thread(zip_deps, action.code, builds, action.owner)

    def release(self, process: RuntimeProcess, key: str, replicas: int | None = None) -> None:
        """A call of `key` (an ActionCode.process_key) on `process` is over; the process may
        serve the next: kept warm without an idle timeout while fewer than `replicas` of
        `key` are idle, not kept at all when `replicas` is 0."""
        process.calls -= 1
        if self._closing or not process.alive or process.key != key or replicas == 0:
            self.discard(process)
            return
        if process.calls > 0:  # others still run on it: it has room again
            if process.state is State.BUSY and process not in self._open.get(key, []):
                self._open.setdefault(key, []).append(process)
            self.capacity.wake()
            return
        self._close_to_calls(process)
        process.state = State.IDLE
        surplus = replicas is None or self._idle.count(key) + 1 > replicas
        keep = self.idle_seconds if surplus or self._superseded(key) else None
        self._idle.put(key, process, keep)

    def warm(self, prefix: str) -> int:
        """Live processes initialised for the keys starting with `prefix`."""
        return sum(
            1
            for process in self._all
            if process.key is not None and process.key.startswith(prefix) and process.alive
        )

    def _superseded(self, key: str) -> bool:
        """Whether a process of another version of `key`'s code has started since."""
        stem = code_stem(key)
        return any(
            p.key is not None and p.key != key and code_stem(p.key) == stem for p in self._all
        )

    def _drop_stale(self, key: str) -> None:
        """Stop the idle processes of the other versions of `key`'s code (kept warm as
        replicas they would have no idle timeout)."""
        stem = code_stem(key)
        self._idle.stop_where(
            lambda other: other != key and other.startswith(stem) and code_stem(other) == stem
        )

    def drop(self, prefix: str) -> None:
        """Stop the idle processes of the keys starting with `prefix`."""
        self._idle.stop_where(lambda key: key.startswith(prefix))

    def discard(self, process: RuntimeProcess) -> None:
        """Stop `process` for good (it failed, timed out, is over a limit or is surplus); its
        slot is given back once it has exited."""
        if process.state is State.GONE:
            return
        held = self._forget(process)
        if held:
            self.capacity.stopping()
        self._background.run(self._close(process, held))

    async def _close(self, process: RuntimeProcess, held: bool) -> None:
        try:
            await process.close()
        finally:
            if held:
                self._count -= 1
                self.capacity.exited()

    def replenish(self, kind: Kind, heap_mb: int) -> None:
        """Start stem cells of `kind` in the background until there are `stem_cells`."""
        launch = (kind.name, heap_mb)
        if self._closing or not kind.warm:
            return
        missing = self.stem_cells - self._stems.count(launch) - self._stems_starting[launch]
        for _ in range(missing):
            if not self.capacity.take():
                return
            self._count += 1
            self._stems_starting[launch] += 1
            self._background.run(self._start_stem(kind, launch))

    def snapshot(self) -> PoolSnapshot:
        snap = PoolSnapshot(total=self._count)
        for key, stack in self._idle.by_key().items():
            snap.idle[key] = [process.pid for process in stack]
        for (kind, _), stems in self._stems.by_key().items():
            snap.stems.setdefault(kind, []).extend(process.pid for process in stems)
        snap.busy = [process.pid for process in self._all if process.state is State.BUSY]
        return snap

    async def close(self) -> None:
        self._closing = True
        self.capacity.wake()  # its waiters see it closing
        for process in list(self._all):
            self.discard(process)
        await self._background.finish()

    async def _start_stem(self, kind: Kind, launch: Launch) -> None:
        try:
            async with self.capacity.starting:
                process = await RuntimeProcess.start(kind, launch[1], self.launcher)
        except Exception:
            log.exception("could not start a %s stem cell", kind.name)
            self._free_slot()
            return
        finally:
            self._stems_starting[launch] -= 1
        self._adopt(process)
        if self._closing:
            self.discard(process)
            return
        process.state = State.STEM
        self._stems.put(launch, process, None)

    def _adopt(self, process: RuntimeProcess) -> None:
        """A started process takes the slot reserved for it."""
        self._all.add(process)
        process.on_exit = self._exited
        metrics.pool_size(len(self._all))

    def _checkout(self, process: RuntimeProcess) -> None:
        process.state = State.BUSY
        process.calls = 1

    def _exited(self, process: RuntimeProcess) -> None:
        # a busy process is handled by its call; an idle one or a stem cell just goes
        if process.state is State.IDLE:
            self.discard(process)
        elif process.state is State.STEM:
            self.discard(process)
            self.replenish(process.kind, process.heap_mb)

    def _forget(self, process: RuntimeProcess) -> bool:
        """Out of every list; whether it held a slot (the caller's to give back)."""
        self._close_to_calls(process)
        self._idle.remove(process)
        self._stems.remove(process)
        process.state = State.GONE
        if process not in self._all:
            return False
        self._all.discard(process)
        metrics.pool_size(len(self._all))
        return True

    async def _reserve(self) -> None:
        """Take a slot for a new process: the least recently used idle process or stem cell
        of any family is stopped when all are taken, or the call waits until one ends."""
        if self._closing:
            raise PoolClosed
        try:
            await self.capacity.reserve()
        except CapacityClosed:
            raise PoolClosed from None
        if self._closing:
            self.capacity.release()
            raise PoolClosed
        self._count += 1

    async def _wait_for_space(self) -> None:
        await self.capacity.wait()
        if self._closing:
            raise PoolClosed

    def _evict(self, process: RuntimeProcess) -> None:
        process.kill()  # at once: its slot goes to a process about to start, once it exits
        self.discard(process)

    def _free_slot(self) -> None:
        """A slot reserved for a process that did not start (its start awaited its end)."""
        self._count -= 1
        self.capacity.release()


def _alive(process: RuntimeProcess) -> bool:
    return process.alive


def _calls(process: RuntimeProcess) -> int:
    return process.calls


class ProcessRuntime:
    """Runs Node.js and Python functions in warm processes, blackbox zips per call."""

    def __init__(self, config: RuntimeConfig, sandbox: Sandbox | None = None) -> None:
        self.config = config
        self.sandbox: Sandbox = sandbox or RlimitSandbox()
        node = find_node(config.node_binary)
        found = discover(config.runtimes)
        report(found)
        self._kinds = available_kinds(found)
        self.memory = MemoryWatch(config.memory_sample_seconds)
        #: one cap on every warm family's processes together
        self.capacity = Capacity(config.max_processes, config.max_starting)
        self.pool = Pool(
            Launcher(
                self.sandbox,
                config.work_dir,
                node,
                config.node_path,
                config.python_path,
                config.builds_dir,
            ),
            self.capacity,
            stem_cells=config.stem_cells,
            idle_seconds=config.idle_seconds,
        )
        settings = FamilySettings(
            sandbox=self.sandbox,
            work_dir=config.work_dir,
            memory=self.memory,
            tools=Interpreters(
                node=node, node_path=config.node_path, python_path=config.python_path
            ),
            builds_dir=config.builds_dir,
            idle_seconds=config.idle_seconds,
            capacity=self.capacity,
            max_unzipped=config.max_unzipped_bytes,
        )
        self.blackbox = Blackbox(settings)
        self.fn = FnRuntime(settings)
        self.processes = ProcessFunctions(settings)
        self.http = HttpFunctions(settings)

    def resolve_kind(self, kind: str) -> str | None:
        found = self._kinds.resolve(kind)
        return found.name if found is not None else None

    def kinds(self) -> list[str]:
        return self._kinds.names()

    def served(self) -> Kinds:
        return self._kinds

    async def start(self) -> None:
        self.config.work_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(sweep_homes, self.config.work_dir)
        # compiled now rather than in the first cold start (and off the event loop)
        await asyncio.to_thread(python_runner_script)
        for name in self._kinds.names():
            kind = self._kinds.resolve(name)
            if kind is not None and kind.warm:
                self.pool.replenish(kind, self.pool.heap_mb(kind, self.config.stem_memory_mb))

    async def run(self, request: RunRequest) -> RunResult:
        start_ms = now_ms()
        kind = self._kinds.resolve(request.action.kind)
        if kind is None:
            # no reasons here: a web action's anonymous caller sees this (they name paths)
            message = f"The action kind '{request.action.kind}' is not installed on this server."
            return failure(Outcome.PLATFORM_ERROR, message, None, start_ms)
        if kind.family is Family.FN:
            return await self.fn.run(kind, request, start_ms)
        if kind.family is Family.PROCESS:
            return await self.processes.run(request, start_ms)
        if kind.family is Family.HTTP:
            return await self.http.run(request, start_ms)
        if not kind.warm:
            return await self.blackbox.run(request, start_ms)
        try:
            process = await self.pool.acquire(kind, request.action)
        except PoolClosed:
            return failure(Outcome.PLATFORM_ERROR, SHUTTING_DOWN, None, start_ms)
        except OSError as exc:
            message = f"The runtime could not start a {kind.name} process: {exc}"
            return failure(Outcome.PLATFORM_ERROR, message, None, start_ms)
        reuse = False
        try:
            result, reuse = await run_warm(process, request, start_ms, self.config, self.memory)
            return result
        except asyncio.CancelledError:
            # a shared process goes on serving its other calls; one of its own is killed
            key = request.action.process_key
            reuse = process.shared and process.alive and process.key == key
            raise
        finally:
            if reuse:
                self.pool.release(process, request.action.process_key, request.action.replicas)
            else:
                self.pool.discard(process)

    def warm(self, prefix: str) -> int:
        return self.pool.warm(prefix) + self.http.warm(prefix)

    def drop(self, prefix: str) -> None:
        self.pool.drop(prefix)
        self.http.drop(prefix)

    async def close(self) -> None:
        self.capacity.close()  # calls waiting for a slot end now
        await self.pool.close()
        await self.fn.close()
        await self.http.close()
        await self.memory.close()
        self.sandbox.close()
