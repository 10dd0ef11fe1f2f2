"""OTLP/HTTP export against a receiving server: a real Sluice exports each call's spans
(accept, queue, run, callback, the call's own) in the caller's trace, decoded here with
opentelemetry-proto as a collector would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from tests.dialects.openfaas.helpers import ECHO_JS, make_function, open_client
from tests.http.test_tracing import CALLER, CALLER_SPAN, ECHO_TRACE_JS, TRACE_ID
from tests.support.calls import wait_call
from tests.support.listener import LOOPBACK_CALLBACKS, Listener
from tests.support.server import SluiceServer, put_action, wait_for


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, object]
    service: str


def _spans(collector: Listener) -> list[Span]:
    found = []
    for received in list(collector.received):
        assert received.path == "/v1/traces"
        assert received.headers["content-type"] == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(received.body)
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {
                        a.key: a.value.string_value or a.value.int_value for a in span.attributes
                    }
                    found.append(
                        Span(
                            span.name,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            span.start_time_unix_nano,
                            span.end_time_unix_nano,
                            attributes,
                            service["service.name"],
                        )
                    )
    return found


def _spans_of(collector: Listener, call_id: str, names: set[str]) -> dict[str, Span]:
    def every() -> dict[str, Span] | None:
        mine = {s.name: s for s in _spans(collector) if s.attributes["sluice.call_id"] == call_id}
        return mine if names <= set(mine) else None

    return wait_for(every, 60, f"spans {names} of call {call_id}")


@pytest.mark.parametrize("worker_process", ["0", "1"])
def test_a_calls_phases_are_exported_in_the_callers_trace(
    new_server: Callable[..., SluiceServer], worker_process: str
) -> None:
    """In one process, and with the calls run in a second one (SLUICE_WORKER_PROCESS): the
    API process exports the accept, the worker process the rest, into one tree."""
    with Listener() as collector, Listener() as receiver:
        server = new_server(
            SLUICE_WORKER_PROCESS=worker_process,
            SLUICE_OTLP_ENDPOINT=collector.url,
            OTEL_BSP_SCHEDULE_DELAY="50",
            OTEL_SERVICE_NAME="sluice-test",
            **LOOPBACK_CALLBACKS,
        ).start()
        with server.client() as client:
            assert put_action(client, "sp-echo", ECHO_TRACE_JS).status_code == 200
            answer = client.post(
                server.ns_path("actions/sp-echo?blocking=true"), headers={"traceparent": CALLER}
            )
            assert answer.status_code == 200, answer.text
            record = answer.json()
            call_id = record["activationId"]
            trace = wait_call(client, call_id)["trace"]
        spans = _spans_of(collector, call_id, {"accept", "queue", "run", "call sp-echo"})
        make_function(server, "sp-faas", ECHO_JS)
        with open_client(server) as caller:
            headers = {"traceparent": CALLER, "X-Callback-Url": receiver.url}
            started = caller.post("/async-function/sp-faas", headers=headers)
            assert started.status_code == 202, started.text
        (delivered,) = receiver.wait(1)
        with server.client() as client:
            faas_id = wait_call(client, started.headers["x-call-id"])["activationId"]
        callback = _spans_of(collector, faas_id, {"callback"})["callback"]
    call = spans["call sp-echo"]
    assert (call.trace_id, call.span_id, call.parent_id) == (
        TRACE_ID,
        trace["spanId"],
        CALLER_SPAN,
    )
    assert call.service == "sluice-test"
    assert call.attributes["sluice.namespace"] == "guest"
    assert call.attributes["sluice.function"] == "sp-echo"
    assert call.attributes["sluice.state"] == "success"
    for phase in ("accept", "queue", "run"):
        assert spans[phase].trace_id == TRACE_ID
        assert spans[phase].parent_id == call.span_id
        assert call.start_ns <= spans[phase].start_ns <= spans[phase].end_ns <= call.end_ns
    assert spans["queue"].end_ns <= spans["run"].start_ns
    # the function was told its run's span: its own spans nest under the run
    function_parent = record["response"]["result"]["traceparent"].split("-")[2]
    assert function_parent == spans["run"].span_id
    # the callback's receiver was sent the delivery's span
    assert callback.trace_id == TRACE_ID
    assert delivered.headers["traceparent"].split("-")[2] == callback.span_id
    assert callback.attributes["http.response.status_code"] == 200


def test_otel_sdk_disabled_turns_export_off(new_server: Callable[..., SluiceServer]) -> None:
    """OTEL_SDK_DISABLED wins over an endpoint: nothing is sent."""
    with Listener() as collector:
        server = new_server(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_SDK_DISABLED="true")
        server.start()
        with server.client() as client:
            assert put_action(client, "sp-off", ECHO_TRACE_JS).status_code == 200
            answer = client.post(server.ns_path("actions/sp-off?blocking=true"))
            assert answer.status_code == 200, answer.text
        server.stop()  # a running export would send its batch now
    assert collector.received == []
