"""Several Sluice processes over PostgreSQL and NATS JetStream, as the scale-out tests run
them: an API process, workers (on this machine or in network namespaces) and schedulers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from sluice.ids import CallId
from tests.support.nats import delete_stream
from tests.support.server import SluiceServer

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


@dataclass
class Host:
    """Where a worker runs: this machine, or a network namespace (its address, the command
    that enters it, and the addresses it reaches PostgreSQL and NATS at)."""

    address: str = "127.0.0.1"
    wrapper: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


@contextmanager
def running_cluster(
    root: Path,
    nats_url: str,
    pg_url: str,
    schedulers: int = 1,
    workers: list[Host] | None = None,
) -> Iterator[Cluster]:
    """An API process, workers (two on this machine unless told) and schedulers."""
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

    def start(name: str, role: str, host: Host | None = None) -> SluiceServer:
        host = host or Host()
        server = SluiceServer(
            root / name,
            extra_env={**env, "SLUICE_ROLE": role, **host.env},
            address=host.address,
            wrapper=host.wrapper,
        )
        if role != "api":
            server.auth = "none: only the API host has a client config"
        made.append(server)
        return server.start()

    try:
        api = start("api", "api")
        hosts = [Host(), Host()] if workers is None else workers
        started_workers = [start(f"worker{n}", "worker", h) for n, h in enumerate(hosts)]
        started = [start(f"scheduler{n}", "scheduler") for n in range(schedulers)]
        yield Cluster(api, started_workers, started, pg_url)
    finally:
        for server in made:
            server.close()
        delete_stream(nats_url, stream)


def submit(client: httpx.Client, server: SluiceServer, count: int, **params: object) -> list[str]:
    ids = []
    for _ in range(count):
        r = client.post(server.ns_path("actions/recorder?blocking=false"), json=params)
        assert r.status_code == 202, r.text
        ids.append(r.json()["activationId"])
    return ids


def runs(log: Path) -> Counter[str]:
    return Counter(log.read_text().split()) if log.exists() else Counter()


def ended(cluster: Cluster, ids: list[str]) -> dict[str, str] | None:
    outcomes = cluster.outcomes(ids)
    if len(outcomes) == len(ids) and all(s not in ("queued", "running") for s in outcomes.values()):
        return outcomes
    return None
