"""The dashboard's API on a real server: sign-in by key into a session cookie, namespace
isolation, the checks on changes, and every dialect's calls in one list."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from sluice.ids import CallId
from sluice.ui.session import COOKIE
from tests.dialects.fn.helpers import deploy, fn_client
from tests.dialects.fn.helpers import wait_call as fn_wait
from tests.dialects.openfaas.helpers import make_function, wait_status
from tests.support.calls import wait_call
from tests.support.listener import Listener
from tests.support.server import SluiceServer, put_action, wait_for

ECHO_JS = "function main(a) { console.log('seen', a.n); return {n: a.n} }"
UI = {"X-Sluice-UI": "1"}


@contextmanager
def signed_in(server: SluiceServer, key: str) -> Iterator[httpx.Client]:
    """A client holding a dashboard session of `key`'s namespace (its cookie)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        answer = client.post("/ui/api/session", json={"key": key}, headers=UI)
        assert answer.status_code == 200, answer.text
        yield client


@pytest.fixture(scope="module")
def other_key(server: SluiceServer) -> str:
    return server.admin("namespace", "create", "ui-other")


@pytest.fixture
def guest(server: SluiceServer) -> Iterator[httpx.Client]:
    with signed_in(server, server.auth) as client:
        yield client


def test_signing_in_sets_a_cookie_that_is_not_the_key(server: SluiceServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/ui/api/session").status_code == 401
        answer = client.post("/ui/api/session", json={"key": server.auth}, headers=UI)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"namespace": "guest"}
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/ui" in cookie
        secret = server.auth.partition(":")[2]
        assert secret not in cookie
        assert client.get("/ui/api/session").json() == {"namespace": "guest"}
        assert client.delete("/ui/api/session", headers=UI).status_code == 204
        assert client.get("/ui/api/session").status_code == 401


def test_a_wrong_key_or_a_forged_cookie_is_refused(server: SluiceServer) -> None:
    user = server.auth.partition(":")[0]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        wrong = client.post("/ui/api/session", json={"key": f"{user}:nope"}, headers=UI)
        assert wrong.status_code == 401
        assert "error" in wrong.json()
        client.cookies.set(COOKIE, f"{user}.1.99999999999999.forged", path="/ui")
        assert client.get("/ui/api/functions").status_code == 401


def test_changes_need_the_dashboards_header(server: SluiceServer, guest: httpx.Client) -> None:
    refused = guest.post("/ui/api/session", json={"key": server.auth})
    assert refused.status_code == 403
    some = "0" * 32
    assert guest.post(f"/ui/api/calls/{some}/cancel").status_code == 403
    assert guest.post(f"/ui/api/calls/{some}/cancel", headers=UI).status_code == 404


def test_a_key_sees_only_its_namespace(
    server: SluiceServer, guest: httpx.Client, other_key: str
) -> None:
    with server.client() as ow:
        assert put_action(ow, "ui-mine", ECHO_JS).status_code == 200
        invoked = ow.post(server.ns_path("actions/ui-mine"), json={"n": 1})
        call_id = invoked.json()["activationId"]
        wait_call(ow, call_id)
    with signed_in(server, other_key) as other:
        assert other.get("/ui/api/session").json() == {"namespace": "ui-other"}
        assert other.get("/ui/api/functions").json() == []
        assert other.get("/ui/api/calls").json() == []
        assert other.get(f"/ui/api/calls/{call_id}").status_code == 404
        cancel = other.post(f"/ui/api/calls/{call_id}/cancel", headers=UI)
        assert cancel.status_code == 404
        assert other.get("/ui/api/dead-letters").json() == []
    names = [fn["name"] for fn in guest.get("/ui/api/functions").json()]
    assert "ui-mine" in names
    shown = guest.get(f"/ui/api/calls/{call_id}").json()
    assert shown["state"] == "success"
    assert shown["params"] == {"n": 1}
    assert shown["result"] == {"n": 1}
    assert any("seen 1" in line for line in shown["logs"])


def test_a_rotated_key_signs_the_session_out(server: SluiceServer) -> None:
    key = server.admin("namespace", "create", "ui-rotating")
    with signed_in(server, key) as client:
        assert client.get("/ui/api/functions").status_code == 200
        server.admin("namespace", "rotate-key", "ui-rotating")
        assert client.get("/ui/api/functions").status_code == 401


