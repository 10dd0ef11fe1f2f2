"""Queue controls: a function in a named queue (com.openfaas.queue) runs only as many calls
at once as its queue allows, leaving the rest of the workers to other functions; a
function's max_inflight caps its own running calls, SLUICE_MAX_RUNNING all of them."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from tests.dialects.openfaas.helpers import wait_status
from tests.support.server import SluiceServer

SLOW = {
    "service": "slow",
    "envProcess": "sleep 3",
    "annotations": {"com.openfaas.queue": "slow"},
}
SINGLE = {"service": "single", "envProcess": "sleep 0.5", "envVars": {"max_inflight": "1"}}
FAST = {"service": "fast", "envProcess": "cat"}
NAPS = [{"service": f"nap-{n}", "envProcess": "sleep 1"} for n in ("a", "b")]


def _deploy(server: SluiceServer, *specs: dict[str, object]) -> None:
    with server.client() as client:
        for spec in specs:
            made = client.post("/system/functions", json=spec)
            assert made.status_code == 202, made.text


def test_a_slow_queue_does_not_starve_other_functions(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(SLUICE_QUEUES="slow=1").start()
    _deploy(server, SLOW, FAST)
    with server.client() as client:
        slow = [client.post("/async-function/slow").headers["x-call-id"] for _ in range(5)]
        fast = client.post("/async-function/fast", content=b"hi")
        done = wait_status(client, fast.headers["x-call-id"], timeout=30)
        states = [client.get(f"/async-function/{i}").json()["status"] for i in slow]
    assert done["status"] == "success"
    assert states.count("running") == 1
    assert states.count("queued") == 4


def test_max_inflight_runs_a_functions_calls_one_at_a_time(server: SluiceServer) -> None:
    if not _exists(server, "single"):
        _deploy(server, SINGLE)
    with server.client() as client:
        ids = [client.post("/async-function/single").headers["x-call-id"] for _ in range(3)]
        ends = [wait_status(client, i) for i in ids]
    spans = sorted((end["startedAt"], end["endedAt"]) for end in ends)
    for (_, ended), (started, _) in pairwise(spans):
        assert started >= ended


def _exists(server: SluiceServer, name: str) -> bool:
    with server.client() as client:
        return client.get(f"/system/function/{name}").status_code == 200


def _most_at_once(ends: list[dict[str, Any]]) -> int:
    """The most calls that were running at one moment (an end before a start at a tie)."""
    events = sorted(
        [(end["startedAt"], 1) for end in ends] + [(end["endedAt"], -1) for end in ends]
    )
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def test_max_running_caps_every_function_together(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(SLUICE_MAX_RUNNING="2").start()
    _deploy(server, *NAPS)
    with server.client() as client:
        ids = [
            client.post(f"/async-function/{spec['service']}").headers["x-call-id"]
            for spec in NAPS * 3
        ]
        ends = [wait_status(client, i) for i in ids]
    assert [end["status"] for end in ends] == ["success"] * 6
    assert _most_at_once(ends) == 2
