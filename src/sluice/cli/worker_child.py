"""The worker process of an embedded Sluice (`SLUICE_WORKER_PROCESS`), forked by the API
process or started by it with its settings on stdin (worker/process.py): runs the calls,
tells the API process of their ends, and stops on SIGTERM or when the API process is gone."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
from pathlib import Path

import uvloop

from sluice.cli.startup import configure_logging, freeze_start_up
from sluice.config import Settings
from sluice.observe import metrics
from sluice.runtime.base import Runtime
from sluice.wiring import Sluice

_NICE = 10
_PR_SET_PDEATHSIG, _PR_SET_NAME = 1, 15
#: what `ps -o comm`, top and /proc/PID/comm call it (a forked one has the API's command line)
NAME = b"sluice-worker"


async def serve(settings: Settings, parent: int, runtime: Runtime | None = None) -> None:
    sluice = Sluice(settings, runtime)
    local = sluice.transport.local
    assert local is not None, "the worker process needs SLUICE_WORKER_PROCESS"
    stop = asyncio.Event()
    orphaned = False

    def lost() -> None:
        nonlocal orphaned
        orphaned = True
        # also a stop begun with grace: the SIGTERM of the API process's death can come
        # while getppid still names it, and look like an order to stop
        sluice.worker.abandon()
        stop.set()

    def terminated() -> None:
        if os.getppid() != parent:  # the API process died (see die_with_the_api_process)
            lost()
        stop.set()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, terminated)
    local.on_lost = lost
    starting = asyncio.ensure_future(sluice.start())
    stop_starting = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starting, stop_starting}, return_when=asyncio.FIRST_COMPLETED)
    stop_starting.cancel()
    if not starting.done():  # told to stop (or the API process died) while starting
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        raise SystemExit(1)
    starting.result()  # a failed start ends the process
    # at full priority until here: the API process reports ready when we are
    yield_the_cpu()
    local.tell_ready()
    freeze_start_up()
    try:
        await stop.wait()
    finally:
        # The API process died: the next one's worker process hands our calls back at its
        # start, so they must not still be running here by then (no grace)
        await sluice.stop(0 if orphaned else None)


def yield_the_cpu() -> None:
    """Accepting a call is what callers wait for; running it is throughput work. So when
    both cores are busy, the API process gets one first: this process (and the function
    processes it starts, which inherit it) runs at a lower priority and, as a batch task,
    does not preempt it on waking up. On an idle machine it changes nothing. Linux keeps
    both per thread: each thread started so far is lowered, those started later inherit."""
    for task in os.listdir("/proc/self/task"):
        tid = int(task)
        with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
            os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))
            niceness = min(19, os.getpriority(os.PRIO_PROCESS, tid) + _NICE)
            os.setpriority(os.PRIO_PROCESS, tid, niceness)


def die_with_the_api_process() -> None:
    """SIGTERM when the API process dies, should its socket not say so (it may die before
    we connect); the handler then sees that it is gone and stops without grace."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    libc.prctl(_PR_SET_NAME, NAME)


def run(settings: Settings, parent: int, runtime: Runtime | None = None) -> int:
    """The worker process's life, forked (with the API process's `runtime`, not started)
    or started anew; its exit status."""
    die_with_the_api_process()
    if os.getppid() != parent:  # it died before the line above
        return 1
    # ^C in a terminal reaches the whole process group: the API process decides when we stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # until the event loop handles it
    logging.root.handlers.clear()  # a forked one has the API process's, untagged
    configure_logging("worker")
    counted_in = os.environ.get(metrics.MULTIPROC_ENV)
    if settings.metrics and counted_in:  # where the API process counts (observe/metrics.py)
        metrics.join(Path(counted_in))
    uvloop.run(serve(settings, parent, runtime))
    metrics.flush()  # the last calls' counts, for the scrapes of a server still running
    return 0


def main() -> None:
    parent = os.getppid()
    raise SystemExit(run(Settings(**json.loads(sys.stdin.read())), parent))


if __name__ == "__main__":
    main()
