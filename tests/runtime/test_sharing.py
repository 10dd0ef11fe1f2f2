"""Intra-process concurrency (OpenWhisk's limits.concurrency) on real Node.js runners: calls
side by side in one process, each with its own logs, environment and time limit."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
from pathlib import Path

import pytest

from sluice.runtime.base import Outcome, RunResult
from sluice.runtime.process import output_log
from sluice.runtime.results import BLOCKED, EXITED, timed_out
from tests.runtime.helpers import action, open_runtime, pid_gone, request, run, wait_until

SLEEPER_JS = """
console.log('loading');
exports.main = async (p) => {
  console.log('start ' + p.n);
  process.stdout.write('part of ' + p.n);
  await new Promise((resolve) => setTimeout(resolve, p.wait || 0));
  process.stdout.write(' and the rest\\n');
  console.error('end ' + p.n + ' ' + process.env.__OW_ACTIVATION_ID);
  setTimeout(() => console.log('after ' + p.n), 0);
  return {n: p.n, pid: process.pid, id: process.env.__OW_ACTIVATION_ID};
};
"""


def texts(result: RunResult) -> list[str]:
    """The call's log lines without their timestamps."""
    return [line.split(" ", 1)[1] for line in result.logs]


def test_calls_share_processes_and_keep_their_own_logs(tmp_path: Path) -> None:
    calls, concurrency = 50, 10

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(SLEEPER_JS, concurrency=concurrency)
            results = await asyncio.gather(
                *(
                    runtime.run(
                        request(code, {"n": n, "wait": 300}, env={"__OW_ACTIVATION_ID": f"a{n}"})
                    )
                    for n in range(calls)
                )
            )
            pids = set()
            cold = 0
            for n, result in enumerate(results):
                assert result.outcome is Outcome.SUCCESS, result.result
                assert isinstance(result.result, dict)
                assert result.result["n"] == n
                assert result.result["id"] == f"a{n}"
                pids.add(result.result["pid"])
                # lines of one stream keep their order; across streams, the order they came in
                lines = [line for line in texts(result) if line != "stdout: loading"]
                assert sorted(lines) == [
                    f"stderr: end {n} a{n}",
                    f"stdout: part of {n} and the rest",
                    f"stdout: start {n}",
                ], n
                assert lines.index(f"stdout: start {n}") < lines.index(
                    f"stdout: part of {n} and the rest"
                )
                cold += result.init_ms is not None
            assert len(pids) <= math.ceil(calls / concurrency)
            assert cold == len(pids)  # one init per process, its code's output its call's
            assert sum("stdout: loading" in texts(r) for r in results) == len(pids)
            # the next round reuses the warm processes
            again = await runtime.run(request(code, {"n": 99}))
            assert isinstance(again.result, dict)
            assert again.result["pid"] in pids
            assert again.init_ms is None

    run(scenario())


TIMEOUT_JS = """
exports.main = async (p) => {
  console.log('begin ' + p.n);
  if (p.spin) { const end = Date.now() + p.spin; while (Date.now() < end) {} }
  await new Promise((resolve) => setTimeout(resolve, p.wait));
  console.log('done ' + p.n);
  return {n: p.n, pid: process.pid};
};
"""


