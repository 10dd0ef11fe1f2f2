"""The worker process of an embedded Sluice (`SLUICE_WORKER_PROCESS`), seen from the API
process: started with the server, started again when it dies, stopped with the server.

The first one is forked from the API process before its event loop starts (`fork_worker`):
it starts without importing Sluice again, a second of CPU, in parallel with the API
process's own start. Those started again are new interpreters: they get this process's
settings on their stdin (they may hold the store's password, which must not show in a
command line or environment). Either runs them as the `worker` role (cli/worker_child.py).

The server is ready once its worker process is: `start` waits until the worker process
says so over the events link (notify/local.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Protocol

from sluice.config import Settings
from sluice.errors import CannotStart
from sluice.notify.local import LocalEvents
from sluice.observe import metrics
from sluice.runtime.base import Runtime

log = logging.getLogger("sluice.worker")

#: the pause before starting a worker process again, doubled while it keeps dying young
_RESTART_MIN_S, _RESTART_MAX_S = 0.2, 10.0
#: a worker process that lived this long died of something else than its start-up
_HEALTHY_S = 30.0


class Child(Protocol):
    """What is used of a worker process: asyncio's Process, or a forked one (`Forked`)."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    async def wait(self) -> int: ...
    def send_signal(self, sig: int) -> None: ...
    def kill(self) -> None: ...


class Forked:
    """A worker process forked from this one, waited for through a pidfd (asyncio's child
    watchers know only the processes they started)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd = os.pidfd_open(pid)
        self._exited: asyncio.Future[int] | None = None

    async def wait(self) -> int:
        if self.returncode is not None:
            return self.returncode
        if self._exited is None:
            loop = asyncio.get_running_loop()
            self._exited = loop.create_future()
            loop.add_reader(self._pidfd, self._reap)
        return await asyncio.shield(self._exited)

    def _reap(self) -> None:
        asyncio.get_running_loop().remove_reader(self._pidfd)
        try:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reaped elsewhere: its status is lost
            self.returncode = -1
        os.close(self._pidfd)
        if self._exited is not None and not self._exited.done():
            self._exited.set_result(self.returncode)

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            signal.pidfd_send_signal(self._pidfd, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


#: a worker process's life, given its settings, the API process's pid and the runtime to run
#: calls on; its exit status (cli/worker_child.py's `run`, which wires a whole Sluice)
WorkerLife = Callable[[Settings, int, Runtime], int]


def fork_worker(
    settings: Settings, runtime: Runtime, close: list[socket.socket], life: WorkerLife
) -> Forked | None:
    """The first worker process, forked while this process has no thread and no event loop
    yet (what fork copies is then sound): it lives `life` on `runtime`, built but not
    started (its interpreters found, its sandbox chosen), and closes `close` (this process's
    listening socket). None when threads already run: `start` then starts a new one."""
    if threading.active_count() > 1:
        return None
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid != 0:
        return Forked(pid)
    code = 1
    try:  # the child: never back into the API process's code
        for sock in close:
            sock.close()
        code = life(settings.model_copy(update={"role": "worker"}), parent, runtime)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


class WorkerProcess:
    def __init__(self, settings: Settings, link: LocalEvents) -> None:
        self.settings = settings.model_copy(update={"role": "worker"})
        #: the events link, which tells when the worker process is ready
        self.link = link
        self.process: Child | None = None
        #: the first worker process, forked before the event loop started (`fork_worker`)
        self.forked: Forked | None = None
        self._supervising: asyncio.Task[None] | None = None
        self._stopping = False
        #: descriptors the worker process inherits: the data dir's lock, so that it is not
        #: free while a worker process of this server may still be running calls
        self.keep_fds: tuple[int, ...] = ()

    async def start(self) -> None:
        """Start the worker process (or adopt the forked one); return once it is ready."""
        process: Child = self.forked or await self._spawn()
        self.forked = None
        self.process = process
        ready = asyncio.ensure_future(self.link.ready.wait())
        exited = asyncio.ensure_future(process.wait())
        try:
            await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            exited.cancel()
        if not self.link.ready.is_set():
            raise CannotStart(
                f"the worker process exited ({process.returncode}) before it was ready:"
                " see its lines (tagged [worker]) above"
            )
        self._supervising = asyncio.create_task(self._supervise(), name="worker-process")

    async def _spawn(self) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sluice.cli.worker_child",
            stdin=asyncio.subprocess.PIPE,
            pass_fds=self.keep_fds,
        )
        assert process.stdin is not None
        process.stdin.write(self.settings.model_dump_json().encode())
        process.stdin.close()
        log.info("worker process %d started", process.pid)
        return process

    async def _supervise(self) -> None:
        pause = _RESTART_MIN_S
        loop = asyncio.get_running_loop()
        while self.process is not None:
            started = loop.time()
            code = await self.process.wait()
            metrics.process_gone(self.process.pid)  # its pool's processes are gone with it
            if self._stopping:
                return
            # its calls are handed back by the next one's start (the queue's recover)
            pause = _RESTART_MIN_S if loop.time() - started > _HEALTHY_S else pause
            if code == 0:  # stopped as told, by someone else: a whole group's SIGTERM (systemd)
                log.warning(
                    "worker process %d was stopped from outside; another in %.1f s unless this "
                    "server stops too",
                    self.process.pid,
                    pause,
                )
            else:
                log.error("worker process %d exited (%s); starting another", self.process.pid, code)
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RESTART_MAX_S)
            if self._stopping:
                return
            with contextlib.suppress(OSError):
                self.process = await self._spawn()

    async def stop(self, grace_seconds: float) -> None:
        """Let its running calls finish (within the grace), then it exits."""
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace_seconds + 5)
            except TimeoutError:
                log.error("worker process %d did not stop; killing it", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._supervising is not None:
            self._supervising.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervising
