"""GET /metrics on a real server whose calls run in its worker process (several processes
count into one scrape): accept, start, end, timings, the warm pool, callbacks, dead letters,
queue depth, HTTP requests and OpenFaaS's gateway metrics move as real calls go through;
access is loopback-only unless a bearer token is set; SLUICE_METRICS=off serves none."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from tests.dialects.openfaas.helpers import make_function, wait_status
from tests.support.calls import wait_call
from tests.support.listener import LOOPBACK_CALLBACKS, Listener
from tests.support.scrape import Samples, names, scrape, value
from tests.support.server import TEST_QUEUE, TEST_STORE, SluiceServer, put_action, wait_for

from sluice.paths import default_work_dir

HELLO_JS = "function main(p) { return {ok: true}; }"
FAILING_JS = "function main() { throw new Error('broken'); }"
SLOW_JS = "function main() { return new Promise(r => setTimeout(() => r({}), 1500)); }"
OW_ACTION = "/api/v1/namespaces/{ns}/actions/{name}"
#: the calls run in a worker process of the server's (its values counted in a second
#: process), but for a test run over NATS or PostgreSQL, which has none
SPLIT = {} if TEST_QUEUE or TEST_STORE else {"SLUICE_WORKER_PROCESS": "1"}


@pytest.fixture(scope="module")
def ms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    env = {
        **SPLIT,
        "SLUICE_CALLBACK_BACKOFF_MS": "100",
        **LOOPBACK_CALLBACKS,
    }
    instance = SluiceServer(tmp_path_factory.mktemp("metrics"), extra_env=env)
    try:
        instance.start()
        yield instance
    finally:
        instance.close()


def _until(client: httpx.Client, check: Callable[[Samples], bool], what: str) -> Samples:
    """The first scrape that passes `check` (the worker process counts a call's end just
    after the caller may have heard of it)."""
    found: list[Samples] = []

    def passes() -> bool:
        found.append(scrape(client))
        return check(found[-1])

    wait_for(passes, 30, what, every=0.2)
    return found[-1]


def test_calls_move_counters_and_histograms(ms: SluiceServer) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"
    labels = {"namespace": "guest", "function": name}
    with ms.client() as c:
        assert put_action(c, name, HELLO_JS).status_code == 200
        blocking = c.post(ms.ns_path(f"actions/{name}?blocking=true"), json={})
        assert blocking.status_code == 200, blocking.text
        started = c.post(ms.ns_path(f"actions/{name}"), json={})
        assert started.status_code == 202
        wait_call(c, started.json()["activationId"])
        assert c.post(f"/function/{name}", content=b"{}").status_code == 200

        def all_three_ended(s: Samples) -> bool:
            return value(s, "sluice_calls_finished_total", **labels) == 3

        after = _until(c, all_three_ended, "three ends counted")

    assert value(after, "sluice_calls_accepted_total", **labels, dialect="openwhisk") == 2
    assert value(after, "sluice_calls_accepted_total", **labels, dialect="openfaas") == 1
    assert value(after, "sluice_calls_started_total", **labels) == 3
    assert value(after, "sluice_calls_finished_total", **labels, status="success") == 3
    for histogram in ("sluice_call_wait_seconds", "sluice_call_run_seconds"):
        assert value(after, f"{histogram}_count", **labels) == 3
        assert value(after, f"{histogram}_bucket", **labels, le="+Inf") == 3
        assert value(after, f"{histogram}_sum", **labels) > 0
    # the first call of a new action initialised its process; the others ran warm
    assert value(after, "sluice_cold_starts_total", **labels) == 1
    assert value(after, "sluice_call_init_seconds_count", **labels) == 1
    assert value(after, "sluice_warm_pool_hits_total") >= 2
    assert value(after, "sluice_warm_pool_misses_total") >= 1
    assert value(after, "sluice_warm_pool_processes") >= 1  # the worker process's gauge
    assert value(after, "sluice_store_commit_seconds_count") > 0
    route = {"route": OW_ACTION, "method": "POST"}
    assert value(after, "sluice_http_requests_total", **route, status="200") >= 1
    assert value(after, "sluice_http_requests_total", **route, status="202") >= 1
    gateway = {"function_name": f"{name}.guest", "code": "200"}
    assert value(after, "gateway_function_invocation_total", **gateway) == 1
    assert value(after, "gateway_functions_seconds_count", **gateway) == 1
    assert value(after, "gateway_function_invocation_started_total", function_name=name + ".guest")
    assert value(after, "gateway_service_count", function_name=f"{name}.guest") == 1


def test_callbacks_and_dead_letters_are_counted(ms: SluiceServer) -> None:
    suffix = uuid.uuid4().hex[:8]
    make_function(ms, f"echo-{suffix}", HELLO_JS)
    make_function(ms, f"failing-{suffix}", FAILING_JS)
    with ms.client() as c, Listener(statuses=[503]) as receiver:
        before = scrape(c)
        accepted = c.post(
            f"/async-function/echo-{suffix}", headers={"X-Callback-Url": receiver.url}
        )
        assert accepted.status_code == 202
        receiver.wait(2)  # a 503, retried, then taken
        failed = c.post(f"/async-function/failing-{suffix}")
        assert wait_status(c, failed.headers["x-call-id"])["status"] != "success"

        def counted(s: Samples) -> bool:
            moved = [
                value(s, name) - value(before, name)
                for name in (
                    "sluice_callback_retries_total",
                    "sluice_callback_deliveries_total",
                    "sluice_dead_letters_total",
                )
            ]
            return moved == [1, 1, 1]

        after = _until(c, counted, "a callback retried and delivered, and a dead letter")
    assert value(after, "sluice_callback_failures_total") == value(
        before, "sluice_callback_failures_total"
    )
    letters = {"namespace": "guest", "function": f"failing-{suffix}"}
    assert value(after, "sluice_dead_letters_total", **letters) == 1


def test_queue_depth_and_age_are_read_at_scrape(new_server: Callable[..., SluiceServer]) -> None:
    # room for one call at a time: the next ones wait in the queue while it runs
    server = new_server(SLUICE_WORKER_MEMORY_MB="256").start()
    with server.client() as c:
        assert put_action(c, "slow", SLOW_JS).status_code == 200
        assert value(scrape(c), "sluice_queue_depth") == 0
        ids = [
            c.post(server.ns_path("actions/slow"), json={}).json()["activationId"] for _ in range(3)
        ]

        def two_waiting(s: Samples) -> bool:
            return value(s, "sluice_queue_depth", queue="default") == 2

        waiting = _until(c, two_waiting, "two calls queued behind the running one")
        assert value(waiting, "sluice_queue_oldest_age_seconds", queue="default") > 0
        for call_id in ids:
            wait_call(c, call_id)
        assert value(scrape(c), "sluice_queue_depth") == 0


def _outside_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family.name == "AF_INET" and not address.address.startswith("127."):
                return str(address.address)
    return None


def test_only_loopback_or_the_token_may_read(new_server: Callable[..., SluiceServer]) -> None:
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no address but loopback")
    open_server = new_server(SLUICE_HOST="0.0.0.0").start()
    refused = httpx.get(f"http://{outside}:{open_server.port}/metrics", timeout=10)
    assert refused.status_code == 403
    assert httpx.get(f"{open_server.url}/metrics", timeout=10).status_code == 200

    token = uuid.uuid4().hex
    guarded = new_server(SLUICE_HOST="0.0.0.0", SLUICE_METRICS_TOKEN=token).start()
    url = f"http://{outside}:{guarded.port}/metrics"
    assert httpx.get(url, timeout=10).status_code == 401
    wrong = httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    right = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert right.status_code == 200
    assert "sluice_http_requests_total" in right.text


def _values_dir(server: SluiceServer) -> Path:
    return default_work_dir(server.data_dir) / "metrics"


def test_values_live_in_the_work_dir_until_a_clean_stop(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(**SPLIT).start()
    assert server.process is not None
    (mine,) = _values_dir(server).iterdir()
    assert mine.name == str(server.process.pid)
    assert list(mine.glob("*.db"))
    assert server.stop()
    assert not _values_dir(server).exists()


def test_metrics_off(new_server: Callable[..., SluiceServer]) -> None:
    server = new_server(SLUICE_METRICS="off").start()
    with server.client() as c:
        assert put_action(c, "hello", HELLO_JS).status_code == 200
        assert c.post(server.ns_path("actions/hello?blocking=true"), json={}).status_code == 200
        assert c.get("/metrics").status_code == 404
    assert not _values_dir(server).exists()


DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "sluice.json"
#: a metric selector in PromQL (the dashboard writes every one with its label matchers)
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")
_LABEL_VALUES = re.compile(r"label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,")


def _queries(node: Any) -> Iterator[str]:
    """Every PromQL expression of the dashboard: its panels' targets and its variables."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" or (key == "query" and isinstance(value, str) and "(" in value):
                yield value
            else:
                yield from _queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from _queries(item)


def test_the_grafana_dashboard_asks_for_metrics_a_scrape_has(ms: SluiceServer) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = list(_queries(dashboard))
    assert len(queries) >= len(dashboard["panels"]) >= 15
    wanted: set[str] = set()
    for query in queries:
        found = _SELECTOR.findall(query) + _LABEL_VALUES.findall(query)
        assert found, f"no metric named in {query!r}"
        wanted.update(found)
    make_function(ms, "dash-failing", FAILING_JS)  # a dead letter: its family exists then
    with ms.client() as c:
        failed = c.post("/async-function/dash-failing")
        wait_status(c, failed.headers["x-call-id"])
        wait_for(lambda: value(scrape(c), "sluice_dead_letters_total"), 30, "a dead letter")
        served = names(c)
    assert wanted - served == set()
