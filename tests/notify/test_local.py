"""Events between an API process and its worker process over the unix socket in the data dir
(notify/local.py): both sides run here on one event loop, over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import uvloop

from sluice.ids import CallId
from sluice.notify.local import LocalEvents
from sluice.notify.waiters import Waiters

Scenario = Callable[[LocalEvents, Waiters, LocalEvents, Waiters], Awaitable[None]]


def linked(path: Path, scenario: Scenario) -> None:
    async def run() -> None:
        api, worker = LocalEvents(path), LocalEvents(path)
        api_waiters = Waiters(broadcast=api.publish)
        worker_waiters = Waiters(broadcast=worker.publish)
        await api.listen()
        await api.start(api_waiters)
        await worker.connect()
        await worker.start(worker_waiters)
        await wait_until(lambda: len(api.links) == 1)
        try:
            await scenario(api, api_waiters, worker, worker_waiters)
        finally:
            await worker.stop()
            await api.stop()

    uvloop.run(run())


async def wait_until(check: Callable[[], bool], seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.001)


@pytest.mark.parametrize("depth", [1, 12], ids=["short path", "path longer than 108 bytes"])
def test_a_call_ended_in_the_worker_wakes_its_waiter_in_the_api(tmp_path: Path, depth: int) -> None:
    path = tmp_path.joinpath(*["a-rather-long-directory-name"] * depth) / "events.sock"
    assert (len(str(path)) > 108) == (depth > 1)

    async def scenario(api: LocalEvents, aw: Waiters, worker: LocalEvents, ww: Waiters) -> None:
        heard: list[CallId] = []
        aw.listeners.append(heard.append)
        ids = [CallId.new() for _ in range(1000)]
        futures = [aw.register(call_id) for call_id in ids]
        for call_id in ids:  # a burst in one turn of the loop
            ww.done(call_id)
        for call_id, future in zip(ids, futures, strict=True):
            assert await aw.wait(call_id, future, 5)
        assert heard == ids

    linked(path, scenario)


def test_queued_calls_wake_the_worker_once_per_burst(tmp_path: Path) -> None:
    async def scenario(api: LocalEvents, aw: Waiters, worker: LocalEvents, ww: Waiters) -> None:
        wakes: list[None] = []
        worker.serve_worker(lambda: wakes.append(None), lambda prefix: 0, lambda prefix: None)
        for _ in range(100):  # one turn of the loop
            api.queued()
        await wait_until(lambda: len(wakes) > 0)
        # a done event sent after the burst arrives after its wake: nothing else is on the way
        call_id = CallId.new()
        future = ww.register(call_id)
        aw.done(call_id)
        assert await ww.wait(call_id, future, 5)
        assert len(wakes) == 1
        api.queued()  # a later turn: a wake of its own
        await wait_until(lambda: len(wakes) == 2)

    linked(tmp_path / "events.sock", scenario)


def test_a_cancel_is_answered_by_the_worker(tmp_path: Path) -> None:
    running = CallId.new()

    async def scenario(api: LocalEvents, aw: Waiters, worker: LocalEvents, ww: Waiters) -> None:
        stopped: list[CallId] = []

        def cancel(call_id: CallId) -> bool:
            if call_id == running:
                stopped.append(call_id)
                return True
            return False

        await worker.serve_cancels(cancel)
        assert await api.cancel_remote(running)
        assert stopped == [running]
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert not await api.cancel_remote(CallId.new())
        assert loop.time() - started < 0.4  # told "not here", not left to time out

    linked(tmp_path / "events.sock", scenario)


def test_the_worker_hears_when_the_api_process_is_gone(tmp_path: Path) -> None:
    async def scenario(api: LocalEvents, aw: Waiters, worker: LocalEvents, ww: Waiters) -> None:
        gone = asyncio.Event()
        worker.on_lost = gone.set
        await api.stop()
        async with asyncio.timeout(5):
            await gone.wait()
        assert not await api.cancel_remote(CallId.new())  # no worker: no wait either

    linked(tmp_path / "events.sock", scenario)


def test_the_socket_is_for_its_owner_only(tmp_path: Path) -> None:
    async def scenario(api: LocalEvents, aw: Waiters, worker: LocalEvents, ww: Waiters) -> None:
        assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700
        assert (tmp_path / "run" / "events.sock").stat().st_mode & 0o777 == 0o600

    linked(tmp_path / "run" / "events.sock", scenario)