def test_a_call_past_its_time_limit_ends_alone(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(TIMEOUT_JS, concurrency=4)
            slow = request(code, {"n": 0, "wait": 60_000}, timeout_ms=500)
            quick = [request(code, {"n": n, "wait": 1500}) for n in (1, 2)]
            late, *others = await asyncio.gather(
                runtime.run(slow), *(runtime.run(r) for r in quick)
            )
            assert late.outcome is Outcome.TIMEOUT
            assert late.result == {"error": timed_out(500)}
            assert texts(late) == ["stdout: begin 0"]
            pids = set()
            for n, result in enumerate(others, 1):
                assert result.outcome is Outcome.SUCCESS, result.result
                assert isinstance(result.result, dict)
                pids.add(result.result["pid"])
                assert texts(result) == [f"stdout: begin {n}", f"stdout: done {n}"]
            assert len(pids) == 1
            assert runtime.pool.snapshot().idle[code.process_key] == list(pids)

    run(scenario())


def test_a_call_that_blocks_the_process_stops_it_for_every_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", log_grace_seconds=0.5) as runtime:
            code = action(TIMEOUT_JS, concurrency=4)
            waiting = asyncio.ensure_future(
                runtime.run(request(code, {"n": 1, "wait": 60_000}, timeout_ms=60_000))
            )
            await wait_until(lambda: runtime.pool.snapshot().busy, "the first call to start")
            pid = runtime.pool.snapshot().busy[0]
            spin = request(code, {"n": 2, "spin": 60_000, "wait": 0}, timeout_ms=300)
            blocked = await runtime.run(spin)
            assert blocked.outcome is Outcome.TIMEOUT
            other = await waiting
            assert other.outcome is Outcome.DEVELOPER_ERROR
            assert other.result == {"error": BLOCKED}
            await wait_until(lambda: pid_gone(pid), "the blocked process to go")

    run(scenario())


def test_a_crash_fails_every_call_in_the_process(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(TIMEOUT_JS, concurrency=3)
            calls = [
                asyncio.ensure_future(runtime.run(request(code, {"n": n, "wait": 60_000})))
                for n in range(3)
            ]
            await wait_until(
                lambda: len(runtime.pool.snapshot().busy) == 1 and runtime.pool.snapshot().busy[0],
                "the calls to share a process",
            )
            pid = runtime.pool.snapshot().busy[0]
            os.kill(pid, signal.SIGKILL)
            for result in await asyncio.gather(*calls):
                assert result.outcome is Outcome.DEVELOPER_ERROR
                assert result.result == {"error": EXITED}

    run(scenario())


def test_a_cancelled_call_leaves_the_others_running(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(TIMEOUT_JS, concurrency=2)
            warm = await runtime.run(request(code, {"n": 9, "wait": 0}))  # initialised
            assert warm.outcome is Outcome.SUCCESS
            doomed = asyncio.ensure_future(runtime.run(request(code, {"n": 0, "wait": 60_000})))
            other = asyncio.ensure_future(runtime.run(request(code, {"n": 1, "wait": 1000})))
            # both tasks run before the first poll ends: both are on the one warm process
            await wait_until(lambda: runtime.pool.snapshot().busy, "the calls to start")
            assert runtime.pool.snapshot().total == 1
            doomed.cancel()
            result = await other
            assert result.outcome is Outcome.SUCCESS
            assert texts(result) == ["stdout: begin 1", "stdout: done 1"]
            assert isinstance(result.result, dict)
            assert runtime.pool.snapshot().idle[code.process_key] == [result.result["pid"]]

    run(scenario())


def test_output_no_call_can_be_named_for_goes_to_the_process_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code_js = """
setTimeout(() => console.log('left behind by loading'), 200);
exports.main = () => {
  setTimeout(() => console.log('after the call'), 100);
  require('child_process').execSync('echo from a child', {stdio: 'inherit'});
  console.log('in the call');
  return {};
};
"""

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            result = await runtime.run(request(action(code_js, concurrency=2)))
            assert texts(result) == ["stdout: in the call"]
            await wait_until(
                lambda: (
                    {"after the call", "left behind by loading", "from a child"}
                    <= {record.getMessage().rpartition(": ")[2] for record in caplog.records}
                ),
                "the unattributed lines in Sluice's log",
            )

    with caplog.at_level(logging.INFO, logger=output_log.name):
        run(scenario())


def test_concurrency_one_runs_a_call_per_process(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(TIMEOUT_JS)
            results = await asyncio.gather(
                *(runtime.run(request(code, {"n": n, "wait": 200})) for n in range(3))
            )
            pids = {r.result["pid"] for r in results if isinstance(r.result, dict)}
            assert len(pids) == 3
            late = await runtime.run(request(code, {"n": 9, "wait": 60_000}, timeout_ms=300))
            assert late.outcome is Outcome.TIMEOUT
            # as before: the timed-out call's process is killed, the two others stay warm
            assert len(runtime.pool.snapshot().idle[code.process_key]) == 2

    run(scenario())


def test_python_runs_one_call_per_process_whatever_the_limit(tmp_path: Path) -> None:
    code_py = """
import os, time
def main(p):
    time.sleep(0.2)
    return {"pid": os.getpid()}
"""

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(code_py, "python:3.11", concurrency=5)
            results = await asyncio.gather(*(runtime.run(request(code)) for _ in range(2)))
            pids = {r.result["pid"] for r in results if isinstance(r.result, dict)}
            assert len(pids) == 2

    run(scenario())
