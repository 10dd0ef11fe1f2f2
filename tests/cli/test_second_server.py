"""A second `sluice serve` on a data dir in use (or on a port in use) refuses before it
touches anything: the first one's running calls each end once, successfully."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from tests.support.calls import wait_call
from tests.support.server import SLUICE, SluiceServer, free_port, put_action, wait_for

SLEEPER = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({n: args.n}), args.ms));
}
"""
CALLS = 50


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SLUICE), "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _states(srv: SluiceServer, ids: list[str]) -> list[str]:
    with srv.client() as c:
        return [c.get(f"/sluice/v1/namespaces/_/calls/{i}").json()["state"] for i in ids]


@pytest.mark.parametrize(
    "split", [{}, {"SLUICE_WORKER_PROCESS": "1"}], ids=["one process", "worker process"]
)
def test_a_second_server_during_running_calls_refuses_and_costs_no_call(
    new_server: Callable[..., SluiceServer], split: dict[str, str]
) -> None:
    srv = new_server(
        **split,
        SLUICE_NAMESPACE_CONCURRENCY="64",
        SLUICE_WORKER_MEMORY_MB="16384",
        SLUICE_SHUTDOWN_GRACE_SECONDS="1",
    ).start()
    assert srv.process is not None
    with srv.client() as c:
        assert put_action(c, "sleeper", SLEEPER).status_code == 200
        ids = [
            c.post(srv.ns_path("actions/sleeper"), json={"ms": 20000, "n": n}).json()[
                "activationId"
            ]
            for n in range(CALLS)
        ]
    wait_for(lambda: _states(srv, ids).count("running") == CALLS, 90, "all calls running", 0.5)

    running_one = f"in use by another Sluice (pid {srv.process.pid}, port {srv.port})"
    same_port = _serve(srv.server_env())
    other_port = _serve({**srv.server_env(), "SLUICE_PORT": str(free_port())})
    for second in (same_port, other_port):
        assert second.returncode == 1, second.stdout + second.stderr
        assert running_one in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        assert "Sluice is ready" not in second.stdout
    [line] = [line for line in same_port.stderr.splitlines() if line.strip()]
    assert line.startswith("Error: the data dir ")

    # another data dir, the same port: the port is refused, before the store is made
    elsewhere = {**srv.server_env(), "SLUICE_DATA_DIR": str(srv.root / "elsewhere")}
    taken = _serve(elsewhere)
    assert taken.returncode == 1
    assert f"127.0.0.1 port {srv.port} is taken by another program" in taken.stderr
    assert "Traceback" not in taken.stderr
    assert not (srv.root / "elsewhere" / "sluice.db").exists()

    # none was handed back (queued again); a load-slowed run may have seen some end already
    assert set(_states(srv, ids)) <= {"running", "success"}
    with srv.client() as c:
        ends = [wait_call(c, i, timeout=120) for i in ids]
    assert [e["state"] for e in ends] == ["success"] * CALLS
    assert [e["attempts"] for e in ends] == [1] * CALLS
    assert "outcome dropped" not in srv.log_path.read_text()


def test_the_data_dir_is_free_again_once_the_server_stopped(
    new_server: Callable[..., SluiceServer],
) -> None:
    srv = new_server().start()
    srv.kill()  # kill -9: the kernel lets go of the lock
    srv.start()
    assert srv.stop()
