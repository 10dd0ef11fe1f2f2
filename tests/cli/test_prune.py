"""Activation records are kept for SLUICE_ACTIVATION_RETENTION, then forgotten by the server,
or at once with `sluice activation prune`; calls not ended yet are never forgotten."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.calls import wait_call
from tests.support.cli import sluice
from tests.support.server import SluiceServer, put_action, wait_for

SLEEPER = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms}), args.ms));
}
"""


def test_records_past_their_retention_are_forgotten(
    new_server: Callable[..., SluiceServer],
) -> None:
    srv = new_server(SLUICE_ACTIVATION_RETENTION="2").start()
    with srv.client() as c:
        assert put_action(c, "sleeper", SLEEPER).status_code == 200
        quick = c.post(srv.ns_path("actions/sleeper?blocking=true"), json={"ms": 1}).json()
        slow = c.post(srv.ns_path("actions/sleeper"), json={"ms": 6000}).json()["activationId"]
        record = srv.ns_path(f"activations/{quick['activationId']}")
        assert c.get(record).status_code == 200
        wait_for(lambda: c.get(record).status_code == 404, 30, "the quick call forgotten")
        # running longer than the retention: still there, and its record once it ends
        state = c.get(f"/sluice/v1/namespaces/_/calls/{slow}").json()
        assert state["state"] in ("queued", "running")
        assert wait_call(c, slow, timeout=30)["state"] == "success"
        assert c.get(srv.ns_path(f"activations/{slow}")).status_code in (200, 404)
        wait_for(
            lambda: c.get(srv.ns_path(f"activations/{slow}")).status_code == 404,
            30,
            "the slow call forgotten after its end",
        )


def test_prune_forgets_at_once(new_server: Callable[..., SluiceServer]) -> None:
    srv = new_server().start()  # the default retention: 7 days
    with srv.client() as c:
        put_action(c, "sleeper", SLEEPER)
        done = c.post(srv.ns_path("actions/sleeper?blocking=true"), json={"ms": 1}).json()
        record = srv.ns_path(f"activations/{done['activationId']}")
        assert c.get(record).status_code == 200
    kept = sluice(srv, "activation", "prune")
    assert kept.stdout.startswith("forgot 0 calls ended before ")

    def pruned() -> bool:
        return sluice(srv, "activation", "prune", "--older-than", "1").stdout.startswith(
            "forgot 1 calls"
        )

    wait_for(pruned, 30, "the call pruned", every=0.5)
    with srv.client() as c:
        assert c.get(record).status_code == 404
    listed = json.loads(sluice(srv, "activation", "list", "--json").stdout)
    assert listed == []
    bad = sluice(srv, "activation", "prune", "--older-than", "soon", ok=False)
    assert bad.returncode == 2
    assert "'soon' is no duration" in bad.stderr
