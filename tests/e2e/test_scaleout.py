"""Sluice as several processes on one machine over PostgreSQL and NATS JetStream: an API
process, two worker processes and one or two schedulers, each a real `sluice serve --role`;
calls end once through a worker's SIGKILL and a restart of nats-server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from sluice.ids import CallId
from tests.support.nats import NatsServer
from tests.support.server import SluiceServer, put_action, wait_for

#: appends its activation id to a file, so the test counts how often each call ran
RECORDER = """
import os, time

def main(args):
    time.sleep(args.get('sleep', 0))
    with open(args['log'], 'a') as f:
        f.write(os.environ.get('__OW_ACTIVATION_ID', '?') + '\\n')
    return {'ran': True}
"""


@dataclass
class Cluster:
    api: SluiceServer
    workers: list[SluiceServer]
    schedulers: list[SluiceServer]
    pg: str

    def states(self) -> Counter[str]:
        with psycopg.connect(self.pg) as conn:
            rows = conn.execute("SELECT state, count(*) FROM calls GROUP BY state").fetchall()
        return Counter({state: count for state, count in rows})

    def outcomes(self, ids: list[str]) -> dict[str, str]:
        with psycopg.connect(self.pg) as conn:
            rows = conn.execute(
                "SELECT id, state FROM calls WHERE id = ANY(%s)", ([bytes.fromhex(i) for i in ids],)
            ).fetchall()
        return {bytes(row[0]).hex(): row[1] for row in rows}


@contextmanager
def running_cluster(
    root: Path, nats_url: str, pg_url: str, schedulers: int = 1
) -> Iterator[Cluster]:
    stream = f"T{CallId.new().hex}"
    env = {
        "SLUICE_STORE": pg_url,
        "SLUICE_QUEUE": nats_url,
        "SLUICE_NATS_STREAM": stream,
        "SLUICE_NATS_PREFIX": stream.lower(),
        "SLUICE_SECRET": "a secret every host shares",
        "SLUICE_SANDBOX": "none",
        "SLUICE_NATS_SWEEP_SECONDS": "5",
    }
    made: list[SluiceServer] = []

    def start(name: str, role: str) -> SluiceServer:
        server = SluiceServer(root / name, extra_env={**env, "SLUICE_ROLE": role})
        if role != "api":
            server.auth = "none: only the API host has a client config"
        made.append(server)
        return server.start()

    try:
        api = start("api", "api")
        workers = [start("worker1", "worker"), start("worker2", "worker")]
        started = [start(f"scheduler{n}", "scheduler") for n in range(schedulers)]
        yield Cluster(api, workers, started, pg_url)
    finally:
        for server in made:
            server.close()


@pytest.fixture
def cluster(tmp_path: Path, nats_url: str, pg_url: str) -> Iterator[Cluster]:
    with running_cluster(tmp_path, nats_url, pg_url) as made:
        yield made


def _submit(client: httpx.Client, server: SluiceServer, count: int, **params: object) -> list[str]:
    ids = []
    for _ in range(count):
        r = client.post(server.ns_path("actions/recorder?blocking=false"), json=params)
        assert r.status_code == 202, r.text
        ids.append(r.json()["activationId"])
    return ids


def _runs(log: Path) -> Counter[str]:
    return Counter(log.read_text().split()) if log.exists() else Counter()


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

        ids = _submit(c, api, 200, log=str(log))
        wait_for(
            lambda: set(cluster.outcomes(ids).values()) == {"success"}, 120, "200 calls to end"
        )
    runs = _runs(log)
    assert all(runs[i] == 1 for i in ids), "a call ran twice with no worker lost"
    assert cluster.states() == Counter({"success": 201})
    print(f"\n201 calls: {dict(cluster.states())}; runs per call: {Counter(runs.values())}")


def test_killing_a_worker_loses_no_call(cluster: Cluster, tmp_path: Path) -> None:
    log = tmp_path / "runs.txt"
    api = cluster.api
    with api.client() as c:
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        ids = _submit(c, api, 200, log=str(log), sleep=0.2)
        # once some calls have ended, one worker dies with calls running
        wait_for(lambda: len(_runs(log)) >= 40, 120, "40 calls to have run")
        cluster.workers[0].kill()  # SIGKILL: no goodbye, its leases simply expire
        outcomes = wait_for(lambda: _ended(cluster, ids), 180, "every call to end after the kill")
    states = Counter(outcomes.values())
    runs = _runs(log)
    assert len(outcomes) == 200
    assert states["success"] + states["platform_error"] == 200
    print(
        f"\n200 calls, one worker killed: {dict(states)};"
        f" runs per call: {dict(Counter(runs[i] for i in ids))}"
    )


def test_a_call_running_on_a_worker_is_cancelled_from_the_api_host(
    cluster: Cluster, tmp_path: Path
) -> None:
    api = cluster.api
    with api.client() as c:
        assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
        [aid] = _submit(c, api, 1, log=str(tmp_path / "runs.txt"), sleep=120)
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
        ids = _submit(c, api, 100, log=str(log), sleep=0.05)
        wait_for(lambda: len(_runs(log)) >= 20, 120, "20 calls to have run")
        private_nats.stop()
        # accepted while NATS is down: durable in the store, delivered once it is back
        ids += _submit(c, api, 20, log=str(log))
        private_nats.start()
        ids += _submit(c, api, 80, log=str(log))
        outcomes = wait_for(lambda: _ended(cluster, ids), 180, "every call to end")
    runs = _runs(log)
    assert Counter(outcomes.values()) == Counter({"success": 200})
    print(
        f"\n200 calls, nats-server restarted: runs per call {dict(Counter(runs[i] for i in ids))}"
    )


def _ended(cluster: Cluster, ids: list[str]) -> dict[str, str] | None:
    outcomes = cluster.outcomes(ids)
    if len(outcomes) == len(ids) and all(s not in ("queued", "running") for s in outcomes.values()):
        return outcomes
    return None


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
            wait_for(lambda: len(_runs(log)) == 2, 60, "both rules' action runs")
            assert len(_fires(c, api, "first")) == 1
            assert len(_fires(c, api, "second")) == 1
