"""Section "attacks": how Sluice's API answers while hostile functions run (issue 20).

Each hostile function of tests/sandbox runs once, blocking, while a probe lists the
namespace's actions every 20 ms; the probe's latency during the attack is set beside its
latency with nothing running, measured first on the same server."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

import httpx
from tests.sandbox import test_hostile as hostile
from tests.sandbox import test_hostile_node as hostile_node
from tests.support.server import SluiceServer, put_action

from bench.core import running_server
from bench.stats import fmt_ms, summary_ms
from bench.suite.common import Report, log
from bench.suite.table import Row, latency_row

#: name, code, kind, parameters, limits
ATTACKS: tuple[tuple[str, str, str, dict[str, Any], dict[str, int]], ...] = (
    ("fork bomb (Python)", hostile.FORK_BOMB, "python:3.11", {}, {}),
    ("2,000 threads (Python)", hostile.THREADS, "python:3.11", {}, {}),
    ("memory through a child (Python)", hostile.CHILD_MEMORY, "python:3.11", {}, {"memory": 128}),
    ("/dev/shm fill (Python)", hostile.SHM_FILL, "python:3.11", {"path": "/dev/shm/f"}, {}),
    ("20,000 open files (Python)", hostile.FDS, "python:3.11", {}, {}),
    ("spawn bomb (Node.js)", hostile_node.SPAWN_BOMB, "nodejs:20", {}, {}),
    ("worker threads (Node.js)", hostile_node.WORKERS, "nodejs:20", {}, {"memory": 512}),
    ("/tmp fill (Node.js)", hostile_node.FILL, "nodejs:20", {"path": "/tmp/f"}, {}),
    (
        "sleeping past its timeout (Python)",
        hostile.SLEEPER,
        "python:3.11",
        {"marker": "9"},
        {"timeout": 2000},
    ),
)
_PROBE_EVERY = 0.02


class Probe:
    """Lists the actions every 20 ms until stopped; the latency of each answer."""

    def __init__(self, server: SluiceServer) -> None:
        self.server = server
        self.seconds: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.server.client() as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get(self.server.ns_path("actions"), timeout=10).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.seconds.append(time.perf_counter() - started)
                else:
                    self.failures += 1
                self._stop.wait(_PROBE_EVERY)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)


def _attack(
    server: SluiceServer,
    name: str,
    code: str,
    kind: str,
    params: dict[str, Any],
    limits: dict[str, int],
    seconds: float,
) -> dict[str, Any]:
    """Run the attack again and again for `seconds` (once at least) under the probe."""
    action = "attack-" + "".join(c if c.isalnum() else "-" for c in name.lower())
    with server.client() as client:
        made = put_action(client, action, code, kind, limits=limits or {"timeout": 10_000})
        if made.status_code != 200:
            return {"error": made.text}
        statuses: dict[str, int] = {}
        deadline = time.monotonic() + seconds
        with Probe(server) as probe:
            while not statuses or time.monotonic() < deadline:
                reply = client.post(
                    server.ns_path(f"actions/{action}"),
                    params={"blocking": "true"},
                    json=params,
                    timeout=120,
                )
                status = str(reply.json().get("response", {}).get("status", reply.status_code))
                statuses[status] = statuses.get(status, 0) + 1
    return {**summary_ms(probe.seconds), "failures": probe.failures, "statuses": statuses}


def run(args: argparse.Namespace, report: Report) -> None:
    results: dict[str, Any] = {}
    with running_server(
        {"SLUICE_FUNCTION_PIDS": "96", "SLUICE_FUNCTION_TMP_MB": "64"}, args
    ) as server:
        log("attacks: the probe with nothing running")
        with Probe(server) as probe:
            time.sleep(args.seconds)
        results["idle"] = {**summary_ms(probe.seconds), "failures": probe.failures}
        for name, code, kind, params, function_limits in ATTACKS:
            log(f"attacks: {name}")
            results[name] = _attack(server, name, code, kind, params, function_limits, args.seconds)
    report.results["attacks"] = results
    report.rows += rows(results)


def rows(results: dict[str, Any]) -> list[Row]:
    idle = results.get("idle", {})
    reference = f"idle p50 {fmt_ms(idle.get('p50'))}, p99 {fmt_ms(idle.get('p99'))}"
    out = [
        latency_row(
            "9 attacks",
            "API probe (list actions every 20 ms), nothing running",
            idle,
            notes=f"n={idle.get('n')}; {idle.get('failures', 0)} failed",
        )
    ]
    for name, *_ in ATTACKS:
        figures = results.get(name)
        if not figures:
            continue
        out.append(
            latency_row(
                "9 attacks",
                f"API probe during: {name}",
                figures,
                reference=reference,
                notes=f"n={figures.get('n')}; {figures.get('failures', 0)} failed; "
                f"calls ended {figures.get('statuses')}",
            )
        )
    return out
