"""Triggers and rules: fire with Basic auth, one log line per rule, enable/disable."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import httpx
from tests.support.calls import wait_call
from tests.support.ow_client import OwOutcome, ow_call
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


def _ow(server: SluiceServer, body: str, **args: Any) -> OwOutcome:
    return ow_call(body, apihost=server.url, api_key=server.auth, namespace="_", args=args)


def test_a_rule_needs_an_existing_trigger_and_action(server: SluiceServer) -> None:
    with server.client() as c:
        assert put_action(c, "a-real", ECHO).status_code == 200
        assert c.put(server.ns_path("triggers/t-real"), json={}).status_code == 200
    create = "return ow.rules.create({name: args.name, trigger: args.trigger, action: args.action})"
    for trigger, action, message in (
        ("t-nope", "a-real", "trigger /guest/t-nope does not exist"),
        ("t-real", "a-nope", "action /guest/a-nope does not exist"),
        ("t-real", "nopkg/a", "action /guest/nopkg/a does not exist"),
    ):
        outcome = _ow(server, create, name="r-bad", trigger=trigger, action=action)
        assert not outcome.ok
        assert outcome.error["statusCode"] == 400
        assert outcome.error["error"]["error"] == message
        assert set(outcome.error["error"]) == {"error", "code"}
    with server.client() as c:
        assert c.get(server.ns_path("rules/r-bad")).status_code == 404
        # neither may be left out, and another namespace's trigger is not the caller's to use
        only = c.put(server.ns_path("rules/r-bad"), json={"trigger": "t-real"})
        assert only.status_code == 400
        assert only.json()["error"] == "rule requires a valid trigger and a valid action"
        theirs = c.put(
            server.ns_path("rules/r-bad"), json={"trigger": "/other/t", "action": "a-real"}
        )
        assert theirs.status_code == 403


def test_a_rule_of_a_deleted_trigger_stays_inactive(server: SluiceServer) -> None:
    with server.client() as c:
        _setup(c, server, "t-again", "r-again", "a-again")
        assert c.delete(server.ns_path("triggers/t-again")).status_code == 200
    got = _ow(server, "return ow.rules.get({name: 'r-again'})")
    assert got.value["status"] == "inactive"
    enable = _ow(server, "return ow.rules.enable({name: 'r-again'})")
    assert enable.error["statusCode"] == 404
    assert enable.error["error"]["error"] == "Only rules with existing triggers can be activated"
    # a trigger of the same name made again does not revive the rule
    assert _ow(server, "return ow.triggers.create({name: 't-again'})").ok
    assert _ow(server, "return ow.rules.get({name: 'r-again'})").value["status"] == "inactive"
    trigger = _ow(server, "return ow.triggers.get({name: 't-again'})").value
    assert "rules" not in trigger
    with server.client() as c:
        assert c.post(server.ns_path("triggers/t-again"), json={}).status_code == 204
    # until it is enabled again, on the trigger as it is now
    assert _ow(server, "return ow.rules.enable({name: 'r-again'})").ok
    assert _ow(server, "return ow.rules.get({name: 'r-again'})").value["status"] == "active"
    fired = _ow(server, "return ow.triggers.invoke({name: 't-again', params: {n: 1}})").value
    with server.client() as c:
        record = c.get(server.ns_path(f"activations/{fired['activationId']}")).json()
        started = json.loads(record["logs"][0])["activationId"]
        assert wait_call(c, started)["state"] == "success"
        result = c.get(server.ns_path(f"activations/{started}/result")).json()
    assert result["result"] == {"got": {"n": 1}}
    # updating a rule whose trigger is gone names the missing trigger
    with server.client() as c:
        assert c.delete(server.ns_path("triggers/t-again")).status_code == 200
        update = c.put(server.ns_path("rules/r-again?overwrite=true"), json={"annotations": []})
        assert update.status_code == 400
        assert update.json()["error"] == "trigger /guest/t-again does not exist"


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
