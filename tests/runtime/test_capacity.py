"""One process cap and one start bound for every family: an OpenWhisk action's process, an
Fn http-stream function's and an OpenFaaS http server, and the processes of one call (an
executable, an Fn default-format function, an OpenFaaS process function) count against the
same SLUICE_MAX_PROCESSES (the least recently used idle one of any warm family making room),
counted as real processes, and wait for one another's starts under SLUICE_MAX_STARTING."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import psutil
import pytest

from sluice.runtime.base import ActionCode, Outcome, RunResult
from sluice.runtime.pool import ProcessRuntime
from tests.runtime.helpers import (
    action,
    open_runtime,
    pid_gone,
    request,
    run,
    wait_until,
    zip_b64,
)
from tests.runtime.test_contract import CASES, HTTP_SERVER, Case
from tests.runtime.test_pool import COUNTER_JS

FN = CASES["fn:http-stream"]
HTTP = CASES["http"]
#: the families whose process serves one call and exits
ONE_SHOT = [CASES["blackbox"], CASES["fn:default"], CASES["process"]]


def function_processes(work: Path) -> int:
    """Live function processes of the runtime working in `work`: process groups (each
    function process leads one) with a process in a directory there."""
    groups = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and Path(child.cwd()).is_relative_to(work):
                groups.add(os.getpgid(child.pid))
        except (psutil.Error, ProcessLookupError):
            continue
    return len(groups)


@asynccontextmanager
async def most_processes_seen(work: Path) -> AsyncIterator[Callable[[], int]]:
    """Samples the function processes alive until the block ends; gives the most seen."""
    seen = [0]

    async def sample() -> None:
        while True:
            seen[0] = max(seen[0], await asyncio.to_thread(function_processes, work))
            await asyncio.sleep(0.005)

    task = asyncio.create_task(sample())
    try:
        yield lambda: max(seen[0], function_processes(work))  # and once more, now
    finally:
        task.cancel()


def ok(result: RunResult) -> RunResult:
    assert result.outcome is Outcome.SUCCESS, result
    return result


async def call(runtime: ProcessRuntime, code: ActionCode) -> RunResult:
    for case in (FN, HTTP, *ONE_SHOT):
        if code.kind == case.kind:
            return ok(await runtime.run(request(code, case.params({"x": 1}))))
    return ok(await runtime.run(request(code)))


def test_a_start_of_one_family_evicts_the_idle_process_of_another(tmp_path: Path) -> None:
    work = tmp_path / "work"

    async def scenario() -> None:
        async with (
            open_runtime(work, max_processes=2) as runtime,
            most_processes_seen(work) as most,
        ):
            ow, fn, http = action(COUNTER_JS), FN.action(), HTTP.action()
            first = await call(runtime, ow)
            assert isinstance(first.result, dict)
            ow_pid = first.result["pid"]
            await call(runtime, fn)
            # a third function: the OpenWhisk process is the least recently used idle one
            assert (await call(runtime, http)).init_ms is not None
            await wait_until(lambda: pid_gone(ow_pid), "the OpenWhisk process to be evicted")
            assert not runtime.pool.snapshot().idle
            assert runtime.http.warm(http.process_key) == 1
            # and back: now the Fn process is the least recently used idle one
            assert (await call(runtime, ow)).init_ms is not None
            await wait_until(lambda: function_processes(work) == 2, "two processes again")
            assert runtime.http.warm(http.process_key) == 1
            assert runtime.pool.warm(ow.process_key) == 1
            assert (await call(runtime, fn)).init_ms is not None  # cold again
            assert runtime.capacity.taken == 2
            assert most() == 2

    run(scenario())


def test_a_burst_of_every_warm_family_never_takes_more_slots_than_the_cap(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"

    async def scenario() -> None:
        async with (
            open_runtime(work, max_processes=2, stem_cells=1) as runtime,
            most_processes_seen(work) as most,
        ):
            # a stem cell holds a slot too, given up like any idle process
            await wait_until(lambda: runtime.pool.snapshot().stems, "a stem cell")
            taken = [runtime.capacity.taken]
            reserve = runtime.capacity.reserve

            async def reserve_seen() -> None:
                await reserve()
                taken.append(runtime.capacity.taken)

            runtime.capacity.reserve = reserve_seen  # type: ignore[method-assign]
            codes = [action(COUNTER_JS), FN.action(), HTTP.action()] * 2
            for _ in range(2):  # cold, then each start evicting another family's process
                await asyncio.gather(*(call(runtime, code) for code in codes))
            assert max(taken) <= 2
            # an evicted process's slot is reused once it has exited: never more at once
            assert most() <= 2

    run(scenario())


@pytest.mark.parametrize("waiting", [FN, ONE_SHOT[0]], ids=["fn:http-stream", "blackbox"])
def test_a_start_waits_while_every_process_of_any_family_is_busy(
    tmp_path: Path, waiting: Case
) -> None:
    work = tmp_path / "work"

    async def scenario() -> None:
        async with (
            open_runtime(work, max_processes=1) as runtime,
            most_processes_seen(work) as most,
        ):
            ow = action(COUNTER_JS)
            busy = asyncio.create_task(runtime.run(request(ow, {"wait": 300})))
            await wait_until(lambda: runtime.pool.snapshot().busy, "the OpenWhisk call to run")
            # the other family's start (a warm one's, or a one-call process's) waits for the
            # OpenWhisk call, then takes its slot
            fn = await call(runtime, waiting.action())
            assert busy.done()
            assert ok(await busy).init_ms is not None
            assert fn.init_ms is not None
            assert not runtime.pool.snapshot().idle
            assert most() == 1

    run(scenario())


#: an http server that listens only once the file $GATE exists
GATED_SERVER = (
    "import os, time\nwhile not os.path.exists(os.environ['GATE']):\n    time.sleep(0.01)\n"
) + HTTP_SERVER


def test_starts_of_every_family_share_one_bound(tmp_path: Path) -> None:
    work, gate = tmp_path / "work", tmp_path / "gate"
    server = action(
        zip_b64({"server.py": GATED_SERVER}),
        "http",
        binary=True,
        main="python3 server.py",
        env={"GATE": str(gate)},
    )

    async def scenario() -> None:
        async with open_runtime(work, max_starting=1) as runtime, most_processes_seen(work) as most:
            http = asyncio.create_task(runtime.run(request(server, HTTP.params({"x": 1}))))
            await wait_until(lambda: function_processes(work) == 1, "the server's process")
            ow = asyncio.create_task(runtime.run(request(action(COUNTER_JS))))
            # the OpenWhisk start has its slot and waits for the server's start to end
            await wait_until(lambda: runtime.pool.snapshot().total == 1, "the second start")
            assert function_processes(work) == 1
            assert not ow.done()
            gate.touch()
            assert ok(await http).init_ms is not None
            assert ok(await ow).init_ms is not None
            assert most() == 2

    run(scenario())


def test_a_call_of_one_process_takes_a_slot_of_the_shared_cap(tmp_path: Path) -> None:
    work = tmp_path / "work"

    async def scenario() -> None:
        async with (
            open_runtime(work, max_processes=1) as runtime,
            most_processes_seen(work) as most,
        ):
            ow = action(COUNTER_JS)
            for one_shot in ONE_SHOT:
                first = await call(runtime, ow)
                assert isinstance(first.result, dict)
                # the idle OpenWhisk process gives its slot up for the call's own process
                await call(runtime, one_shot.action())
                pid = first.result["pid"]
                await wait_until(lambda pid=pid: pid_gone(pid), "the idle one to go")
                assert runtime.capacity.taken == 0
            assert most() == 1

    run(scenario())
