"""The worker process of an embedded Sluice (`SLUICE_WORKER_PROCESS`), started by the API
process (worker/process.py) with its settings on stdin: runs the calls, tells the API
process of their ends, and stops on SIGTERM or when the API process is gone."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys

import uvloop

from sluice.config import Settings
from sluice.wiring import Sluice


async def serve(settings: Settings) -> None:
    sluice = Sluice(settings)
    local = sluice.transport.local
    assert local is not None, "the worker process needs SLUICE_WORKER_PROCESS"
    stop = asyncio.Event()
    orphaned = False

    def lost() -> None:
        nonlocal orphaned
        orphaned = True
        stop.set()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    local.on_lost = lost
    await sluice.start()
    gc.collect()
    gc.freeze()  # as the API process does (cli/serve.py)
    try:
        await stop.wait()
    finally:
        # The API process died: the next one's worker process hands our calls back at its
        # start, so they must not still be running here by then (no grace)
        await sluice.stop(0 if orphaned else None)


def main() -> None:
    # ^C in a terminal reaches the whole process group: the API process decides when we stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=os.environ.get("SLUICE_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s[worker]: %(message)s",
    )
    settings = Settings(**json.loads(sys.stdin.read()))
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
