"""The worker process of an embedded Sluice (`SLUICE_WORKER_PROCESS`), seen from the API
process: started with the server, started again when it dies, stopped with the server.

It gets this process's settings on its stdin (they may hold the store's password, which
must not show in its command line or environment) and runs them as the `worker` role."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from sluice.config import Settings
from sluice.observe import metrics

log = logging.getLogger("sluice.worker")

#: the pause before starting a worker process again, doubled while it keeps dying young
_RESTART_MIN_S, _RESTART_MAX_S = 0.2, 10.0
#: a worker process that lived this long died of something else than its start-up
_HEALTHY_S = 30.0


class WorkerProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings.model_copy(update={"role": "worker"})
        self.process: asyncio.subprocess.Process | None = None
        self._supervising: asyncio.Task[None] | None = None
        self._stopping = False
        #: descriptors the worker process inherits: the data dir's lock, so that it is not
        #: free while a worker process of this server may still be running calls
        self.keep_fds: tuple[int, ...] = ()

    async def start(self) -> None:
        self.process = await self._spawn()
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
            log.error("worker process %d exited (%s); starting another", self.process.pid, code)
            pause = _RESTART_MIN_S if loop.time() - started > _HEALTHY_S else pause
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
