"""Every accepted call reaches a terminal state, across kill -9 and SIGTERM."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.calls import wait_call
from tests.support.server import SluiceServer, put_action, wait_for

SLEEPER = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms, n: args.n}), args.ms));
}
"""


def _running_count(srv: SluiceServer, ids: list[str]) -> int:
    with srv.client() as c:
        states = [c.get(f"/sluice/v1/namespaces/_/calls/{i}").json()["state"] for i in ids]
    return states.count("running")


def test_kill_9_with_calls_queued_and_running_then_restart(
    new_server: Callable[..., SluiceServer],
) -> None:
    # two run at a time; the rest wait in the queue when the server is killed
    srv = new_server(SLUICE_NAMESPACE_CONCURRENCY="2").start()
    with srv.client() as c:
        assert put_action(c, "sleeper", SLEEPER).status_code == 200
        # the first two run long enough not to end between being seen running and the
        # kill, however loaded the machine; the queued ones are quick
        ids = [
            c.post(
                srv.ns_path("actions/sleeper"), json={"ms": 8000 if n < 2 else 300, "n": n}
            ).json()["activationId"]
            for n in range(8)
        ]

    wait_for(lambda: _running_count(srv, ids[:2]) == 2, 30, "the first two calls running")
    srv.kill()

    srv.start()
    with srv.client() as c:
        ends = [wait_call(c, i, timeout=90) for i in ids]
        assert [e["state"] for e in ends] == ["success"] * 8
        # the two that were running when killed ran again, the rest once
        assert [e["attempts"] for e in ends] == [2, 2, 1, 1, 1, 1, 1, 1]
        results = [c.get(srv.ns_path(f"activations/{i}/result")).json()["result"] for i in ids]
        assert [r["n"] for r in results] == list(range(8))


def test_out_of_attempts_ends_as_platform_error(
    new_server: Callable[..., SluiceServer],
) -> None:
    srv = new_server(SLUICE_MAX_ATTEMPTS="1").start()
    with srv.client() as c:
        put_action(c, "sleeper", SLEEPER)
        aid = c.post(srv.ns_path("actions/sleeper"), json={"ms": 60000, "n": 0}).json()[
            "activationId"
        ]

    wait_for(lambda: _running_count(srv, [aid]) == 1, 30, "the call running")
    srv.kill()
    srv.start()
    with srv.client() as c:
        end = wait_call(c, aid, timeout=30)
        assert end["state"] == "platform_error"
        record = c.get(srv.ns_path(f"activations/{aid}")).json()
        assert record["response"]["status"] == "whisk internal error"
        assert "interrupted 1 times" in record["response"]["result"]["error"]


def test_sigterm_lets_running_calls_finish_and_keeps_the_queue(
    new_server: Callable[..., SluiceServer],
) -> None:
    srv = new_server(SLUICE_NAMESPACE_CONCURRENCY="1", SLUICE_SHUTDOWN_GRACE_SECONDS="20").start()
    with srv.client() as c:
        put_action(c, "sleeper", SLEEPER)
        ids = [
            c.post(srv.ns_path("actions/sleeper"), json={"ms": 1000, "n": n}).json()["activationId"]
            for n in range(3)
        ]

    wait_for(lambda: _running_count(srv, ids) == 1, 30, "one call running")
    assert srv.stop()
    srv.start()
    with srv.client() as c:
        ends = [wait_call(c, i, timeout=60) for i in ids]
        assert [e["state"] for e in ends] == ["success"] * 3
        assert ends[0]["attempts"] == 1  # finished during the grace period, not re-run


def test_calls_start_in_accept_order_when_they_must_wait(
    new_server: Callable[..., SluiceServer],
) -> None:
    # one at a time: a call accepted while others wait must not skip the queue
    srv = new_server(SLUICE_NAMESPACE_CONCURRENCY="1").start()
    with srv.client() as c:
        put_action(c, "sleeper", SLEEPER)
        ids = [
            c.post(srv.ns_path("actions/sleeper"), json={"ms": 200, "n": n}).json()["activationId"]
            for n in range(5)
        ]
        ends = [wait_call(c, i, timeout=60) for i in ids]
    assert [e["state"] for e in ends] == ["success"] * 5
    starts = [e["started"] for e in ends]
    assert starts == sorted(starts), f"started out of order: {starts}"
    assert all(e["attempts"] == 1 for e in ends)
