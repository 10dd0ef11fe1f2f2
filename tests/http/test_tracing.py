"""W3C trace context end to end on a real server: a caller's traceparent on each dialect's
routes, kept on the call, handed to the function, continued by sequences, rules and calls
the function makes back in; bad headers ignored."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from tests.dialects.fn.helpers import deploy, fn_client
from tests.dialects.openfaas.helpers import ECHO_JS, make_function, open_client
from tests.runtime.helpers import zip_b64
from tests.support.calls import wait_call
from tests.support.server import SluiceServer, put_action

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
CALLER = f"00-{TRACE_ID}-{CALLER_SPAN}-01"

ECHO_TRACE_JS = "function main(p) { return {traceparent: process.env.__OW_TRACEPARENT || null} }"

#: calls back into Sluice with the npm client, passing on the traceparent it was given
CALLS_BACK_JS = """
const openwhisk = require('openwhisk');
async function main() {
  const mine = process.env.__OW_TRACEPARENT;
  const ow = openwhisk();
  const started = await ow.actions.invoke({name: 'tr-echo', headers: {traceparent: mine}});
  return {mine, child: started.activationId};
}
"""

CALLS_BACK_PY = """import openwhisk, os
def main(args):
    started = openwhisk.client().invoke('tr-echo', {})
    return {'mine': os.environ['__OW_TRACEPARENT'], 'child': started['activationId']}
"""


def _parts(traceparent: str) -> tuple[str, str, str, str]:
    version, trace_id, span_id, flags = traceparent.split("-")
    return version, trace_id, span_id, flags


def _trace(client: httpx.Client, call_id: str) -> dict[str, Any]:
    trace: dict[str, Any] = wait_call(client, call_id)["trace"]
    return trace


@pytest.fixture(scope="module")
def echo(server: SluiceServer) -> SluiceServer:
    with server.client() as client:
        assert put_action(client, "tr-echo", ECHO_TRACE_JS).status_code == 200
    return server


def _invoke(client: httpx.Client, server: SluiceServer, name: str, **headers: str) -> Any:
    answer = client.post(server.ns_path(f"actions/{name}?blocking=true"), headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_call_joins_the_callers_trace_and_the_function_is_told(echo: SluiceServer) -> None:
    with echo.client() as client:
        record = _invoke(client, echo, "tr-echo", traceparent=CALLER)
        trace = _trace(client, record["activationId"])
    assert trace["traceId"] == TRACE_ID
    assert trace["parentSpanId"] == CALLER_SPAN
    assert trace["traceparent"] == f"00-{TRACE_ID}-{trace['spanId']}-01"
    version, trace_id, span_id, flags = _parts(record["response"]["result"]["traceparent"])
    # the function's own spans are children of the call's run: same trace, a span of its own
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    assert span_id not in (CALLER_SPAN, trace["spanId"])


@pytest.mark.parametrize(
    "bad",
    [
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "garbage",
    ],
)
def test_a_bad_traceparent_is_ignored_and_the_call_starts_a_trace(
    echo: SluiceServer, bad: str
) -> None:
    with echo.client() as client:
        record = _invoke(client, echo, "tr-echo", traceparent=bad)
        trace = _trace(client, record["activationId"])
    assert trace["parentSpanId"] is None
    assert trace["traceId"] not in (TRACE_ID, "0" * 32)
    assert _parts(record["response"]["result"]["traceparent"])[1] == trace["traceId"]


def test_two_traceparent_headers_are_ignored(echo: SluiceServer) -> None:
    with echo.client() as client:
        headers = [("traceparent", CALLER), ("traceparent", CALLER)]
        answer = client.post(echo.ns_path("actions/tr-echo?blocking=true"), headers=headers)
        assert answer.status_code == 200, answer.text
        trace = _trace(client, answer.json()["activationId"])
    assert trace["traceId"] != TRACE_ID
    assert trace["parentSpanId"] is None


def test_calls_without_a_traceparent_each_start_a_trace(echo: SluiceServer) -> None:
    with echo.client() as client:
        first = _trace(client, _invoke(client, echo, "tr-echo")["activationId"])
        second = _trace(client, _invoke(client, echo, "tr-echo")["activationId"])
    assert first["parentSpanId"] is None
    assert second["parentSpanId"] is None
    assert first["traceId"] != second["traceId"]


def test_a_sequences_steps_are_children_of_the_sequence(echo: SluiceServer) -> None:
    with echo.client() as client:
        seq = {"exec": {"kind": "sequence", "components": ["/_/tr-echo", "/_/tr-echo"]}}
        made = client.put(echo.ns_path("actions/tr-seq?overwrite=true"), json=seq)
        assert made.status_code == 200, made.text
        record = _invoke(client, echo, "tr-seq", traceparent=CALLER)
        sequence = _trace(client, record["activationId"])
        steps = [_trace(client, step) for step in record["logs"]]
    assert sequence["traceId"] == TRACE_ID
    assert sequence["parentSpanId"] == CALLER_SPAN
    assert len(steps) == 2
    for step in steps:
        assert step["traceId"] == TRACE_ID
        assert step["parentSpanId"] == sequence["spanId"]
    assert steps[0]["spanId"] != steps[1]["spanId"]


def test_a_rules_call_is_a_child_of_the_trigger_fired(echo: SluiceServer) -> None:
    with echo.client() as client:
        client.put(echo.ns_path("triggers/tr-trigger?overwrite=true"), json={})
        rule = {"trigger": "/_/tr-trigger", "action": "/_/tr-echo"}
        made = client.put(echo.ns_path("rules/tr-rule?overwrite=true"), json=rule)
        assert made.status_code == 200, made.text
        fired = client.post(echo.ns_path("triggers/tr-trigger"), headers={"traceparent": CALLER})
        assert fired.status_code == 202, fired.text
        trigger_id = fired.json()["activationId"]
        trigger = _trace(client, trigger_id)
        logs = client.get(echo.ns_path(f"activations/{trigger_id}")).json()["logs"]
        (called,) = [orjson.loads(line)["activationId"] for line in logs]
        call = _trace(client, called)
    assert trigger["traceId"] == TRACE_ID
    assert trigger["parentSpanId"] == CALLER_SPAN
    assert call["traceId"] == TRACE_ID
    assert call["parentSpanId"] == trigger["spanId"]


@pytest.mark.parametrize(
    ("name", "code", "kind"),
    [("tr-node", CALLS_BACK_JS, "nodejs:default"), ("tr-py", CALLS_BACK_PY, "python:3")],
)
def test_a_call_the_function_makes_back_in_joins_its_trace(
    echo: SluiceServer, name: str, code: str, kind: str
) -> None:
    """The npm client sends a traceparent only when the action passes it (`headers`); the
    Python helper sends the call's own."""
    with echo.client() as client:
        assert put_action(client, name, code, kind=kind).status_code == 200
        record = _invoke(client, echo, name, traceparent=CALLER)
        result = record["response"]["result"]
        child = _trace(client, result["child"])
    _, trace_id, run_span, _ = _parts(result["mine"])
    assert trace_id == TRACE_ID
    assert child["traceId"] == TRACE_ID
    assert child["parentSpanId"] == run_span


