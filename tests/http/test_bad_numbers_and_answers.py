"""What the fuzz found answering 500 or closing the connection, each answered now as its
dialect answers bad input: integers past SQLite's (2^63 and up), digits Python reads but
HTTP does not (`²`, `1_000`), numbers that overflow a float, JSON nested past what can be
stored, and function answers (or Fn route headers) that HTTP cannot carry."""

from __future__ import annotations

import base64

import httpx
import pytest
from tests.dialects.fn.helpers import deploy, fn_client
from tests.dialects.openfaas.helpers import make_function, open_client
from tests.support.server import SluiceServer, put_action

PAST_INT64 = str(2**63)
ANSWER_JS = "function main(a) { return {statusCode: a.s, headers: a.h || {}, body: a.b}; }"
WEB = [{"key": "web-export", "value": True}]


def _ow_error(answer: httpx.Response, status: int = 400) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert len(body["code"]) == 32
    message: str = body["error"]
    return message


def _fn_error(answer: httpx.Response, status: int = 400) -> str:
    assert answer.status_code == status, answer.text
    message: str = answer.json()["error"]["message"]
    return message


def _faas_error(answer: httpx.Response, status: int = 400) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


@pytest.mark.parametrize(
    ("collection", "name"),
    [
        *[(c, "skip") for c in ("actions", "triggers", "rules", "packages", "activations")],
        ("activations", "since"),
        ("activations", "upto"),
        ("activations", "limit"),
    ],
)
@pytest.mark.parametrize("value", [PAST_INT64, "99999999999999999999", "1_000", "\u00b2"])
def test_openwhisk_list_parameters(
    server: SluiceServer, collection: str, name: str, value: str
) -> None:
    with server.client() as c:
        answer = c.get(server.ns_path(collection), params={name: value})
    assert f"'{name}'" in _ow_error(answer)


def test_openwhisk_the_largest_integer_still_lists(server: SluiceServer) -> None:
    with server.client() as c:
        answer = c.get(server.ns_path("activations"), params={"skip": str(2**63 - 1)})
    assert answer.status_code == 200, answer.text
    assert answer.json() == []


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/apps/numbers/calls", "from_time"),
        ("/v1/apps/numbers/calls", "to_time"),
        ("/v1/apps/numbers/calls", "per_page"),
        ("/v1/apps", "cursor"),
    ],
)
@pytest.mark.parametrize("value", [PAST_INT64, "\u00b2"])
def test_fn_list_parameters(server: SluiceServer, path: str, name: str, value: str) -> None:
    with fn_client(server) as c:
        assert c.post("/v1/apps", json={"app": {"name": "numbers"}}).status_code in (200, 409)
        if name == "cursor":  # an offset, base64 as Fn's cursors are
            value = base64.urlsafe_b64encode(value.encode()).decode()
        answer = c.get(path, params={name: value})
    assert name in _fn_error(answer)


def test_deep_json_is_refused_before_it_is_stored(server: SluiceServer) -> None:
    deep = '{"a":' * 200 + "1" + "}" * 200
    with server.client() as c:
        assert put_action(c, "echo-deep", "function main(a) { return a }").status_code == 200
        invoked = c.post(
            server.ns_path("actions/echo-deep?blocking=true"),
            content=deep,
            headers={"content-type": "application/json"},
        )
        created = c.put(
            server.ns_path("triggers/deep"),
            content='{"parameters": [{"key": "a", "value": ' + deep + "}]}",
        )
        shallow = c.post(
            server.ns_path("actions/echo-deep?blocking=true&result=true"),
            content='{"a":' * 100 + "1" + "}" * 100,
        )
    assert "nested more than 128 deep" in _ow_error(invoked)
    assert "nested more than 128 deep" in _ow_error(created)
    assert shallow.status_code == 200, shallow.text


@pytest.mark.parametrize(
    "answer",
    [
        {"s": 2**63},
        {"s": 99},
        {"s": 1000},
        {"s": 200, "h": {"x-a": "one\ntwo"}},
        {"s": 200, "h": {"bad name": "x"}},
        {"s": 200, "h": {"content-type": "text/\u20ac"}},
        {"s": 200, "h": {"content-type": []}},
    ],
)
def test_a_web_answer_http_cannot_carry_is_400(server: SluiceServer, answer: object) -> None:
    with server.client() as c:
        assert put_action(c, "answer", ANSWER_JS, annotations=WEB).status_code == 200
    url = f"{server.url}/api/v1/web/guest/default/answer.http"
    refused = httpx.post(url, json=answer, timeout=60)
    assert _ow_error(refused) == "Response is not valid 'message/http'."
    assert httpx.post(url, json={"s": 201, "b": "fine"}, timeout=60).status_code == 201