def test_every_dialects_calls_are_listed_and_filtered(
    server: SluiceServer, guest: httpx.Client
) -> None:
    make_function(server, "ui-faas", ECHO_JS)
    with httpx.Client(base_url=server.url, timeout=60) as open_client, server.client() as owner:
        accepted = open_client.post("/async-function/ui-faas", json={"n": 2})
        faas_id = accepted.headers["x-call-id"]
        wait_status(owner, faas_id)
    with fn_client(server) as fn:
        deploy(fn, "uiapp", "/hello", type="async")
        invoked = fn.post("/r/uiapp/hello", json={"name": "ui"})
        assert invoked.status_code == 202, invoked.text
        fn_id = invoked.json()["call_id"]
        fn_wait(fn, "uiapp", fn_id)
    # the session's server holds other tests' calls too: each filter keeps its own alone
    faas = guest.get("/ui/api/calls", params={"dialect": "openfaas"}).json()
    assert faas_id.replace("-", "") in {call["id"] for call in faas}
    assert {call["dialect"] for call in faas} == {"openfaas"}
    fn_calls = guest.get("/ui/api/calls", params={"dialect": "fn"}).json()
    assert CallId.parse(fn_id).hex in {call["id"] for call in fn_calls}
    assert {call["dialect"] for call in fn_calls} == {"fn"}
    by_function = guest.get("/ui/api/calls", params={"function": "uiapp/hello"}).json()
    assert {call["dialect"] for call in by_function} == {"fn"}
    succeeded = guest.get("/ui/api/calls", params={"state": "success"}).json()
    assert {faas_id.replace("-", ""), CallId.parse(fn_id).hex} <= {c["id"] for c in succeeded}
    assert {call["state"] for call in succeeded} == {"success"}
    timed_out = guest.get("/ui/api/calls", params={"state": "timeout"}).json()
    assert {call["state"] for call in timed_out} <= {"timeout"}
    assert not {faas_id.replace("-", ""), CallId.parse(fn_id).hex} & {c["id"] for c in timed_out}
    assert guest.get("/ui/api/calls", params={"state": "nope"}).status_code == 400
    dialects = {fn["name"]: fn["dialect"] for fn in guest.get("/ui/api/functions").json()}
    assert dialects["ui-faas"] == "openfaas"
    assert dialects["uiapp/hello"] == "fn"


def test_wrong_keys_past_the_allowance_are_throttled(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(SLUICE_AUTH_FAILURES_PER_MINUTE="2").start()
    wrong = server.auth.partition(":")[0] + ":wrong"
    with httpx.Client(base_url=server.url, timeout=60) as client:
        tries = [client.post("/ui/api/session", json={"key": wrong}, headers=UI) for _ in range(3)]
    assert [answer.status_code for answer in tries] == [401, 401, 429]
    assert int(tries[2].headers["retry-after"]) >= 1


def test_the_page_and_its_files_are_served(server: SluiceServer) -> None:
    page = httpx.get(server.url + "/ui", timeout=30)
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert '<script src="/ui/static/app.js">' in page.text
    script = httpx.get(server.url + "/ui/static/app.js", timeout=30)
    assert script.headers["content-type"].startswith("text/javascript")
    missing = httpx.get(server.url + "/ui/static/../routes.py", timeout=30)
    assert missing.status_code == 404


def test_a_call_shows_its_trigger_and_sequence_parents_and_children(
    server: SluiceServer, guest: httpx.Client
) -> None:
    with server.client() as ow:
        assert put_action(ow, "ui-step", ECHO_JS).status_code == 200
        sequence = {"exec": {"kind": "sequence", "components": ["ui-step", "ui-step"]}}
        assert ow.put(server.ns_path("actions/ui-seq"), json=sequence).status_code == 200
        assert ow.put(server.ns_path("triggers/ui-fired"), json={}).status_code == 200
        rule = {"trigger": "/guest/ui-fired", "action": "/guest/ui-seq"}
        assert ow.put(server.ns_path("rules/ui-fired-rule"), json=rule).status_code == 200
        fired = ow.post(server.ns_path("triggers/ui-fired"), json={"n": 3})
        assert fired.status_code == 202, fired.text
        trigger_id = fired.json()["activationId"]
        trigger = guest.get(f"/ui/api/calls/{trigger_id}").json()
        assert trigger["kind"] == "trigger"
        (sequence_id,) = trigger["children"]
        wait_call(ow, sequence_id)
    sequence_call = guest.get(f"/ui/api/calls/{sequence_id}").json()
    assert sequence_call["function"] == "ui-seq"
    assert sequence_call["parents"] == [{"relation": "trigger", "id": trigger_id}]
    assert len(sequence_call["children"]) == 2
    for step_id in sequence_call["children"]:
        step = guest.get(f"/ui/api/calls/{step_id}").json()
        assert step["function"] == "ui-step"
        assert {"relation": "sequence", "id": sequence_id} in step["parents"]


def test_a_call_shows_its_callbacks_delivery(server: SluiceServer, guest: httpx.Client) -> None:
    make_function(server, "ui-called-back", ECHO_JS)
    with Listener() as listener, httpx.Client(base_url=server.url, timeout=60) as anyone:
        accepted = anyone.post(
            "/async-function/ui-called-back",
            json={"n": 4},
            headers={"X-Callback-Url": listener.url + "/done"},
        )
        assert accepted.status_code == 202, accepted.text
        call_id = accepted.headers["x-call-id"]
        listener.wait(1)

        def delivered() -> dict[str, Any] | None:
            found: dict[str, Any] = guest.get(f"/ui/api/calls/{call_id}").json()["callback"]
            return found if found["state"] == "delivered" else None

        callback = wait_for(delivered, 60, "the callback to be recorded as delivered")
    assert callback["url"] == listener.url + "/done"
    assert callback["attempts"] == 1
    assert callback["lastStatus"] == 200


def test_an_open_stream_does_not_hold_up_a_shutdown(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server().start()
    with signed_in(server, server.auth) as client:
        with client.stream("GET", "/ui/api/events", timeout=60) as stream:
            lines = stream.iter_lines()
            assert "event: calls" in _until(lines, "event: calls")
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            assert "event: bye" in _until(lines, "event: bye")
        assert server.process.wait(60) == -signal.SIGTERM
    assert server.stdout_path.read_text().rstrip().endswith("Sluice stopped.")


def _until(lines: Iterator[str], wanted: str) -> list[str]:
    """The stream's lines up to and including `wanted` (the read timeout bounds the wait)."""
    seen = []
    for line in lines:
        seen.append(line)
        if line == wanted:
            break
    return seen
