"""Warm reuse, stem cells, idle eviction and the process cap."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from sluice.runtime.base import Outcome
from tests.runtime.helpers import action, open_runtime, pid_gone, request, run, wait_until

COUNTER_JS = """
let calls = 0;
exports.main = async (p) => {
  calls++;
  if (p.wait) await new Promise((resolve) => setTimeout(resolve, p.wait));
  return {calls, pid: process.pid, home: process.env.HOME};
};
"""
COUNTER_PY = """
import os
calls = 0
def main(p):
    global calls
    calls += 1
    return {"calls": calls, "pid": os.getpid()}
"""


def test_second_call_is_warm_in_the_same_process(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            for kind, code in (("nodejs:20", COUNTER_JS), ("python:3.11", COUNTER_PY)):
                code_ = action(code, kind)
                first = await runtime.run(request(code_))
                second = await runtime.run(request(code_))
                assert first.init_ms is not None, kind
                assert second.init_ms is None, kind
                assert isinstance(first.result, dict)
                assert isinstance(second.result, dict)
                assert first.result["calls"] == 1
                assert second.result["calls"] == 2
                assert first.result["pid"] == second.result["pid"]

    run(scenario())


def test_different_versions_do_not_share_processes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            one = await runtime.run(request(action(COUNTER_JS, key="ns/a@1")))
            two = await runtime.run(request(action(COUNTER_JS, key="ns/a@2")))
            assert isinstance(one.result, dict)
            assert isinstance(two.result, dict)
            assert one.result["pid"] != two.result["pid"]
            assert two.init_ms is not None

    run(scenario())


def test_overlapping_calls_use_two_processes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(COUNTER_JS)
            first, second = await asyncio.gather(
                runtime.run(request(code, {"wait": 200})),
                runtime.run(request(code, {"wait": 200})),
            )
            assert isinstance(first.result, dict)
            assert isinstance(second.result, dict)
            assert first.result["pid"] != second.result["pid"]
            assert first.result["calls"] == second.result["calls"] == 1
            assert sorted(runtime.pool.snapshot().idle[code.process_key]) == sorted(
                [first.result["pid"], second.result["pid"]]
            )

    run(scenario())


def test_stem_cell_is_used_for_a_cold_start_and_replaced(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", stem_cells=1) as runtime:
            snapshot = runtime.pool.snapshot
            stems = await wait_until(
                lambda: snapshot().stems.get("nodejs:20"), "a Node.js stem cell"
            )
            await wait_until(lambda: snapshot().stems.get("python:3.11"), "a Python stem cell")
            result = await runtime.run(request(action(COUNTER_JS)))
            assert isinstance(result.result, dict)
            assert result.result["pid"] == stems[0]
            assert result.init_ms is not None
            replacement = await wait_until(
                lambda: snapshot().stems.get("nodejs:20"), "a new Node.js stem cell"
            )
            assert replacement[0] != stems[0]

    run(scenario())


def test_stem_cell_heap_must_match_memory_limit(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", stem_cells=1, stem_memory_mb=256) as runtime:
            snapshot = runtime.pool.snapshot
            stems = await wait_until(lambda: snapshot().stems.get("nodejs:20"), "a stem cell")
            result = await runtime.run(request(action(COUNTER_JS, memory_mb=512)))
            assert isinstance(result.result, dict)
            assert result.result["pid"] != stems[0]
            assert snapshot().stems["nodejs:20"] == stems

    run(scenario())


def test_idle_process_is_evicted(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", idle_seconds=0.2) as runtime:
            code = action(COUNTER_JS)
            first = await runtime.run(request(code))
            assert isinstance(first.result, dict)
            pid, home = first.result["pid"], Path(first.result["home"])
            assert home.is_dir()
            await wait_until(lambda: not runtime.pool.snapshot().idle, "idle eviction")
            await wait_until(lambda: pid_gone(pid), "the evicted process to end")
            await wait_until(lambda: not home.exists(), "its directory to be removed")
            again = await runtime.run(request(code))
            assert again.init_ms is not None
            assert isinstance(again.result, dict)
            assert again.result["calls"] == 1

    run(scenario())


def test_cap_evicts_least_recently_used_idle_process(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", max_processes=2) as runtime:
            a, b, c = action(COUNTER_JS), action(COUNTER_JS), action(COUNTER_JS)
            await runtime.run(request(a))
            await runtime.run(request(b))
            await runtime.run(request(a))  # b is now the least recently used
            await runtime.run(request(c))
            snapshot = runtime.pool.snapshot()
            assert set(snapshot.idle) == {a.process_key, c.process_key}
            assert snapshot.total == 2

    run(scenario())


def test_cap_makes_calls_wait_for_a_free_process(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", max_processes=1) as runtime:
            a, b = action(COUNTER_JS), action(COUNTER_JS)
            first, second = await asyncio.gather(
                runtime.run(request(a, {"wait": 100})), runtime.run(request(b))
            )
            assert first.outcome is second.outcome is Outcome.SUCCESS
            assert runtime.pool.snapshot().total == 1

    run(scenario())


def test_timed_out_process_is_not_reused(tmp_path: Path) -> None:
    code_js = (
        "exports.main = (p) => { if (p.spin) { while (true) {} } return {pid: process.pid}; };"
    )

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(code_js)
            warm = await runtime.run(request(code))
            assert isinstance(warm.result, dict)
            pid = warm.result["pid"]
            stuck = await runtime.run(request(code, {"spin": True}, timeout_ms=300))
            assert stuck.outcome is Outcome.TIMEOUT
            assert stuck.init_ms is None
            await wait_until(lambda: pid_gone(pid), "the killed process to end")
            after = await runtime.run(request(code))
            assert after.init_ms is not None
            assert isinstance(after.result, dict)
            assert after.result["pid"] != pid

    run(scenario())


def test_crashed_process_is_not_reused(tmp_path: Path) -> None:
    code_py = (
        "import os\ndef main(p):\n    if p.get('crash'):\n        os._exit(3)\n"
        "    return {'pid': os.getpid()}\n"
    )

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action(code_py, "python:3.11")
            crash = await runtime.run(request(code, {"crash": True}))
            assert crash.outcome is Outcome.DEVELOPER_ERROR
            assert not runtime.pool.snapshot().idle
            after = await runtime.run(request(code))
            assert after.outcome is Outcome.SUCCESS
            assert after.init_ms is not None

    run(scenario())


def test_close_stops_every_process_and_cleans_up(tmp_path: Path) -> None:
    async def scenario() -> list[int]:
        async with open_runtime(tmp_path / "work", stem_cells=1) as runtime:
            snapshot = runtime.pool.snapshot
            await wait_until(lambda: snapshot().stems.get("python:3.11"), "a stem cell")
            result = await runtime.run(request(action(COUNTER_JS)))
            assert isinstance(result.result, dict)
            await wait_until(lambda: snapshot().stems.get("nodejs:20"), "a new stem cell")
            pids = [result.result["pid"]]
            for stems in snapshot().stems.values():
                pids.extend(stems)
        return pids

    pids = run(scenario())
    assert all(pid_gone(pid) for pid in pids)
    assert list((tmp_path / "work").iterdir()) == []


def test_cancelled_call_kills_its_process(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work") as runtime:
            code = action("exports.main = () => new Promise(() => {});")
            task = asyncio.create_task(runtime.run(request(code)))
            busy = await wait_until(lambda: runtime.pool.snapshot().busy, "a busy process")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await wait_until(lambda: pid_gone(busy[0]), "the process to end")
            # its slot is given back once its exit has been waited for (Child.close)
            await wait_until(lambda: runtime.pool.snapshot().total == 0, "its slot back")

    run(scenario())


def test_processes_killed_from_outside_are_dropped_and_stems_replaced(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", stem_cells=1) as runtime:
            snapshot = runtime.pool.snapshot
            stems = await wait_until(lambda: snapshot().stems.get("python:3.11"), "a stem cell")
            os.kill(stems[0], signal.SIGKILL)
            replaced = await wait_until(
                lambda: [p for p in snapshot().stems.get("python:3.11", []) if p != stems[0]],
                "a replacement stem cell",
            )
            assert stems[0] not in snapshot().stems["python:3.11"]

            code = action(COUNTER_PY, "python:3.11")
            first = await runtime.run(request(code))
            assert isinstance(first.result, dict)
            assert first.result["pid"] == replaced[0]
            os.kill(first.result["pid"], signal.SIGKILL)
            await wait_until(
                lambda: code.process_key not in snapshot().idle, "the idle process to go"
            )
            again = await runtime.run(request(code))
            assert again.outcome is Outcome.SUCCESS
            assert again.init_ms is not None

    run(scenario())


def test_starts_beyond_the_bound_wait_their_turn(tmp_path: Path) -> None:
    """At most one start at a time: cold calls of four actions (and the stem cells refilled
    behind them) all get processes of their own, one start after another."""

    async def scenario() -> None:
        async with open_runtime(tmp_path / "work", max_starting=1, stem_cells=1) as runtime:
            codes = [action(COUNTER_JS, key=f"ns/a{n}@1") for n in range(4)]
            results = await asyncio.gather(*(runtime.run(request(c)) for c in codes))
            assert all(r.outcome is Outcome.SUCCESS for r in results), results
            pids = {r.result["pid"] for r in results if isinstance(r.result, dict)}
            assert len(pids) == 4

    run(scenario())
