"""SLUICE_MAX_PROCESSES counts a process until it has exited, not until it was killed: an
idle process stopped to make room for another's start holds its slot until it and what it
started are gone, so the new process starts only then. Processes are watched in /proc, by
session (each function process leads one), and the victim is slow to die: it leaves a
process of its own process group (out of reach of the kill of the group) holding its
output, which ends a while after the function's own process has been killed; the
process's family waits for its output to end before it counts the process gone."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from sluice.runtime.base import ActionCode
from sluice.runtime.capacity import Capacity, CapacityClosed, Idle
from tests.runtime.helpers import action, open_runtime, run, wait_until, zip_b64
from tests.runtime.test_capacity import FN, HTTP, call
from tests.runtime.test_contract import FN_STREAM, HTTP_SERVER
from tests.runtime.test_pool import COUNTER_JS

#: what the victim leaves behind: a process in a process group of its own (the kill of the
#: function's group misses it) holding the function's stdout and stderr, which ends a
#: second after the function's process is gone
LINGER = """
import os, sys, time
parent = int(sys.argv[1])
while os.getppid() == parent:
    time.sleep(0.005)
time.sleep(1.0)
"""
#: the start of a victim's code: it starts that process, in its own session still
LEAVES_ONE = f"""import os, subprocess, sys
subprocess.Popen([sys.executable, "-c", {LINGER!r}, str(os.getpid())], preexec_fn=os.setpgrp)
"""
OW_VICTIM = LEAVES_ONE + "def main(p):\n    return {'pid': os.getpid()}\n"


def _served(kind: str, name: str, source: str) -> ActionCode:
    code = zip_b64({name: LEAVES_ONE + source})
    return action(code, kind, binary=True, main=f"python3 {name}")


#: a victim of each warm family, idle when another family's start needs its slot
VICTIMS: dict[str, Callable[[], ActionCode]] = {
    "openwhisk": lambda: action(OW_VICTIM, "python:3.11"),
    "fn:http-stream": lambda: _served("fn:http-stream", "func.py", FN_STREAM),
    "http": lambda: _served("http", "server.py", HTTP_SERVER),
}
#: an executable whose process serves one call and lives half a second, long enough for the
#: watcher to see it
SLOW_ONE_SHOT = "#!/usr/bin/env python3\nimport time\ntime.sleep(0.5)\nprint('{}')\n"
#: the starts that need the slot: another family's (a warm process stays to be seen)
STARTS: dict[str, Callable[[], ActionCode]] = {
    "openwhisk": HTTP.action,
    "fn:http-stream": lambda: action(COUNTER_JS),
    "http": FN.action,
    "blackbox": lambda: action(
        zip_b64({"exec": SLOW_ONE_SHOT}, modes={"exec": 0o755}), "blackbox", binary=True
    ),
}
PAIRS = [("openwhisk", "http"), ("fn:http-stream", "openwhisk"), ("http", "fn:http-stream")]
PAIRS += [("openwhisk", "blackbox")]

#: (state, parent, session) per pid
Stats = dict[int, tuple[str, int, int]]


def _stats() -> Stats:
    stats: Stats = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        stats[int(entry.name)] = (fields[0], int(fields[1]), int(fields[3]))
    return stats


def _ours(pid: int, stats: Stats, me: int) -> bool:
    while pid in stats and pid > 1:
        pid = stats[pid][1]
        if pid == me:
            return True
    return False


def _in(pid: int, work: Path) -> bool:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).is_relative_to(work)
    except OSError:
        return False


def sessions(work: Path, known: set[int]) -> dict[int, frozenset[int]]:
    """The live (not zombie) processes of each function process's session: the sessions of
    this process's descendants with a directory in `work`, and those seen before (`known`,
    added to), whose processes may have outlived their parent."""
    stats, me = _stats(), os.getpid()
    for pid, (state, _, session) in stats.items():
        if state != "Z" and _ours(pid, stats, me) and _in(pid, work):
            known.add(session)
    live: dict[int, set[int]] = {}
    for pid, (state, _, session) in stats.items():
        if state != "Z" and session in known:
            live.setdefault(session, set()).add(pid)
    return {session: frozenset(pids) for session, pids in live.items()}


@asynccontextmanager
async def watched(work: Path) -> AsyncIterator[list[dict[int, frozenset[int]]]]:
    """Samples the function processes alive, per session, until the block ends."""
    known: set[int] = set()
    samples: list[dict[int, frozenset[int]]] = []

    async def sample() -> None:
        while True:
            samples.append(await asyncio.to_thread(sessions, work, known))
            await asyncio.sleep(0.002)

    task = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        task.cancel()
        samples.append(sessions(work, known))


@pytest.mark.parametrize(("victim", "start"), PAIRS, ids=[f"{v}-for-{s}" for v, s in PAIRS])
def test_an_evicted_process_holds_its_slot_until_it_has_exited(
    tmp_path: Path, victim: str, start: str
) -> None:
    work = tmp_path / "work"

    async def scenario() -> None:
        async with open_runtime(work, max_processes=1) as runtime, watched(work) as samples:
            await call(runtime, VICTIMS[victim]())
            # idle now, with the process it left
            first = await wait_until(lambda: samples[-1] if samples else None, "the victim")
            ((session, _),) = first.items()
            await wait_until(
                lambda: len(samples[-1].get(session, ())) >= 2, "the process the victim left"
            )
            started = await call(runtime, STARTS[start]())
            assert started.init_ms is not None
            # watched until the victim is gone, whenever that is
            await wait_until(lambda: session not in samples[-1], "the victim to be gone")
            most = max(len(sample) for sample in samples)
            over = [sorted(s.items()) for s in samples if len(s) > 1][:3]
            assert most == 1, f"{most} function processes at once (the cap is 1): {over}"
            # and its slow end was seen: its process killed, what it left still running
            assert any(session not in s.get(session, {session}) for s in samples)
            assert runtime.capacity.taken == (0 if start == "blackbox" else 1)

    run(scenario())


async def _suspended(task: asyncio.Task[None]) -> None:
    """Let `task` run until it waits (a loop's turn: it runs as soon as it was created)."""
    await asyncio.sleep(0)
    assert not task.done()


def test_a_start_takes_the_slot_of_a_killed_process_rather_than_stop_an_idle_one() -> None:
    async def scenario() -> None:
        capacity = Capacity(2)
        # one process on its way out, one idle
        assert capacity.take()
        assert capacity.take()
        capacity.stopping()
        stopped: list[float] = []
        capacity.register(lambda: [Idle(0.0, lambda: stopped.append(0.0))])
        start = asyncio.create_task(capacity.reserve())
        await _suspended(start)
        assert not stopped
        capacity.exited()
        await start
        assert (capacity.taken, capacity.dying) == (2, 0)

    run(scenario())


def test_a_slot_handed_to_a_start_cancelled_meanwhile_is_passed_on() -> None:
    async def scenario() -> None:
        capacity = Capacity(1)
        assert capacity.take()
        capacity.stopping()
        start = asyncio.create_task(capacity.reserve())
        await _suspended(start)
        capacity.exited()  # handed to the start, which is cancelled before it runs again
        start.cancel()
        with pytest.raises(asyncio.CancelledError):
            await start
        assert (capacity.taken, capacity.dying) == (0, 0)

    run(scenario())


def test_a_start_waiting_for_an_exit_ends_as_the_runtime_closes() -> None:
    async def scenario() -> None:
        capacity = Capacity(1)
        assert capacity.take()
        capacity.stopping()
        start = asyncio.create_task(capacity.reserve())
        await _suspended(start)
        capacity.close()
        with pytest.raises(CapacityClosed):
            await start
        capacity.exited()
        assert (capacity.taken, capacity.dying) == (0, 0)

    run(scenario())
