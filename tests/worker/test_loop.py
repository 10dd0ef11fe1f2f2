"""The worker's loop (worker/loop.py), in-process on a real SQLite file: the cases that
need a call's run to be caught at a given moment."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sluice.call_meta import CallMeta
from sluice.config import Settings
from sluice.records import CallState
from sluice.timing import now_ms
from sluice.wiring import Sluice

SLEEPY = {"exec": {"kind": "python:3", "code": "import time\ndef main(a):\n    time.sleep(60)"}}


def test_a_call_cancelled_before_its_run_begins_ends_cancelled(tmp_path: Path) -> None:
    """The cancel of a call just leased can reach the worker before the call's task has run a
    step (a busy loop serves the cancel request first): the call still ends, as cancelled,
    and gives its capacity back."""

    async def main() -> None:
        # role api: no take loop of its own, so the test leases the call itself
        settings = Settings(data_dir=tmp_path / "data", role="api", sandbox="none")
        sluice = Sluice(settings)
        await sluice.start()
        try:
            await sluice.namespaces.create("ns")
            await sluice.actions.put("ns", "sleepy", SLEEPY, overwrite=False)
            accepted = await sluice.calls.invoke("ns", "ns", "sleepy", {}, 2, CallMeta(), None)
            worker = sluice.worker
            [lease] = await sluice.queue.take(now_ms(), 60_000, 1, worker.capacity.admit)
            assert lease.id == accepted.id
            worker.run_leased(lease)
            assert worker.cancel(lease.id)  # before the loop ran the task's first step
            deadline = time.monotonic() + 20
            while True:
                call = await sluice.store.get_call(lease.id)
                assert call is not None
                if call.state.terminal or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.01)
            assert call.state is CallState.CANCELLED
            assert worker.capacity.used_mb == 0
        finally:
            await sluice.stop()

    asyncio.run(main())
