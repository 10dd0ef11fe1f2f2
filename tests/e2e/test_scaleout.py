"""Sluice as several processes on one machine over PostgreSQL and NATS JetStream: an API
process, two worker processes and one or two schedulers, each a real `sluice serve --role`;
calls end once through a worker's SIGKILL and a restart of nats-server."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from sluice.ids import CallId
from sluice.store.postgres.migrate import migrate
from tests.support.cluster import RECORDER, Cluster, ended, running_cluster, runs, submit
from tests.support.nats import NatsServer
from tests.support.pg_private import PrivatePostgres, private_postgres_unavailable
from tests.support.server import SluiceServer, put_action, wait_for


@pytest.fixture
def cluster(tmp_path: Path, nats_url: str, pg_url: str) -> Iterator[Cluster]:
    with running_cluster(tmp_path, nats_url, pg_url) as made:
        yield made


def test_calls_spread_over_worker_processes_end_once(cluster: Cluster, tmp_path: Path) -> None:
    log = tmp_path / "runs.txt"
    api = cluster.api
    with api.client() as c:
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        # a blocking call on the API host, run by a worker process, answered at once
        r = c.post(
            api.ns_path("actions/recorder?blocking=true&result=true"), json={"log": str(log)}
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"ran": True}

        ids = submit(c, api, 200, log=str(log))
        wait_for(
            lambda: set(cluster.outcomes(ids).values()) == {"success"}, 120, "200 calls to end"
        )
    counted = runs(log)
    assert all(counted[i] == 1 for i in ids), "a call ran twice with no worker lost"
    assert cluster.states() == Counter({"success": 201})
    print(f"\n201 calls: {dict(cluster.states())}; runs per call: {Counter(counted.values())}")


def test_killing_a_worker_loses_no_call(cluster: Cluster, tmp_path: Path) -> None:
    log = tmp_path / "runs.txt"
    api = cluster.api
    with api.client() as c:
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        ids = submit(c, api, 200, log=str(log), sleep=0.2)
        # once some calls have ended, one worker dies with calls running
        wait_for(lambda: len(runs(log)) >= 40, 120, "40 calls to have run")
        cluster.workers[0].kill()  # SIGKILL: no goodbye, its leases simply expire
        outcomes = wait_for(lambda: ended(cluster, ids), 180, "every call to end after the kill")
    states = Counter(outcomes.values())
    counted = runs(log)
    assert len(outcomes) == 200
    assert states["success"] + states["platform_error"] == 200
    print(
        f"\n200 calls, one worker killed: {dict(states)};"
        f" runs per call: {dict(Counter(counted[i] for i in ids))}"
    )


def test_a_call_running_on_a_worker_is_cancelled_from_the_api_host(
    cluster: Cluster, tmp_path: Path
) -> None:
    api = cluster.api
    with api.client() as c:
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        [aid] = submit(c, api, 1, log=str(tmp_path / "runs.txt"), sleep=120)
        wait_for(lambda: cluster.outcomes([aid]).get(aid) == "running", 60, "the call to run")
        uuid = str(CallId(bytes.fromhex(aid)).uuid)
        r = c.delete(f"/async-function/{uuid}")
        assert r.status_code == 202, r.text
        wait_for(lambda: cluster.outcomes([aid]).get(aid) == "cancelled", 30, "the cancel")


def test_calls_survive_a_restart_of_nats_server(
    tmp_path: Path, private_nats: NatsServer, pg_url: str
) -> None:
    log = tmp_path / "runs.txt"
    with running_cluster(tmp_path, private_nats.url, pg_url) as cluster, cluster.api.client() as c:
        api = cluster.api
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        ids = submit(c, api, 100, log=str(log), sleep=0.05)
        wait_for(lambda: len(runs(log)) >= 20, 120, "20 calls to have run")
        private_nats.stop()
        # accepted while NATS is down: durable in the store, delivered once it is back
        ids += submit(c, api, 20, log=str(log))
        private_nats.start()
        ids += submit(c, api, 80, log=str(log))
        outcomes = wait_for(lambda: ended(cluster, ids), 180, "every call to end")
    counted = runs(log)
    assert Counter(outcomes.values()) == Counter({"success": 200})
    per_call = dict(Counter(counted[i] for i in ids))
    print(f"\n200 calls, nats-server restarted: runs per call {per_call}")


FEEDS = "/api/v1/namespaces/whisk.system/actions/alarms"


def _fires(c: httpx.Client, api: SluiceServer, trigger: str) -> list[dict[str, object]]:
    listed = c.get(api.ns_path(f"activations?name={trigger}&limit=200")).json()
    return [a for a in listed if a["name"] == trigger]


def _once_in(
    c: httpx.Client, api: SluiceServer, trigger: str, seconds: float, payload: dict[str, object]
) -> None:
    """A trigger with a rule, and a `once` alarm that fires it `seconds` from now."""
    annotations = [{"key": "feed", "value": "/whisk.system/alarms/once"}]
    r = c.put(api.ns_path(f"triggers/{trigger}"), json={"annotations": annotations})
    assert r.status_code == 200, r.text
    rule = {"trigger": f"/guest/{trigger}", "action": "/guest/recorder"}
    assert c.put(api.ns_path(f"rules/{trigger}-rule"), json=rule).status_code == 200
    date = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    body = {
        "lifecycleEvent": "CREATE",
        "triggerName": f"/guest/{trigger}",
        "date": date,
        "trigger_payload": payload,
    }
    r = c.post(f"{FEEDS}/once?blocking=true", json=body)
    assert r.status_code == 200, r.text


def test_of_two_schedulers_one_fires_each_alarm_and_the_other_takes_over(
    tmp_path: Path, nats_url: str, pg_url: str
) -> None:
    log = tmp_path / "runs.txt"
    with running_cluster(tmp_path, nats_url, pg_url, schedulers=2) as cluster:
        api = cluster.api
        with api.client() as c:
            assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
            # the alarm's payload goes to the rule's action: where to record its run
            _once_in(c, api, "first", 2, {"log": str(log)})
            wait_for(lambda: _fires(c, api, "first"), 60, "the first alarm")
            # the lock's holder dies; the other scheduler fires the next alarm
            holder = cluster.schedulers[0]
            holder.kill()
            _once_in(c, api, "second", 2, {"log": str(log)})
            wait_for(lambda: _fires(c, api, "second"), 60, "the second alarm")
            wait_for(lambda: len(runs(log)) == 2, 60, "both rules' action runs")
            assert len(_fires(c, api, "first")) == 1
            assert len(_fires(c, api, "second")) == 1


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    why = private_postgres_unavailable()
    if why is not None:
        pytest.skip(why)
    server = PrivatePostgres()
    try:
        server.init()
        asyncio.run(migrate(server.url))
        yield server
    finally:
        server.remove()


def test_accepted_calls_survive_a_restart_of_postgresql(
    tmp_path: Path, nats_url: str, private_pg: PrivatePostgres
) -> None:
    log = tmp_path / "runs.txt"
    with running_cluster(tmp_path, nats_url, private_pg.url) as cluster, cluster.api.client() as c:
        api = cluster.api
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        ids = submit(c, api, 100, log=str(log), sleep=0.05)
        wait_for(lambda: len(runs(log)) >= 20, 120, "20 calls to have run")
        private_pg.stop()
        # the store is down: a call is refused (503), never accepted and then lost
        refused = c.post(api.ns_path("actions/recorder?blocking=false"), json={"log": str(log)})
        assert refused.status_code == 503, refused.text
        private_pg.start()
        ids += wait_for(lambda: _accepted(c, api, str(log)), 60, "the store to be back")
        ids += submit(c, api, 50, log=str(log))
        outcomes = wait_for(lambda: ended(cluster, ids), 180, "every call to end")
        # the outage cost the workers none of their memory pool
        for worker in cluster.workers:
            wait_for(lambda w=worker: _idle(w), 30, "the worker's pool to be free")
    counted = runs(log)
    assert Counter(outcomes.values()) == Counter({"success": len(ids)})
    per_call = dict(Counter(counted[i] for i in ids))
    print(f"\n{len(ids)} calls, PostgreSQL restarted: runs per call {per_call}")


def _idle(worker: SluiceServer) -> bool:
    capacity = httpx.get(f"{worker.url}/health", timeout=5).json()["capacity"]
    return capacity["running"] == 0 and capacity["used_mb"] == 0


def _accepted(c: httpx.Client, api: SluiceServer, log: str) -> list[str] | None:
    r = c.post(api.ns_path("actions/recorder?blocking=false"), json={"log": log})
    return [r.json()["activationId"]] if r.status_code == 202 else None
