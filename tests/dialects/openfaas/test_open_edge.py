"""The unauthenticated edge: without a key only OpenFaaS functions run; reading and
cancelling a call always take its owner's key, on every dialect's route; with
SLUICE_OPENFAAS_AUTH nothing but /healthz is open; and no Sluice key reaches a function
or the store."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.dialects.fn.helpers import deploy as fn_deploy
from tests.dialects.fn.helpers import fn_client
from tests.dialects.openfaas.helpers import (
    ECHO_JS,
    SLEEP_JS,
    make_function,
    open_client,
    wait_status,
)
from tests.support.calls import wait_call
from tests.support.cli import sluice
from tests.support.server import SluiceServer, put_action

from sluice.ids import CallId

SHOUT = {"service": "edge-shout", "envProcess": "tr a-z A-Z"}


def _invocations(client: httpx.Client, name: str) -> float:
    found = client.get(f"/system/function/{name}")
    assert found.status_code == 200, found.text
    listed = client.get("/system/functions").json()
    (entry,) = [f for f in listed if f["name"] == name]
    count: float = entry["invocationCount"]
    return count


def _refused(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.text == "invalid credentials\n"
    assert answer.headers["www-authenticate"] == 'Basic realm="Restricted"'


def test_without_a_key_only_openfaas_functions_run(server: SluiceServer) -> None:
    with server.client() as key:
        assert key.post("/system/functions", json=SHOUT).status_code in (202, 409)
        assert put_action(key, "edge-plain", ECHO_JS).status_code == 200
    make_function(server, "edge-annotated", ECHO_JS)
    with open_client(server) as anyone:
        deployed = anyone.post("/function/edge-shout", content=b"hi")
        annotated = anyone.post("/async-function/edge-annotated", content=b"x")
        # a guest action that is not an OpenFaaS function, and a name that is nothing:
        # the same answer, so a caller without the key learns no names
        refused = [
            anyone.post("/function/edge-plain"),
            anyone.post("/async-function/edge-plain"),
            anyone.get("/function/edge-plain/sub/path"),
            anyone.post("/function/edge-nothing"),
            anyone.post("/async-function/edge-nothing"),
            anyone.post("/function/edge-plain", headers={"Authorization": "Bearer its-own"}),
        ]
    assert deployed.status_code == 200, deployed.text
    assert deployed.text == "HI"
    assert annotated.status_code == 202, annotated.text
    for answer in refused:
        _refused(answer)
    with server.client() as key:
        assert _invocations(key, "edge-plain") == 0.0  # nothing was queued
        ran = key.post("/function/edge-plain", json={"name": "Ed"})
        missing = key.post("/function/edge-nothing")
        assert _invocations(key, "edge-plain") == 1.0
    assert ran.status_code == 200, ran.text
    assert ran.json()["name"] == "Ed"
    assert missing.status_code == 404
    assert missing.text == "error finding function edge-nothing: not found\n"


def test_an_action_annotated_openfaas_is_an_open_function(
    server: SluiceServer, tmp_path: Path
) -> None:
    """As docs/openfaas.md shows it: `sluice action create NAME FILE -a openfaas true`."""
    code = tmp_path / "hello.js"
    code.write_text("function main(a) { return {body: 'hello ' + (a.name || 'you')}; }")
    with open_client(server) as anyone:
        _refused(anyone.post("/function/edge-cli"))
        sluice(server, "action", "create", "edge-cli", str(code), "-a", "openfaas", "true")
        answer = anyone.post("/function/edge-cli?name=Al")
    assert answer.status_code == 200, answer.text
    assert answer.text == "hello Al"


def test_an_idempotency_key_never_replays_a_call_to_a_caller_without_the_key(
    server: SluiceServer,
) -> None:
    """A replay answers with the first call's result: without the key it is only ever a
    call made without the key, to the same function. A Sluice key, when given, is checked
    even on an open function."""
    make_function(server, "edge-idem", SLEEP_JS)
    make_function(server, "edge-idem-2", SLEEP_JS)
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    with server.client() as guest, open_client(server) as anyone:
        owned = guest.post("/function/edge-idem", json={"ms": 7}, headers=key)
        first = anyone.post("/function/edge-idem", json={"ms": 1}, headers=key)
        again = anyone.post("/function/edge-idem", json={"ms": 2}, headers=key)
        elsewhere = anyone.post("/function/edge-idem-2", json={"ms": 3}, headers=key)
        mine = guest.post("/function/edge-idem", json={"ms": 4}, headers=key)
        wrong = {**key, "Authorization": f"Bearer {uuid.uuid4()}:{'x' * 64}"}
        refused = anyone.post("/function/edge-idem", json={"ms": 5}, headers=wrong)
    assert owned.json() == {"slept": 7}
    assert first.json() == {"slept": 1}
    assert "idempotent-replayed" not in first.headers
    assert first.headers["x-call-id"] != owned.headers["x-call-id"]
    assert again.json() == {"slept": 1}
    assert again.headers["idempotent-replayed"] == "true"
    assert elsewhere.json() == {"slept": 3}
    assert mine.json() == {"slept": 7}
    assert mine.headers["x-call-id"] == owned.headers["x-call-id"]
    _refused(refused)


def test_reading_or_cancelling_a_call_takes_its_owners_key(server: SluiceServer) -> None:
    other_key = server.admin("namespace", "create", "edge-other")
    make_function(server, "edge-sleep", SLEEP_JS)
    later = {"X-Delay-Seconds": "600"}
    with open_client(server) as anyone, server.client() as guest:
        # one call made without a key, one made by guest with its key through OpenWhisk
        faas_id = anyone.post("/async-function/edge-sleep", headers=later).headers["x-call-id"]
        made = guest.post(server.ns_path("actions/edge-sleep"), json={"ms": 1})
        assert made.status_code == 202, made.text
        ow_id = made.json()["activationId"]
        wait_call(guest, ow_id)
    ids = [CallId.parse(faas_id), CallId.parse(ow_id)]
    with open_client(server) as anyone, server.client(other_key) as other:
        for call_id in ids:
            assert call_id is not None
            for client, status in ((anyone, 401), (other, 403)):
                for method in ("GET", "DELETE"):
                    answer = client.request(method, f"/async-function/{call_id.uuid}")
                    assert answer.status_code == status, (method, answer.text)
                for rest in ("", "/result", "/logs"):
                    path = f"/api/v1/namespaces/guest/activations/{call_id.hex}{rest}"
                    assert client.get(path).status_code == status, path
                native = client.get(f"/sluice/v1/namespaces/guest/calls/{call_id.ulid}")
                assert native.status_code == status
            # the other namespace's own `_` has no such call
            mine = other.get(f"/api/v1/namespaces/_/activations/{call_id.hex}")
            assert mine.status_code == 404
            assert other.get(f"/sluice/v1/namespaces/_/calls/{call_id}").status_code == 404
    with server.client() as guest:
        assert guest.get(f"/async-function/{faas_id}").json()["status"] == "queued"
        assert guest.get(f"/async-function/{ow_id}").json()["status"] == "success"
        assert guest.delete(f"/async-function/{faas_id}").status_code == 202


def test_fn_calls_take_the_key(server: SluiceServer) -> None:
    with fn_client(server) as fn:
        fn_deploy(fn, "edge-app", "/hello", type="async")
        call_id = fn.post("/r/edge-app/hello").json()["call_id"]
    with httpx.Client(base_url=server.url) as anyone:
        for method, path in (
            ("POST", "/r/edge-app/hello"),
            ("GET", "/v1/apps/edge-app/calls"),
            ("GET", f"/v1/apps/edge-app/calls/{call_id}"),
            ("GET", f"/v1/apps/edge-app/calls/{call_id}/log"),
            ("DELETE", f"/v1/apps/edge-app/calls/{call_id}"),
        ):
            answer = anyone.request(method, path)
            assert answer.status_code == 401, (method, path)
            assert "message" in answer.json()["error"]


def test_openfaas_auth_closes_every_route_but_healthz(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(SLUICE_OPENFAAS_AUTH="true").start()
    with server.client() as key:
        assert key.post("/system/functions", json=SHOUT).status_code == 202
        accepted = key.post("/async-function/edge-shout", content=b"ok")
        assert accepted.status_code == 202, accepted.text
        call_id = accepted.headers["x-call-id"]
        assert wait_status(key, call_id)["body"] == "OK"
        assert key.post("/function/edge-shout", content=b"hi").text == "HI"
    bearer = {"Authorization": f"Bearer {server.auth}"}
    with httpx.Client(base_url=server.url, headers=bearer) as token:
        assert token.post("/function/edge-shout", content=b"yo").text == "YO"
    with open_client(server) as anyone:
        for method, path in (
            ("POST", "/function/edge-shout"),
            ("GET", "/function/edge-shout/sub"),
            ("POST", "/async-function/edge-shout"),
            ("GET", f"/async-function/{call_id}"),
            ("DELETE", f"/async-function/{call_id}"),
            ("GET", "/system/functions"),
            ("GET", "/system/info"),
            ("DELETE", "/system/queue/edge-shout"),
        ):
            _refused(anyone.request(method, path))
        assert anyone.get("/healthz").text == "OK"


ECHO_HEADERS_JS = """
function main(a) {
  return {statusCode: 200, headers: {"content-type": "application/json"},
          body: {seen: a.__ow_headers || {}}};
}
"""


def test_no_sluice_key_reaches_a_function_or_the_store(
    new_server: Callable[..., SluiceServer],
) -> None:
    """The caller's key, sent every way a client sends it, is neither handed to the
    function (as a header, a parameter or an Http_* variable) nor kept with the call; a
    function's own Authorization scheme still reaches it."""
    server = new_server().start()
    key = server.auth
    basic = "Basic " + base64.b64encode(key.encode()).decode()
    bearer = f"Bearer {key}"
    make_function(server, "edge-echo", ECHO_HEADERS_JS)
    with server.client() as client:
        deployed = client.post(
            "/system/functions", json={"service": "edge-env", "envProcess": "env"}
        )
        assert deployed.status_code == 202
        web = [{"key": "web-export", "value": True}, {"key": "require-whisk-auth", "value": True}]
        assert put_action(client, "edge-web", ECHO_HEADERS_JS, annotations=web).status_code == 200
    with fn_client(server) as fn:
        headers_py = "import json, os\nprint(json.dumps(sorted(k for k in os.environ)))\n"
        fn_deploy(fn, "edge-fn", "/env", headers_py)
        fn_answer = fn.post("/r/edge-fn/env")
    assert fn_answer.status_code == 200, fn_answer.text
    assert not any("AUTHORIZATION" in name.upper() for name in fn_answer.json())

    seen: list[str] = []
    with open_client(server) as anyone:
        for header in (basic, bearer):
            echoed = anyone.post("/function/edge-echo", headers={"Authorization": header})
            assert echoed.status_code == 200, echoed.text
            assert "authorization" not in echoed.json()["seen"]
            env = anyone.post("/function/edge-env", headers={"Authorization": header})
            assert env.status_code == 200, env.text
            assert "Http_Authorization" not in env.text
            accepted = anyone.post("/async-function/edge-echo", headers={"Authorization": header})
            seen.append(accepted.headers["x-call-id"])
            secured = anyone.get(
                f"{server.url}/api/v1/web/guest/default/edge-web.json",
                headers={"Authorization": header},
            )
            assert secured.status_code == 200, secured.text
            assert "authorization" not in secured.json()["body"]["seen"]
        own = {"Authorization": "Bearer the-functions-own-token"}
        echoed = anyone.post("/function/edge-echo", headers=own).json()
        env = anyone.post("/function/edge-env", headers=own).text
    assert echoed["seen"]["authorization"] == "Bearer the-functions-own-token"
    assert "Http_Authorization=Bearer the-functions-own-token" in env
    with server.client() as client:
        for call_id in seen:
            body = wait_status(client, call_id)["body"]
            assert "authorization" not in body
    stored = server.stored_bytes()
    secret = key.partition(":")[2]
    for text in (secret, basic.partition(" ")[2]):
        assert text.encode() not in stored
