"""The stats route `sluice top` draws: one namespace's queue, running calls, rates and
slowest functions, behind that namespace's own key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from tests.support.calls import wait_call
from tests.support.server import SluiceServer, put_action, wait_for

SLEEPER = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms}), args.ms || 0));
}
"""
FAILING = "function main() { return {error: 'boom'}; }"
STATS = "/sluice/v1/namespaces/_/stats"


def stats(client: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = client.get(STATS, params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_stats_tell_queue_running_rates_and_slowest(
    new_server: Callable[..., SluiceServer],
) -> None:
    # one call runs at a time: the second long call waits in the queue
    srv = new_server(SLUICE_MAX_RUNNING="1").start()
    with srv.client() as c:
        put_action(c, "quick", SLEEPER)
        put_action(c, "slow", SLEEPER)
        put_action(c, "failing", FAILING)
        for ms in (1, 2):
            assert c.post("/api/v1/namespaces/_/actions/quick?blocking=true", json={"ms": ms})
        slow = c.post("/api/v1/namespaces/_/actions/slow?blocking=true", json={"ms": 400})
        assert slow.status_code == 200
        assert c.post("/api/v1/namespaces/_/actions/failing?blocking=true").status_code == 502
        empty = stats(c)
        assert empty["queued"] == 0
        assert empty["oldestQueuedSeconds"] is None
        assert empty["ended"] == 4
        assert empty["byStatus"] == {"success": 3, "application_error": 1}
        assert empty["slowest"][0]["action"] == "guest/slow"
        by_action = {f["action"]: f for f in empty["slowest"]}
        assert by_action["guest/slow"]["meanMs"] >= 400
        assert by_action["guest/quick"]["calls"] == 2
        assert by_action["guest/failing"]["errors"] == 1

        ids = [
            c.post("/api/v1/namespaces/_/actions/slow", json={"ms": 3000}).json()["activationId"]
            for _ in range(2)
        ]

        def one_running_one_queued() -> dict[str, Any] | None:
            found = stats(c)
            return found if (found["running"], found["queued"]) == (1, 1) else None

        busy = wait_for(one_running_one_queued, 30, "one call running and one queued")
        assert busy["runningCalls"][0]["activationId"] in ids
        assert busy["runningCalls"][0]["action"] == "guest/slow"
        assert busy["oldestQueuedSeconds"] >= 0
        for call_id in ids:
            assert wait_call(c, call_id)["state"] == "success"
        done = stats(c, window=3600)
        assert (done["queued"], done["running"], done["ended"]) == (0, 0, 6)
        assert done["windowSeconds"] == 3600
        assert done["endedPerSecond"] == round(6 / 3600, 3)


def test_stats_need_the_namespace_key_and_a_whole_window(server: SluiceServer) -> None:
    anonymous = httpx.get(server.url + STATS, timeout=30)
    assert anonymous.status_code == 401
    assert "error" in anonymous.json()
    with server.client() as c:
        bad = c.get(STATS, params={"window": "soon"})
        assert bad.status_code == 400
        assert "window" in bad.json()["error"]
        assert stats(c, window=10**9)["windowSeconds"] == 3600
