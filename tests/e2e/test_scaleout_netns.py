"""Fault tests with a Sluice worker host in a network namespace of its own, joined to this
machine by a veth pair and reaching PostgreSQL and NATS on that link's address only: cut
off with calls running and brought back after its leases expired, it changes no outcome;
killed (every process in it) during 2,000 accepted calls, it loses none."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from tests.support.cluster import RECORDER, Host, ended, running_cluster, runs, submit
from tests.support.nats import NatsServer
from tests.support.netns import Netns, Relay, netns_unavailable
from tests.support.server import put_action, wait_for


@pytest.fixture
def netns() -> Iterator[Netns]:
    why = netns_unavailable()
    if why is not None:
        pytest.skip(why)
    made = Netns(0).create()
    try:
        yield made
    finally:
        made.delete()


def _running_on(url: str) -> int:
    try:
        return int(httpx.get(f"{url}/health", timeout=1).json()["capacity"]["running"])
    except httpx.HTTPError:
        return 0


def _inside(netns: Netns, pg_url: str, nats_url: str) -> tuple[Host, list[Relay]]:
    """A worker host in the namespace, reaching PostgreSQL and NATS by relays on the link."""
    pg, nats = urlsplit(pg_url), urlsplit(nats_url)
    pg_relay = Relay(netns.outer, pg.hostname or "127.0.0.1", pg.port or 5432)
    nats_relay = Relay(netns.outer, nats.hostname or "127.0.0.1", nats.port or 4222)
    host = Host(
        address=netns.inner,
        wrapper=netns.wrapper,
        env={
            "SLUICE_STORE": urlunsplit(
                pg._replace(netloc=f"postgres@{netns.outer}:{pg_relay.port}")
            ),
            "SLUICE_QUEUE": f"nats://{netns.outer}:{nats_relay.port}",
        },
    )
    return host, [pg_relay, nats_relay]


def test_a_worker_cut_off_past_its_leases_changes_no_outcome(
    tmp_path: Path, private_nats: NatsServer, pg_url: str, netns: Netns
) -> None:
    inside, relays = _inside(netns, pg_url, private_nats.url)
    log = tmp_path / "runs.txt"
    try:
        with (
            running_cluster(
                tmp_path, private_nats.url, pg_url, workers=[inside, Host()]
            ) as cluster,
            cluster.api.client() as c,
        ):
            api, cut_off = cluster.api, cluster.workers[0]
            assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
            ids = submit(c, api, 120, log=str(log), sleep=1.5)
            wait_for(lambda: _running_on(cut_off.url) > 0, 60, "calls running in the namespace")
            netns.cut()
            cut_ms = time.time() * 1000
            # its leases run out; the other worker runs its calls again, and all the rest
            outcomes = wait_for(lambda: ended(cluster, ids), 240, "every call to end")
            netns.restore()
            # back on the network, it reports outcomes for leases it lost: fenced, dropped
            wait_for(
                lambda: "lease lost, outcome dropped" in cut_off.log_path.read_text(),
                60,
                "the cut-off worker's late outcome",
            )
            assert ended(cluster, ids) == outcomes
    finally:
        for relay in relays:
            relay.close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT id, attempts, started FROM calls WHERE id = ANY(%s)",
            ([bytes.fromhex(i) for i in ids],),
        ).fetchall()
    counted = runs(log)
    twice = {bytes(row[0]).hex(): row for row in rows if counted[bytes(row[0]).hex()] > 1}
    assert Counter(outcomes.values()) == Counter({"success": 120})
    assert twice, "no call of the cut-off worker ran again"
    # each call's one outcome is from its last attempt, begun after the cut
    assert all(row[1] >= 2 and row[2] > cut_ms for row in twice.values())
    print(
        f"\n120 calls, a worker cut off past its leases: {dict(Counter(outcomes.values()))};"
        f" runs per call: {dict(Counter(counted[i] for i in ids))}"
    )


def test_a_worker_host_killed_during_2000_calls_loses_none(
    tmp_path: Path, nats_url: str, pg_url: str, netns: Netns
) -> None:
    inside, relays = _inside(netns, pg_url, nats_url)
    log = tmp_path / "runs.txt"
    try:
        with (
            running_cluster(tmp_path, nats_url, pg_url, workers=[inside, Host()]) as cluster,
            cluster.api.client() as c,
        ):
            api, doomed = cluster.api, cluster.workers[0]
            assert put_action(c, "recorder", RECORDER, kind="python:3").status_code == 200
            # submitted while the host dies, so that it surely has calls running then (the
            # workers can keep up with one sequential submitter)
            with ThreadPoolExecutor(1) as pool:
                submitting = pool.submit(submit, c, api, 2000, log=str(log), sleep=0.05)
                wait_for(
                    lambda: len(runs(log)) >= 300 and _running_on(doomed.url) > 0,
                    300,
                    "300 calls to have run and calls running on the host",
                )
                killed = netns.kill_all()  # the host dies: its worker and every function process
                ids = submitting.result()
            outcomes = wait_for(lambda: ended(cluster, ids), 600, "every call to end")
    finally:
        for relay in relays:
            relay.close()
    counted = runs(log)
    assert killed > 0
    assert Counter(outcomes.values()) == Counter({"success": 2000})
    per_call = dict(Counter(counted[i] for i in ids))
    print(
        f"\n2000 calls, a worker host killed ({killed} processes):"
        f" {dict(Counter(outcomes.values()))}; runs per call: {per_call}"
    )