def test_an_openfaas_function_gets_the_calls_traceparent_header(server: SluiceServer) -> None:
    make_function(server, "tr-faas", ECHO_JS)
    with open_client(server) as client:
        answer = client.post("/function/tr-faas", headers={"traceparent": CALLER})
    assert answer.status_code == 200, answer.text
    _, trace_id, span_id, _ = _parts(answer.json()["headers"]["traceparent"])
    assert trace_id == TRACE_ID
    assert span_id != CALLER_SPAN


TRACE_PY = "import os\nprint(os.environ.get('FN_HEADER_TRACEPARENT', 'none'))\n"


def test_an_fn_function_gets_the_calls_traceparent_header(server: SluiceServer) -> None:
    with fn_client(server) as client:
        deploy(client, "trapp", "/traced", source=TRACE_PY)
        answer = client.post("/r/trapp/traced", headers={"traceparent": CALLER})
        assert answer.status_code == 200, answer.text
        call = _trace(client, answer.headers["fn_call_id"])
    _, trace_id, span_id, _ = _parts(answer.text.strip())
    assert trace_id == TRACE_ID
    assert span_id not in (CALLER_SPAN, call["spanId"])
    assert call["parentSpanId"] == CALLER_SPAN


def test_a_web_action_joins_the_callers_trace(server: SluiceServer) -> None:
    web = [{"key": "web-export", "value": True}]
    with server.client() as client:
        made = put_action(client, "tr-web", ECHO_TRACE_JS, annotations=web)
        assert made.status_code == 200, made.text
    answer = httpx.get(
        f"{server.url}/api/v1/web/guest/default/tr-web.json", headers={"traceparent": CALLER}
    )
    assert answer.status_code == 200, answer.text
    _, trace_id, span_id, _ = _parts(answer.json()["traceparent"])
    assert trace_id == TRACE_ID
    assert span_id != CALLER_SPAN


FDK_TRACE_PY = """import io, json
from fdk import response

def handler(ctx, data: io.BytesIO = None):
    return response.Response(ctx, response_data=json.dumps({
        "hop": ctx.Headers().get("traceparent"), "http": ctx.HTTPHeaders().get("traceparent"),
    }), headers={"Content-Type": "application/json"})
"""


def test_an_fn_http_stream_function_gets_the_calls_traceparent(server: SluiceServer) -> None:
    """The real Python FDK: the call's traceparent on the hop to the function, and as the
    request's own header (Fn-Http-H-Traceparent)."""
    files = {"func.py": FDK_TRACE_PY, "requirements.txt": "fdk>=0.1.128\n"}
    route = {"path": "/fdk", "runtime": "python", "format": "http-stream", "code": zip_b64(files)}
    with fn_client(server) as client:
        put = client.put("/v1/apps/trfdk/routes/fdk", json={"route": route})
        assert put.status_code == 200, put.text
        answer = client.post("/r/trfdk/fdk", headers={"traceparent": CALLER})
        assert answer.status_code == 200, answer.text
    told = answer.json()
    hop, http = told["hop"], told["http"]
    assert hop == (http[0] if isinstance(http, list) else http)
    _, trace_id, span_id, _ = _parts(hop)
    assert trace_id == TRACE_ID
    assert span_id != CALLER_SPAN
