"""`SLUICE_WORKER_PROCESS=1`: one embedded Sluice in two processes, the API (with the
scheduler) and a worker process that runs the calls, on one SQLite file."""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cluster import RECORDER, runs, submit
from tests.support.server import SluiceServer, put_action, wait_for

from sluice.cli.worker_child import NAME
from sluice.ids import CallId

NODE_PIDS = "function main() { return {pid: process.pid, ppid: process.ppid}; }"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SluiceServer]:
    s = SluiceServer(tmp_path, extra_env={"SLUICE_WORKER_PROCESS": "1", "SLUICE_SANDBOX": "none"})
    try:
        yield s.start()
    finally:
        s.close()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def worker_child(server: SluiceServer) -> int | None:
    """The server's worker process: forked or started anew, it names itself."""
    assert server.process is not None
    for pid in children(server.process.pid):
        try:
            if Path(f"/proc/{pid}/comm").read_bytes().strip() == NAME:
                return pid
        except FileNotFoundError:
            continue
    return None


def states(server: SluiceServer, ids: list[str]) -> dict[str, str]:
    with sqlite3.connect(server.data_dir / "sluice.db") as conn:
        rows = conn.execute("SELECT id, state FROM calls").fetchall()
    wanted = set(ids)
    return {bytes(r[0]).hex(): r[1] for r in rows if bytes(r[0]).hex() in wanted}


def attempts(server: SluiceServer, ids: list[str]) -> list[int]:
    with sqlite3.connect(server.data_dir / "sluice.db") as conn:
        rows = conn.execute("SELECT id, attempts FROM calls").fetchall()
    return [r[1] for r in rows if bytes(r[0]).hex() in set(ids)]


def calls_running(server: SluiceServer, log: Path) -> tuple[int, list[str]]:
    """The worker process's pid, once some of 20 two-second calls run in it; their ids."""
    child = wait_for(lambda: worker_child(server), 30, "the worker process")
    with server.client() as c:
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        ids = submit(c, server, 20, log=str(log), sleep=2)
    wait_for(lambda: "running" in states(server, ids).values(), 60, "calls running in it")
    return child, ids


def each_ran_once(server: SluiceServer, ids: list[str], log: Path) -> None:
    wait_for(lambda: set(states(server, ids).values()) == {"success"}, 120, "every call to end")
    # a call writes its line as it ends: one line each, however often it was started
    assert runs(log) == dict.fromkeys(ids, 1)


def test_the_server_is_ready_once_its_worker_process_is(server: SluiceServer) -> None:
    # no waiting: the server answered only once its worker process said it runs calls
    assert worker_child(server) is not None
    with server.client() as c:
        ready = c.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["workers"] == "ok"


def test_calls_run_in_the_worker_process(server: SluiceServer, tmp_path: Path) -> None:
    child = wait_for(lambda: worker_child(server), 30, "the worker process")
    with server.client() as c:
        assert put_action(c, "pids", NODE_PIDS).status_code == 200
        # a blocking call is answered with its result: its end crossed from the worker process
        r = c.post(server.ns_path("actions/pids?blocking=true&result=true"), json={})
        assert r.status_code == 200, r.text
        assert r.json()["ppid"] == child
        ids = [
            c.post(server.ns_path("actions/pids?blocking=false"), json={}).json()["activationId"]
            for _ in range(50)
        ]
        wait_for(
            lambda: set(states(server, ids).values()) == {"success"}, 60, "50 calls to succeed"
        )
        for aid in ids[:5]:
            activation = c.get(server.ns_path(f"activations/{aid}")).json()
            assert activation["response"]["result"]["ppid"] == child


def test_a_killed_worker_process_is_replaced_and_no_call_is_lost(
    server: SluiceServer, tmp_path: Path
) -> None:
    log = tmp_path / "runs.txt"
    first, ids = calls_running(server, log)
    os.kill(first, signal.SIGKILL)
    second = wait_for(
        lambda: (pid := worker_child(server)) is not None and pid != first and pid,
        30,
        "a new worker process",
    )
    assert second != first
    wait_for(lambda: set(states(server, ids).values()) == {"success"}, 120, "every call to end")
    # unconfined (SLUICE_SANDBOX=none), a function process the killed worker had started
    # runs on and writes its line, and its call runs again: at least once, at most twice
    assert set(runs(log)) == set(ids)
    assert max(runs(log).values()) <= 2
    assert max(attempts(server, ids)) >= 2  # the killed ones ran again


def test_a_call_in_the_worker_process_is_cancelled_from_the_api(
    server: SluiceServer, tmp_path: Path
) -> None:
    with server.client() as c:
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        [aid] = submit(c, server, 1, log=str(tmp_path / "runs.txt"), sleep=120)
        wait_for(lambda: states(server, [aid]).get(aid) == "running", 60, "the call to run")
        r = c.delete(f"/async-function/{CallId(bytes.fromhex(aid)).uuid}")
        assert r.status_code == 202, r.text
        wait_for(lambda: states(server, [aid]).get(aid) == "cancelled", 10, "the cancel")


def test_stopping_the_server_stops_the_worker_process(server: SluiceServer) -> None:
    child = wait_for(lambda: worker_child(server), 30, "the worker process")
    assert server.stop()
    assert not Path(f"/proc/{child}").exists()
    assert not (server.data_dir / "run" / "events.sock").exists()


def test_a_killed_api_process_takes_its_worker_process_along_and_a_restart_ends_every_call(
    server: SluiceServer, tmp_path: Path
) -> None:
    log = tmp_path / "runs.txt"
    child, ids = calls_running(server, log)
    server.kill()
    # orphaned, it hands its calls back at once rather than finishing them
    wait_for(lambda: not Path(f"/proc/{child}").exists(), 10, "the worker process to exit")
    server.start()
    each_ran_once(server, ids, log)
