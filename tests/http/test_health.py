"""/health (the process is up) and /ready (it can work: store and queue reachable, workers
present), on every role's port, with the reasons when it is not ready."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.cluster import Host, running_cluster
from tests.support.nats import NatsServer
from tests.support.server import TEST_QUEUE, TEST_STORE, SluiceServer, wait_for


def _get(server: SluiceServer, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=10)


def test_an_all_in_one_server_is_live_and_ready(server: SluiceServer) -> None:
    live = _get(server, "/health")
    assert live.status_code == 200
    assert live.json()["status"] == "ok"
    ready = _get(server, "/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "role": "all",
        "checks": {"store": "ok", "queue": "ok", "workers": "ok", "accepting": "ok"},
    }


@pytest.mark.skipif(bool(TEST_QUEUE or TEST_STORE), reason="an embedded server's split")
def test_a_worker_process_server_is_ready(new_server: Any) -> None:
    server = new_server(SLUICE_WORKER_PROCESS="1").start()
    ready = _get(server, "/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["workers"] == "ok"


def test_every_role_tells_when_nats_is_gone(
    tmp_path: Path, private_nats: NatsServer, pg_url: str
) -> None:
    with running_cluster(tmp_path, private_nats.url, pg_url, workers=[Host()]) as cluster:
        processes = [cluster.api, *cluster.workers, *cluster.schedulers]
        for process in processes:
            assert _get(process, "/health").status_code == 200
            ready = _get(process, "/ready")
            assert ready.status_code == 200, ready.text
            assert ready.json()["role"] in ("api", "worker", "scheduler")
        (worker,) = cluster.workers
        assert "sluice_warm_pool_hits_total" in _get(worker, "/metrics").text

        private_nats.stop()

        def all_not_ready() -> list[dict[str, Any]] | None:
            answers = [_get(process, "/ready") for process in processes]
            if all(answer.status_code == 503 for answer in answers):
                return [answer.json() for answer in answers]
            return None

        for body in wait_for(all_not_ready, 60, "every role to say it is not ready"):
            assert body["status"] == "not ready"
            assert body["checks"]["queue"] == "NATS is not connected"
            assert "NATS is not connected" in body["reasons"]
            assert body["checks"]["store"] == "ok"

        private_nats.start()
        wait_for(
            lambda: all(_get(p, "/ready").status_code == 200 for p in processes),
            60,
            "every role to be ready again",
        )
