"""/function and /async-function over actions: answers, ids, status with a long poll, and
bad input answered in OpenFaaS's plain-text style."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from tests.dialects.openfaas.helpers import (
    ECHO_JS,
    SLEEP_JS,
    UUID,
    make_function,
    open_client,
    wait_status,
)
from tests.support.server import SluiceServer

from sluice.ids import CallId


def test_sync_call_answers_with_the_function_response(server: SluiceServer) -> None:
    make_function(server, "of-echo", ECHO_JS)
    with open_client(server) as client:
        answer = client.put("/function/of-echo/items/3?name=Ada", content=b"hello")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-echo"] == "yes"
    assert UUID.match(answer.headers["x-call-id"])
    assert answer.headers["x-start-time"].isdigit()
    assert float(answer.headers["x-duration-seconds"]) >= 0
    sent = answer.json()
    assert sent["method"] == "put"
    assert sent["path"] == "/items/3"
    assert sent["name"] == "Ada"
    assert sent["headers"]["x-call-id"] == answer.headers["x-call-id"]
    assert sent["headers"]["x-start-time"] == answer.headers["x-start-time"]


def test_a_plain_result_is_sent_as_json(server: SluiceServer) -> None:
    make_function(server, "of-plain", "function main(a) { return {greeting: 'hi ' + a.name}; }")
    with open_client(server) as client:
        answer = client.post("/function/of-plain", json={"name": "Bo"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"greeting": "hi Bo"}


def test_async_call_is_accepted_then_readable_by_its_id(server: SluiceServer) -> None:
    make_function(server, "of-echo", ECHO_JS)
    with server.client() as client:
        answer = client.post("/async-function/of-echo?name=Cy", content=b"x")
        assert answer.status_code == 202, answer.text
        assert answer.content == b""
        call_id = answer.headers["x-call-id"]
        assert UUID.match(call_id)
        assert answer.headers["location"] == f"/async-function/{call_id}"
        status = wait_status(client, call_id)
    assert status["callId"] == call_id
    assert status["function"] == "of-echo"
    assert status["status"] == "success"
    assert status["functionStatus"] == 200
    assert status["contentType"] == "application/json"
    assert '"name":"Cy"' in status["body"]


def test_status_shows_a_call_before_it_ends_in_any_id_spelling(server: SluiceServer) -> None:
    make_function(server, "of-sleep", SLEEP_JS)
    with server.client() as client:
        answer = client.post("/async-function/of-sleep", json={"ms": 1500})
        assert answer.status_code == 202, answer.text
        call_id = CallId.parse(answer.headers["x-call-id"])
        assert call_id is not None
        early = client.get(f"/async-function/{call_id.hex}")
        assert early.status_code == 200, early.text
        assert early.json()["status"] in ("queued", "running")
        assert "functionStatus" not in early.json()
        done = client.get(f"/async-function/{call_id.ulid}", params={"wait": 30}).json()
    assert done["status"] == "success"
    assert done["body"] == '{"slept":1500}'


def test_a_caller_supplied_call_id_is_kept(server: SluiceServer) -> None:
    make_function(server, "of-echo", ECHO_JS)
    mine = str(uuid.uuid4())
    with server.client() as client:
        answer = client.post("/async-function/of-echo", headers={"X-Call-Id": mine})
        assert answer.status_code == 202, answer.text
        assert answer.headers["x-call-id"] == mine
        status = wait_status(client, mine)
        assert status["callId"] == mine
        # the id travels along a chain of functions: a second call with it gets its own
        again = client.post("/async-function/of-echo", headers={"X-Call-Id": mine})
        assert again.status_code == 202, again.text
        assert again.headers["x-call-id"] == mine
        own = again.headers["location"].rpartition("/")[2]
        assert own != mine
        second = wait_status(client, own)
    assert second["callId"] == own
    assert f'"x-call-id":"{mine}"' in second["body"]


def test_unknown_function_is_404_at_submit(server: SluiceServer) -> None:
    with server.client() as client:
        for route in ("/function/of-nothing", "/async-function/of-nothing"):
            answer = client.post(route, content=b"hi")
            assert answer.status_code == 404, route
            assert answer.headers["content-type"].startswith("text/plain")
            assert answer.text == "error finding function of-nothing: not found\n"


def test_a_body_past_the_queue_limit_is_stored_aside(server: SluiceServer) -> None:
    """Claim check: 3 MB (over the 1 MB queue limit) reaches the function byte for byte."""
    make_function(server, "of-count", "wc -c", kind="process")
    body = bytes(range(256)) * (3 * 4096)
    with server.client() as client:
        answer = client.post("/async-function/of-count", content=body)
        assert answer.status_code == 202, answer.text
        status = wait_status(client, answer.headers["x-call-id"])
        sync = client.post("/function/of-count", content=body)
    assert status["body"].strip() == str(len(body))
    assert sync.text.strip() == str(len(body))


def test_oversized_body_is_413(new_server: Callable[..., SluiceServer]) -> None:
    server = new_server(SLUICE_CLAIM_CHECK_MAX_BYTES="2000000").start()
    make_function(server, "of-echo", ECHO_JS)
    with open_client(server) as client:
        answer = client.post("/async-function/of-echo", content=b"x" * 2_000_010)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/plain")
    assert "too large" in answer.text


def test_async_calls_keep_their_method_and_path(server: SluiceServer) -> None:
    make_function(server, "of-echo", ECHO_JS)
    with server.client() as client:
        answer = client.put("/async-function/of-echo/items/9?name=Di", content=b"x")
        assert answer.status_code == 202, answer.text
        status = wait_status(client, answer.headers["x-call-id"])
        unknown = client.get(f"/async-function/{uuid.uuid4()}")
    sent = json.loads(status["body"])
    assert sent["method"] == "put"
    assert sent["path"] == "/items/9"
    assert sent["name"] == "Di"
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/plain")


def test_invoking_needs_the_key_when_configured(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(SLUICE_OPENFAAS_AUTH="true").start()
    make_function(server, "of-echo", ECHO_JS)
    with open_client(server) as client:
        refused = client.post("/function/of-echo")
    assert refused.status_code == 401
    assert refused.text == "invalid credentials\n"
    assert refused.headers["www-authenticate"] == 'Basic realm="Restricted"'
    with server.client() as client:
        answer = client.post("/function/of-echo")
    assert answer.status_code == 200, answer.text
    assert "authorization" not in answer.json()["headers"]


def test_the_routes_serve_the_configured_namespace(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(SLUICE_OPENFAAS_NAMESPACE="team-faas").start()
    key = server.admin("namespace", "create", "team-faas")
    make_function(server, "of-echo", ECHO_JS)  # guest's: not an OpenFaaS function here
    spec = {"service": "shout", "envProcess": "tr a-z A-Z"}
    with server.client(key) as team, server.client() as guest, open_client(server) as anyone:
        made = team.post("/system/functions", json=spec)
        refused = guest.post("/system/functions", json=spec)
        listed = [f["name"] for f in team.get("/system/functions").json()]
        answer = anyone.post("/function/shout", content=b"hi")
        dotted = anyone.post("/function/shout.team-faas", content=b"ok")
        other = anyone.post("/function/of-echo")
        other_with_key = team.post("/function/of-echo")
    assert made.status_code == 202, made.text
    assert refused.status_code == 403
    assert "team-faas" in refused.text
    assert listed == ["shout"]
    assert answer.text == "HI"
    assert dotted.text == "OK"
    assert other.status_code == 401
    assert other_with_key.status_code == 404
