"""Triggers and rules: fire with Basic auth, one log line per rule, enable/disable."""

from __future__ import annotations

import json
from itertools import pairwise

import httpx
from tests.support.calls import wait_call
from tests.support.server import SluiceServer, put_action

ECHO = "function main(args) { return {got: args} }"


def _setup(c: httpx.Client, srv: SluiceServer, trigger: str, rule: str, action: str) -> None:
    assert put_action(c, action, ECHO).status_code == 200
    assert c.put(srv.ns_path(f"triggers/{trigger}"), json={}).status_code == 200
    r = c.put(
        srv.ns_path(f"rules/{rule}"),
        json={"trigger": f"/guest/{trigger}", "action": f"/guest/{action}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert r.json()["trigger"] == {"path": "guest", "name": trigger}
    assert r.json()["action"] == {"path": "guest", "name": action}


def test_fire_runs_the_rule_action_and_logs_its_id(server: SluiceServer) -> None:
    with server.client() as c:
        _setup(c, server, "t-fire", "r-fire", "a-fire")
        got = c.get(server.ns_path("triggers/t-fire")).json()
        assert got["rules"] == {
            "guest/r-fire": {"action": {"path": "guest", "name": "a-fire"}, "status": "active"}
        }
        # the seed's curl: POST with Basic auth and no body, on the `_` namespace
        fired = c.post("/api/v1/namespaces/_/triggers/t-fire")
        assert fired.status_code == 202
        tid = fired.json()["activationId"]
        logs = c.get(server.ns_path(f"activations/{tid}/logs")).json()["logs"]
        assert len(logs) == 1
        entry = json.loads(logs[0])
        assert entry["rule"] == "guest/r-fire"
        assert entry["action"] == "guest/a-fire"
        assert entry["success"] is True
        assert entry["statusCode"] == 0
        aid = entry["activationId"]
        assert wait_call(c, aid)["state"] == "success"
        assert c.get(server.ns_path(f"activations/{aid}/result")).json()["result"] == {"got": {}}
        record = c.get(server.ns_path(f"activations/{tid}")).json()
        assert record["name"] == "t-fire"
        assert "duration" not in record
        assert "end" not in record

        with_params = c.post(server.ns_path("triggers/t-fire"), json={"x": 1}).json()
        entry = json.loads(
            c.get(server.ns_path(f"activations/{with_params['activationId']}/logs")).json()["logs"][
                0
            ]
        )
        wait_call(c, entry["activationId"])
        result = c.get(server.ns_path(f"activations/{entry['activationId']}/result")).json()
        assert result["result"] == {"got": {"x": 1}}


def test_disabled_rule_does_not_fire(server: SluiceServer) -> None:
    with server.client() as c:
        _setup(c, server, "t-off", "r-off", "a-off")
        r = c.post(server.ns_path("rules/r-off"), json={"status": "inactive"})
        assert r.status_code == 200
        assert r.text == "OK"
        assert c.get(server.ns_path("rules/r-off")).json()["status"] == "inactive"
        assert c.post(server.ns_path("triggers/t-off")).status_code == 204
        c.post(server.ns_path("rules/r-off"), json={"status": "active"})
        assert c.post(server.ns_path("triggers/t-off")).status_code == 202


def test_rule_to_a_deleted_action_logs_a_failure(server: SluiceServer) -> None:
    with server.client() as c:
        _setup(c, server, "t-gone", "r-gone", "a-gone")
        assert c.delete(server.ns_path("actions/a-gone")).status_code == 200
        fired = c.post(server.ns_path("triggers/t-gone"))
        assert fired.status_code == 202
        logs = c.get(server.ns_path(f"activations/{fired.json()['activationId']}/logs")).json()
        entry = json.loads(logs["logs"][0])
        assert entry["success"] is False
        assert entry["statusCode"] == 1
        assert "does not exist" in entry["error"]


def test_trigger_fire_needs_auth(server: SluiceServer) -> None:
    with server.client() as c:
        c.put(server.ns_path("triggers/t-auth"), json={})
    assert httpx.post(server.url + "/api/v1/namespaces/_/triggers/t-auth").status_code == 401


def test_rule_needs_an_existing_trigger(server: SluiceServer) -> None:
    with server.client() as c:
        r = c.put(
            server.ns_path("rules/r-x"), json={"trigger": "/guest/nope", "action": "/guest/x"}
        )
        assert r.status_code == 404


NAP = "function main(a) { return new Promise(r => setTimeout(() => r({napped: true}), 500)) }"


def test_fired_calls_keep_their_functions_cap_on_running_calls(server: SluiceServer) -> None:
    # the calls a fire makes are built as every call is: with the function's own lane
    single = [{"key": "com.openfaas.max_inflight", "value": "1"}]
    with server.client() as c:
        assert put_action(c, "a-single", NAP, annotations=single).status_code == 200
        assert c.put(server.ns_path("triggers/t-single"), json={}).status_code == 200
        rule = {"trigger": "/guest/t-single", "action": "/guest/a-single"}
        assert c.put(server.ns_path("rules/r-single"), json=rule).status_code == 200
        fired = [c.post(server.ns_path("triggers/t-single")).json()["activationId"] for _ in "abc"]
        ids = [
            json.loads(c.get(server.ns_path(f"activations/{tid}/logs")).json()["logs"][0])[
                "activationId"
            ]
            for tid in fired
        ]
        for aid in ids:
            assert wait_call(c, aid)["state"] == "success"
        spans = sorted(
            (record["start"], record["end"])
            for record in (c.get(server.ns_path(f"activations/{aid}")).json() for aid in ids)
        )
    for (_, ended), (started, _) in pairwise(spans):
        assert started >= ended


def test_a_rule_may_start_a_sequence(server: SluiceServer) -> None:
    with server.client() as c:
        twice = "function main(a) { return {n: (a.n || 0) * 2} }"
        assert put_action(c, "a-twice", twice).is_success
        seq = {"exec": {"kind": "sequence", "components": ["a-twice", "a-twice"]}}
        assert c.put(server.ns_path("actions/a-seq?overwrite=true"), json=seq).is_success
        assert c.put(server.ns_path("triggers/t-seq"), json={}).status_code == 200
        rule = {"trigger": "/guest/t-seq", "action": "/guest/a-seq"}
        assert c.put(server.ns_path("rules/r-seq"), json=rule).status_code == 200
        tid = c.post(server.ns_path("triggers/t-seq"), json={"n": 3}).json()["activationId"]
        entry = json.loads(c.get(server.ns_path(f"activations/{tid}/logs")).json()["logs"][0])
        assert wait_call(c, entry["activationId"])["state"] == "success"
        record = c.get(server.ns_path(f"activations/{entry['activationId']}")).json()
        assert record["response"]["result"] == {"n": 12}
        assert len(record["logs"]) == 2