def test_a_web_answer_keeps_its_framing(server: SluiceServer) -> None:
    """A 204 or 304 carries no body, and the function's own Content-Length is not sent
    beside the real one."""
    with server.client() as c:
        assert put_action(c, "answer", ANSWER_JS, annotations=WEB).status_code == 200
    url = f"{server.url}/api/v1/web/guest/default/answer.http"
    with httpx.Client(timeout=60) as client:
        empty = client.post(url, json={"s": 204, "b": "dropped"})
        framed = client.post(url, json={"s": 200, "h": {"content-length": "1"}, "b": "whole"})
        after = client.post(url, json={"s": 200, "b": "same connection"})
    assert (empty.status_code, empty.content) == (204, b"")
    assert (framed.status_code, framed.text) == (200, "whole")
    assert after.text == "same connection"


def test_an_openfaas_answer_http_cannot_carry_is_502(server: SluiceServer) -> None:
    make_function(server, "of-answer", ANSWER_JS)
    with open_client(server) as client:
        bad = client.post("/function/of-answer", json={"s": 200, "h": {"x-a": "a\r\nb"}})
        status = client.post("/function/of-answer", json={"s": 2**63})
    assert "not valid HTTP" in _faas_error(bad, 502)
    assert "not valid HTTP" in _faas_error(status, 502)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"x-run-at": "9" * 400}, "X-Run-At"),
        ({"x-run-at": "\u00b2"}, "X-Run-At"),
        ({"x-delay-seconds": "1e308"}, "X-Delay-Seconds"),
    ],
)
def test_openfaas_times(server: SluiceServer, headers: dict[str, str], message: str) -> None:
    make_function(server, "of-answer", ANSWER_JS)
    with open_client(server) as client:
        answer = client.post(
            "/async-function/of-answer",
            content=b"x",
            headers={k: v.encode("latin-1") for k, v in headers.items()},
        )
    assert message in _faas_error(answer)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"limits": {"memory": "9" * 400 + "Gi"}}, "memory"),
        ({"envVars": {"exec_timeout": "9" * 400}}, "exec_timeout"),
        ({"envVars": {"exec_timeout": "9" * 30 + "h"}}, "exec_timeout"),
    ],
)
def test_openfaas_deploy_numbers(
    server: SluiceServer, spec: dict[str, object], message: str
) -> None:
    with server.client() as client:
        answer = client.post(
            "/system/functions", json={"service": "numbers", "envProcess": "cat", **spec}
        )
    assert message in _faas_error(answer)


def test_openfaas_a_huge_max_inflight_caps_nothing(server: SluiceServer) -> None:
    spec = {"service": "inflight", "envProcess": "cat", "envVars": {"max_inflight": "9" * 30}}
    with server.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": "inflight"})
        assert client.post("/system/functions", json=spec).status_code == 202
    with open_client(server) as client:
        answer = client.post("/function/inflight", content=b"through")
    assert (answer.status_code, answer.text) == (200, "through")


@pytest.mark.parametrize("headers", [{"X-A": ["a\nb"]}, {"bad name": ["x"]}, {"X-A": ["\u20ac"]}])
def test_fn_route_headers_http_cannot_carry(server: SluiceServer, headers: object) -> None:
    with fn_client(server) as c:
        assert c.post("/v1/apps", json={"app": {"name": "hdrs"}}).status_code in (200, 409)
        deploy(c, "hdrs", "/fine")
        answer = c.patch("/v1/apps/hdrs/routes/fine", json={"route": {"headers": headers}})
        still = c.post("/r/hdrs/fine", json={"name": "Ann"})
    assert "route header" in _fn_error(answer)
    assert still.status_code == 200, still.text


@pytest.mark.parametrize(
    "params",
    [
        {"timezone": "a" * 300},
        {"startDate": 2**63},
        {"stopDate": 1e300},
        {"startDate": 253402300799000},
    ],
)
def test_alarm_dates_and_zones(server: SluiceServer, params: dict[str, object]) -> None:
    body = {"lifecycleEvent": "CREATE", "triggerName": "/_/numbers", "cron": "* * * * *"}
    with server.client() as c:
        assert c.put(server.ns_path("triggers/numbers?overwrite=true"), json={}).status_code == 200
        answer = c.post(
            "/api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true",
            json={**body, **params},
        )
    # a feed's refusal is its activation's application error, as upstream's feeds answer
    assert answer.status_code == 502, answer.text
    result = answer.json()["response"]
    assert result["status"] == "application error"
    error = result["result"]["error"]
    assert isinstance(error, str)
    assert error
    assert "Internal" not in error
