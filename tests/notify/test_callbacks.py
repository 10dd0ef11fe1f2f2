"""X-Callback-Url: a real listener socket gets each call's answer with OpenFaaS's headers;
failed deliveries are retried with backoff, signed when a secret is set (Standard Webhooks
and X-Sluice-Signature-256), and the outcome is on the call's status for its owner."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from tests.dialects.openfaas.helpers import make_function, open_client, owner_status, wait_status
from tests.support.listener import LOOPBACK_CALLBACKS, Listener, Received
from tests.support.server import SluiceServer, free_port, wait_for

SECRET = "callback-secret"
HELLO_JS = """
function main(args) {
  return {headers: {"content-type": "text/plain"}, body: "hello " + (args.name || "world")};
}
"""
SHOUT_JS = """
function main(args) {
  const from = args.__ow_headers["x-function-name"];
  return {headers: {"content-type": "text/plain"},
          body: (args.__ow_body || "").toUpperCase() + " (after " + from + ")"};
}
"""
FAILING_JS = "function main() { throw new Error('it broke'); }"


@pytest.fixture(scope="module")
def cb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    """Quick retries (100 ms, doubling; 3 tries) and signed callbacks, to listeners on
    127.0.0.1."""
    env = {
        **LOOPBACK_CALLBACKS,
        "SLUICE_CALLBACK_BACKOFF_MS": "100",
        "SLUICE_CALLBACK_ATTEMPTS": "3",
        "SLUICE_CALLBACK_SECRET": SECRET,
    }
    instance = SluiceServer(tmp_path_factory.mktemp("callbacks"), extra_env=env)
    try:
        instance.start()
        functions = {"hello": HELLO_JS, "shout": SHOUT_JS, "yell": SHOUT_JS, "failing": FAILING_JS}
        for name, code in functions.items():
            make_function(instance, name, code)
        make_function(instance, "sleepy", "sleep 30", kind="process", limits={"timeout": 500})
        yield instance
    finally:
        instance.close()


def test_the_listener_gets_the_answer_with_the_seed_headers(cb_server: SluiceServer) -> None:
    with Listener() as listener, open_client(cb_server) as client:
        answer = client.post(
            "/async-function/hello?name=Hi",
            content=b"ignored",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Callback-Url": listener.url + "/done?tag=1",
                "X-Correlation-Id": "order-17",
            },
        )
        assert answer.status_code == 202, answer.text
        (got,) = listener.wait(1)
    assert got.method == "POST"
    assert got.path == "/done?tag=1"
    assert got.body == b"hello Hi"
    assert got.headers["content-type"] == "text/plain"
    assert got.headers["x-call-id"] == answer.headers["x-call-id"]
    assert got.headers["x-start-time"] == answer.headers["x-start-time"]
    assert got.headers["x-function-status"] == "200"
    assert got.headers["x-function-name"] == "hello"
    assert re.match(r"^\d+\.\d{6}$", got.headers["x-duration-seconds"])
    assert got.headers["x-correlation-id"] == "order-17"
    assert got.headers["x-callback-attempt"] == "1"


def test_the_signature_verifies_with_the_secret(cb_server: SluiceServer) -> None:
    with Listener() as listener, open_client(cb_server) as client:
        client.post("/async-function/hello", headers={"X-Callback-Url": listener.url})
        (got,) = listener.wait(1)
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-sluice-signature-256"] == f"sha256={expected}"


#: the secret as Standard Webhooks libraries take it: `whsec_` + base64 of its bytes
SPEC_SECRET = "whsec_" + base64.b64encode(SECRET.encode()).decode()


def test_callbacks_are_signed_as_standard_webhooks(cb_server: SluiceServer) -> None:
    with Listener() as listener, open_client(cb_server) as client:
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": listener.url})
        (got,) = listener.wait(1)
    own_id = answer.headers["location"].rpartition("/")[2]
    assert got.headers["webhook-id"] == own_id
    assert re.match(r"^\d+$", got.headers["webhook-timestamp"])
    assert got.headers["webhook-signature"].startswith("v1,")
    # the reference library verifies it: id, timestamp and body are what is signed
    Webhook(SPEC_SECRET).verify(got.body, got.headers, json_parse=False)
    for changed in (
        {"webhook-id": "another"},
        {"webhook-timestamp": str(int(got.headers["webhook-timestamp"]) - 1)},
    ):
        with pytest.raises(WebhookVerificationError):
            Webhook(SPEC_SECRET).verify(got.body, {**got.headers, **changed}, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(SPEC_SECRET).verify(got.body + b"!", got.headers, json_parse=False)


def test_a_retry_keeps_the_webhook_id_and_is_signed_anew(cb_server: SluiceServer) -> None:
    with Listener(statuses=[503]) as listener, open_client(cb_server) as client:
        client.post("/async-function/hello", headers={"X-Callback-Url": listener.url})
        first, second = listener.wait(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert [first.headers["x-callback-attempt"], second.headers["x-callback-attempt"]] == ["1", "2"]
    for got in (first, second):
        Webhook(SPEC_SECRET).verify(got.body, got.headers, json_parse=False)


def test_a_function_cannot_set_the_signature_headers(cb_server: SluiceServer) -> None:
    forged = {
        "webhook-id": "forged",
        "webhook-signature": "v1,forged",
        "x-sluice-signature-256": "sha256=00",
    }
    code = "function main() { return {headers: HEADERS, body: 'x'}; }"
    code = code.replace("HEADERS", json.dumps(forged))
    make_function(cb_server, "forger", code)
    with Listener() as listener, open_client(cb_server) as client:
        client.post("/async-function/forger", headers={"X-Callback-Url": listener.url})
        (got,) = listener.wait(1)
    assert got.headers["webhook-id"] != "forged"
    Webhook(SPEC_SECRET).verify(got.body, got.headers, json_parse=False)
    assert got.headers["x-sluice-signature-256"] != "sha256=00"


def test_the_callback_state_is_shown_only_with_the_key(cb_server: SluiceServer) -> None:
    with Listener() as listener, open_client(cb_server) as client:
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": listener.url})
        call_id = answer.headers["x-call-id"]
        listener.wait(1)
        owned = wait_for(lambda: _settled(owner_status(cb_server, call_id)), 30, "delivered")
        anonymous = client.get(f"/async-function/{call_id}")
        wrong = client.get(f"/async-function/{call_id}", auth=("nobody", "wrong"))
    assert owned["callback"]["status"] == "delivered"
    assert owned["callback"]["url"] == listener.url
    # without the key nothing of the call is shown, its callback least of all
    assert anonymous.status_code == 401
    assert listener.url not in anonymous.text
    assert wrong.status_code == 401


def test_a_failing_listener_gets_retries_until_it_takes_it(cb_server: SluiceServer) -> None:
    with Listener(statuses=[503, 502]) as listener, cb_server.client() as client:
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": listener.url})
        tries = listener.wait(3)
        call_id = answer.headers["x-call-id"]
        status = wait_for(lambda: _settled(owner_status(cb_server, call_id)), 30, "delivered")
    assert [t.headers["x-callback-attempt"] for t in tries] == ["1", "2", "3"]
    assert {t.headers["x-call-id"] for t in tries} == {call_id}
    assert status["callback"]["status"] == "delivered"
    assert status["callback"]["attempts"] == 3
    assert status["callback"]["lastStatus"] == 200


def test_a_callback_that_fails_for_good_is_on_the_call(cb_server: SluiceServer) -> None:
    with Listener(statuses=[500, 500, 500]) as listener, cb_server.client() as client:
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": listener.url})
        listener.wait(3)
        call_id = answer.headers["x-call-id"]
        status = wait_for(lambda: _settled(owner_status(cb_server, call_id)), 30, "given up")
    assert status["status"] == "success"
    assert status["callback"]["status"] == "failed"
    assert status["callback"]["attempts"] == 3
    assert status["callback"]["lastStatus"] == 500
    assert "gave up after 3 attempts" in status["callback"]["lastError"]


def test_a_receiver_that_refuses_is_not_retried(cb_server: SluiceServer) -> None:
    with Listener(statuses=[404]) as listener, cb_server.client() as client:
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": listener.url})
        listener.wait(1)
        call_id = answer.headers["x-call-id"]
        status = wait_for(lambda: _settled(owner_status(cb_server, call_id)), 30, "refused")
    assert status["callback"]["status"] == "failed"
    assert status["callback"]["attempts"] == 1
    assert len(listener.received) == 1


def test_nobody_listening_is_retried_then_recorded(cb_server: SluiceServer) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody"
    with cb_server.client() as client:
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": url})
        call_id = answer.headers["x-call-id"]
        status = wait_for(lambda: _settled(owner_status(cb_server, call_id)), 30, "given up")
    assert status["callback"]["status"] == "failed"
    assert status["callback"]["attempts"] == 3
    assert status["callback"]["lastStatus"] is None
    assert "ConnectError" in status["callback"]["lastError"]


#: what a caller sends to match a callback to its request; each is echoed on the callback
CORRELATION = {
    "X-Correlation-Id": "order-18",
    "X-Request-Id": "req-5",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
}


def _echoed(got: Received) -> dict[str, str]:
    """The caller's correlation headers as the callback carries them: the traceparent keeps
    the caller's trace, its span the delivery's own (a child in that trace)."""
    echoed = {name: got.headers.get(name.lower(), "") for name in CORRELATION}
    version, trace_id, span_id, flags = echoed["traceparent"].split("-")
    caller = CORRELATION["traceparent"].split("-")
    assert span_id not in (caller[2], "0" * 16)
    echoed["traceparent"] = "-".join((version, trace_id, caller[2], flags))
    return echoed


def test_a_failed_call_calls_back_too(cb_server: SluiceServer) -> None:
    with Listener() as listener, open_client(cb_server) as client:
        headers = {"X-Callback-Url": listener.url, **CORRELATION}
        answer = client.post("/async-function/failing", headers=headers)
        (got,) = listener.wait(1)
    assert got.headers["x-function-status"] == "500"
    assert got.headers["x-sluice-call-status"] == "developer_error"
    assert got.headers["x-call-id"] == answer.headers["x-call-id"]
    assert b"it broke" in got.body
    assert _echoed(got) == CORRELATION


def test_a_call_past_its_time_calls_back_with_504(cb_server: SluiceServer) -> None:
    with Listener() as listener, cb_server.client() as client:
        headers = {"X-Callback-Url": listener.url, **CORRELATION}
        answer = client.post("/async-function/sleepy", headers=headers)
        assert answer.status_code == 202, answer.text
        (got,) = listener.wait(1)
        status = wait_status(client, answer.headers["x-call-id"])
    assert got.headers["x-function-status"] == "504"
    assert got.headers["x-sluice-call-status"] == "timeout"
    assert got.headers["x-call-id"] == answer.headers["x-call-id"]
    assert b"exceeded its time limits of 500 milliseconds" in got.body
    assert _echoed(got) == CORRELATION
    assert status["status"] == "timeout"
    assert status["functionStatus"] == 504


def test_a_sync_call_honours_the_callback_too(cb_server: SluiceServer) -> None:
    with Listener() as listener, open_client(cb_server) as client:
        answer = client.post("/function/hello", headers={"X-Callback-Url": listener.url})
        assert answer.text == "hello world"
        (got,) = listener.wait(1)
    assert got.body == b"hello world"
    assert got.headers["x-call-id"] == answer.headers["x-call-id"]


@pytest.mark.parametrize(("route", "target"), [("function", "shout"), ("async-function", "yell")])
def test_the_callback_may_be_another_function(
    cb_server: SluiceServer, route: str, target: str
) -> None:
    with cb_server.client() as ow:
        answer = ow.post(
            "/async-function/hello?name=chain",
            headers={"X-Callback-Url": f"{cb_server.url}/{route}/{target}"},
        )
        assert answer.status_code == 202
        first = wait_status(ow, answer.headers["x-call-id"])
        assert first["callback"]["url"].endswith(f"/{route}/{target}")

        def result() -> object:
            listed = ow.get(cb_server.ns_path("activations"), params={"name": target, "docs": 1})
            return listed.json()

        (called,) = wait_for(result, 30, f"the {target} function's activation")
    assert called["response"]["result"]["body"] == "HELLO CHAIN (after hello)"


def test_a_bad_callback_url_is_400_at_submit(cb_server: SluiceServer) -> None:
    with open_client(cb_server) as client:
        for bad in ("not a url", "ftp://example.com/x", "/relative/path", "http://"):
            answer = client.post("/async-function/hello", headers={"X-Callback-Url": bad})
            assert answer.status_code == 400, bad
            assert answer.headers["content-type"].startswith("text/plain")
            assert "Invalid X-Callback-Url" in answer.text


def _settled(status: dict[str, object]) -> dict[str, object] | None:
    callback = status.get("callback")
    if isinstance(callback, dict) and callback["status"] != "pending":
        return status
    return None


def test_a_free_form_call_id_travels_to_the_function_and_the_callback(
    cb_server: SluiceServer,
) -> None:
    with Listener() as listener, cb_server.client() as client:
        answer = client.post(
            "/async-function/hello",
            headers={"X-Call-Id": "trace-42", "X-Callback-Url": listener.url},
        )
        assert answer.status_code == 202, answer.text
        (got,) = listener.wait(1)
        own = answer.headers["location"].rpartition("/")[2]
        status = wait_status(client, own)
    assert answer.headers["x-call-id"] == "trace-42"
    assert got.headers["x-call-id"] == "trace-42"
    assert status["callId"] == own
