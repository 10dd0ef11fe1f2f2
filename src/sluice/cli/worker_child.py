"""The worker process of an embedded Sluice (`SLUICE_WORKER_PROCESS`), started by the API
process (worker/process.py) with its settings on stdin: runs the calls, tells the API
process of their ends, and stops on SIGTERM or when the API process is gone."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import sys
from pathlib import Path

import uvloop

from sluice.cli.startup import configure_logging, freeze_start_up
from sluice.config import Settings
from sluice.observe import metrics
from sluice.wiring import Sluice

_NICE = 10
_PR_SET_PDEATHSIG = 1


async def serve(settings: Settings, parent: int) -> None:
    sluice = Sluice(settings)
    local = sluice.transport.local
    assert local is not None, "the worker process needs SLUICE_WORKER_PROCESS"
    stop = asyncio.Event()
    orphaned = False

    def lost() -> None:
        nonlocal orphaned
        orphaned = True
        stop.set()

    def terminated() -> None:
        if os.getppid() != parent:  # the API process died (see die_with_the_api_process)
            lost()
        stop.set()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, terminated)
    local.on_lost = lost
    await sluice.start()
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
    does not preempt it on waking up. On an idle machine it changes nothing."""
    os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    os.nice(_NICE)


def die_with_the_api_process() -> None:
    """SIGTERM when the API process dies, should its socket not say so (it may die before
    we connect); the handler then sees that it is gone and stops without grace."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def main() -> None:
    parent = os.getppid()
    die_with_the_api_process()
    if os.getppid() != parent:  # it died before the line above
        raise SystemExit(1)
    yield_the_cpu()  # before any thread starts, so that all of them inherit it
    # ^C in a terminal reaches the whole process group: the API process decides when we stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging("worker")
    settings = Settings(**json.loads(sys.stdin.read()))
    counted_in = os.environ.get(metrics.MULTIPROC_ENV)
    if settings.metrics and counted_in:  # where the API process counts (observe/metrics.py)
        metrics.join(Path(counted_in))
    uvloop.run(serve(settings, parent))


if __name__ == "__main__":
    main()
