"""The openwhisk npm client, as functions and scripts use it, against Sluice."""

from __future__ import annotations

from tests.support.calls import wait_call
from tests.support.ow_client import ow_call, ow_value
from tests.support.server import SluiceServer, put_action


def _env(server: SluiceServer) -> dict[str, str]:
    return {"apihost": server.url, "api_key": server.auth, "namespace": "guest"}


def test_invoke_both_ways_and_read_activations(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "ow-hello", "function main(p) { return {hi: p.name} }")
    started = ow_value(
        "return await ow.actions.invoke({name: 'ow-hello', blocking: false, params: {name: 'x'}})",
        **_env(server),
    )
    with server.client() as c:
        assert wait_call(c, started["activationId"])["state"] == "success"
    result = ow_value(
        "return await ow.actions.invoke({name: 'ow-hello', blocking: true, result: true,"
        " params: {name: 'Ada'}})",
        **_env(server),
    )
    assert result == {"hi": "Ada"}
    record = ow_value(
        f"return await ow.activations.get({{activationId: '{started['activationId']}'}})",
        **_env(server),
    )
    assert record["response"]["result"] == {"hi": "x"}
    listed = ow_value("return await ow.activations.list({limit: 2})", **_env(server))
    assert len(listed) == 2
    actions = ow_value("return await ow.actions.list()", **_env(server))
    assert "ow-hello" in {a["name"] for a in actions}


def test_errors_reach_the_client_as_openwhisk_errors(server: SluiceServer) -> None:
    missing = ow_call("return await ow.actions.invoke({name: 'no-such-action'})", **_env(server))
    assert not missing.ok
    assert missing.error["statusCode"] == 404
    assert "The requested resource does not exist." in missing.error["message"]
    with server.client() as c:
        put_action(c, "ow-fails", "function main() { return {error: 'nope'} }")
    failed = ow_call(
        "return await ow.actions.invoke({name: 'ow-fails', blocking: true})", **_env(server)
    )
    assert not failed.ok
    assert failed.error["statusCode"] == 502
    assert "nope" in failed.error["message"]


def test_triggers_from_the_client(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "ow-target", "function main(p) { return p }")
        c.put(server.ns_path("triggers/ow-trigger"), json={})
        c.put(
            server.ns_path("rules/ow-rule"),
            json={"trigger": "/_/ow-trigger", "action": "/_/ow-target"},
        )
    fired = ow_value(
        "return await ow.triggers.invoke({name: 'ow-trigger', params: {from: 'client'}})",
        **_env(server),
    )
    assert len(fired["activationId"]) == 32


def test_python_functions_call_the_platform(server: SluiceServer) -> None:
    code = (
        "import openwhisk\n"
        "def main(args):\n"
        "    ow = openwhisk.client()\n"
        "    started = ow.invoke('py-callee', {'n': 1})\n"
        "    done = ow.invoke('py-callee', {'n': 2}, blocking=True, result=True)\n"
        "    return {'started': started['activationId'], 'done': done}\n"
    )
    with server.client() as c:
        put_action(
            c, "py-callee", "def main(a):\n    return {'twice': a['n'] * 2}\n", kind="python:3"
        )
        put_action(c, "py-caller", code, kind="python:3")
        r = c.post(server.ns_path("actions/py-caller?blocking=true&result=true"))
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["done"] == {"twice": 4}
        assert wait_call(c, out["started"])["state"] == "success"
