"""Alarm feeds through OpenWhisk's feed lifecycle, on the real clock with deadlines."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from tests.support.server import SluiceServer, put_action, wait_for

from sluice.ids import CallId

FEEDS = "/api/v1/namespaces/whisk.system/actions/alarms"


def _trigger_fires(c: httpx.Client, srv: SluiceServer, trigger: str) -> list[dict[str, object]]:
    listed = c.get(srv.ns_path(f"activations?name={trigger}&limit=200")).json()
    return [a for a in listed if a["name"] == trigger]


def _feed(c: httpx.Client, feed: str, event: str, trigger: str, **params: object) -> httpx.Response:
    body = {"lifecycleEvent": event, "triggerName": f"/guest/{trigger}", **params}
    return c.post(f"{FEEDS}/{feed}?blocking=true", json=body)


def _arm(c: httpx.Client, srv: SluiceServer, trigger: str) -> None:
    annotations = [{"key": "feed", "value": "/whisk.system/alarms/alarm"}]
    assert (
        c.put(srv.ns_path(f"triggers/{trigger}"), json={"annotations": annotations}).status_code
        == 200
    )
    put_action(c, f"{trigger}-action", "function main(a) { return a }")
    rule = {"trigger": f"/guest/{trigger}", "action": f"/guest/{trigger}-action"}
    assert c.put(srv.ns_path(f"rules/{trigger}-rule"), json=rule).status_code == 200


def test_the_alarms_package_is_published(server: SluiceServer) -> None:
    with server.client() as c:
        package = c.get("/api/v1/namespaces/whisk.system/packages/alarms").json()
        assert {a["name"] for a in package["actions"]} == {"alarm", "once", "interval"}
        assert package["publish"] is True


def test_cron_interval_and_once_fire(server: SluiceServer) -> None:
    with server.client() as c:
        for name in ("every-minute", "every-1m", "just-once"):
            _arm(c, server, name)
        created = _feed(
            c,
            "alarm",
            "CREATE",
            "every-minute",
            cron="* * * * *",
            trigger_payload={"tick": True},
            authKey=server.auth,
        )
        assert created.status_code == 200, created.text
        assert created.json()["response"]["success"] is True
        assert _feed(c, "interval", "CREATE", "every-1m", minutes=1).status_code == 200
        soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
        assert _feed(c, "once", "CREATE", "just-once", date=soon).status_code == 200
        assert _feed(c, "alarm", "CREATE", "every-minute", cron="not cron").status_code == 502
        read = _feed(c, "alarm", "READ", "every-minute").json()["response"]["result"]
        assert read["config"]["cron"] == "* * * * *"

        wait_for(lambda: _trigger_fires(c, server, "just-once"), 30, "the once alarm")
        wait_for(lambda: _trigger_fires(c, server, "every-minute"), 70, "the cron alarm", every=1)
        wait_for(lambda: _trigger_fires(c, server, "every-1m"), 70, "the interval alarm", every=1)
        fire = _trigger_fires(c, server, "every-minute")[0]
        record = c.get(server.ns_path(f"activations/{fire['activationId']}")).json()
        assert record["response"]["result"] == {"tick": True}
        entry = json.loads(record["logs"][0])
        assert entry["action"] == "guest/every-minute-action"
        # the session's server is shared: an alarm left armed fires into later tests' listings
        for feed, name in (("alarm", "every-minute"), ("interval", "every-1m")):
            assert _feed(c, feed, "DELETE", name).status_code == 200
            assert _feed(c, feed, "READ", name).status_code == 502


def test_no_double_fire_after_restart(new_server: Callable[..., SluiceServer]) -> None:
    srv = new_server().start()
    with srv.client() as c:
        _arm(c, srv, "tick")
        assert _feed(c, "alarm", "CREATE", "tick", cron="* * * * *").status_code == 200
        first = wait_for(lambda: _trigger_fires(c, srv, "tick"), 70, "the first fire", every=1)
    srv.kill()
    srv.start()
    with srv.client() as c:
        # the slot already fired stays fired once; the next one comes in its own minute
        wait_for(lambda: len(_trigger_fires(c, srv, "tick")) >= 2, 70, "the next fire", every=1)
        starts = [f["start"] for f in _trigger_fires(c, srv, "tick")]
        minutes = [s // 60_000 for s in starts]
        assert len(minutes) == len(set(minutes)), f"fired twice in one minute: {starts}"
        assert first[0]["activationId"] in {
            f["activationId"] for f in _trigger_fires(c, srv, "tick")
        }


def test_a_fire_id_is_keyed_with_the_platform_secret(server: SluiceServer) -> None:
    """Idempotent (the same slot gives the same id) yet not computable from the schedule:
    the id is an HMAC keyed with the platform secret, and nothing of it is readable
    without the key."""
    slot = int((datetime.now(UTC) + timedelta(seconds=2)).timestamp() * 1000)
    with server.client() as c:
        _arm(c, server, "keyed-once")
        assert _feed(c, "once", "CREATE", "keyed-once", date=slot).status_code == 200
        (fire,) = wait_for(lambda: _trigger_fires(c, server, "keyed-once"), 30, "the fire")
    secret = (server.data_dir / "secret").read_text().strip().encode()
    expected = CallId.derived(slot, f"guest/keyed-once/{slot}", secret)
    assert fire["activationId"] == expected.hex
    assert expected != CallId.derived(slot, f"guest/keyed-once/{slot}", b"a guess")
    with httpx.Client(base_url=server.url) as anyone:
        for path in (f"/async-function/{expected.uuid}", server.ns_path(f"activations/{expected}")):
            assert anyone.get(path).status_code == 401, path
