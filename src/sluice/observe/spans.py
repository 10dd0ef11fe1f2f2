"""OpenTelemetry export of calls' spans (OTLP over HTTP), when an endpoint is configured.

Each call is a span (from its accept to its end, a child of the caller's span), with a span
for each phase: `accept` (the request's write), `queue` (waiting for a worker), `run` (its
code; the function's own spans are children of it, see observe/trace.py) and `callback` (each
delivery). A trigger's fire is a span too, its rules' calls children of it. Span ids are the
ones the call was given at accept, so every process that handles the call exports into the
same tree; the SDK's batch processor and OTLP exporter send them.

Off (no endpoint), every function here returns at once and the SDK is never imported."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sluice.observe.trace import CALLBACK, RUN, Trace
from sluice.records import CallState

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from sluice.config import Settings
    from sluice.records import Lease

log = logging.getLogger("sluice.observe")

#: the standard variables, read when SLUICE_OTLP_ENDPOINT is not set
_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
_DISABLED = "OTEL_SDK_DISABLED"
_TRACES_PATH = "/v1/traces"

Attributes = Mapping[str, str | int | bool]


def endpoint(settings: Settings) -> str | None:
    """The OTLP/HTTP traces URL spans go to; None: export is off."""
    if os.environ.get(_DISABLED, "").strip().lower() == "true":
        return None
    if settings.otlp_endpoint:
        return settings.otlp_endpoint.rstrip("/") + _TRACES_PATH
    if traces := os.environ.get(_TRACES_ENDPOINT):
        return traces
    if base := os.environ.get(_ENDPOINT):
        return base.rstrip("/") + _TRACES_PATH
    return None


class _Sink:
    """The SDK's pipeline: spans made here, handed to its batch processor."""

    def __init__(self, url: str, service: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        self.processor: BatchSpanProcessor = BatchSpanProcessor(OTLPSpanExporter(endpoint=url))
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name
        self.resource = Resource.create({SERVICE_NAME: service})
        self.scope = InstrumentationScope("sluice")

    def emit(
        self,
        name: str,
        span: Trace,
        start_ms: int,
        end_ms: int,
        attributes: Attributes,
        failed: bool = False,
        server: bool = False,
    ) -> None:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        flags = TraceFlags(int(span.flags, 16))
        trace_id = int(span.trace_id, 16)
        parent = None
        if span.parent_id is not None:
            parent = SpanContext(trace_id, int(span.parent_id, 16), True, flags)
        self.processor.on_end(
            ReadableSpan(
                name,
                context=SpanContext(trace_id, int(span.span_id, 16), False, flags),
                parent=parent,
                resource=self.resource,
                attributes=dict(attributes),
                kind=SpanKind.SERVER if server else SpanKind.INTERNAL,
                status=Status(StatusCode.ERROR if failed else StatusCode.UNSET),
                start_time=start_ms * 1_000_000,
                end_time=max(end_ms, start_ms) * 1_000_000,
                instrumentation_scope=self.scope,
            )
        )

    def close(self) -> None:
        self.processor.shutdown()  # type: ignore[no-untyped-call]  # sends what is batched


_sink: _Sink | None = None


def install(settings: Settings) -> bool:
    """Start exporting, when an endpoint is configured (once per process)."""
    global _sink
    url = endpoint(settings)
    if url is None or _sink is not None:
        return _sink is not None
    _sink = _Sink(url, os.environ.get("OTEL_SERVICE_NAME") or "sluice")
    log.info("exporting call spans to %s", url)
    return True


def uninstall() -> None:
    global _sink
    sink, _sink = _sink, None
    if sink is not None:
        sink.close()


def _call_attributes(namespace: str, path: str, call_id: str) -> dict[str, str | int | bool]:
    return {"sluice.call_id": call_id, "sluice.namespace": namespace, "sluice.function": path}


def accepted(
    span: Trace | None, namespace: str, path: str, call_id: str, start_ms: int, end_ms: int
) -> None:
    """The call was accepted: its request's work, from arrival to the durable write."""
    if _sink is None or span is None or not span.sampled:
        return
    accept = span.phase("accept")
    _sink.emit("accept", accept, start_ms, end_ms, _call_attributes(namespace, path, call_id))


def ended(lease: Lease, state: CallState, started: int | None, ended_ms: int) -> None:
    """The call ended in `state` (its code started at `started`, or never): its own span
    (accept to end), its wait in the queue and, when its code ran, its run."""
    span = lease.trace
    if _sink is None or span is None or not span.sampled:
        return
    attributes = {
        **_call_attributes(lease.namespace, lease.path, lease.id.hex),
        "sluice.state": state.value,
    }
    failed = state is not CallState.SUCCESS
    begun = started if started is not None else ended_ms
    _sink.emit("queue", span.phase("queue", lease.attempt), lease.created, begun, attributes)
    if started is not None:
        run = span.phase(RUN, lease.attempt)
        run_attributes = {**attributes, "sluice.attempt": lease.attempt}
        _sink.emit(RUN, run, begun, ended_ms, run_attributes, failed)
    _sink.emit(f"call {lease.path}", span, lease.created, ended_ms, attributes, failed, True)


def fired(span: Trace | None, namespace: str, trigger: str, call_id: str, at_ms: int) -> None:
    """A trigger fired: its activation, whose children are its rules' calls."""
    if _sink is None or span is None or not span.sampled:
        return
    attributes = {**_call_attributes(namespace, trigger, call_id), "sluice.entity": "trigger"}
    _sink.emit(f"fire {trigger}", span, at_ms, at_ms, attributes, server=True)


def delivered(
    span: Trace | None,
    call_id: str,
    attempt: int,
    start_ms: int,
    end_ms: int,
    status: int | None,
    error: str | None,
) -> None:
    """One delivery of a call's callback."""
    if _sink is None or span is None or not span.sampled:
        return
    attributes: dict[str, str | int | bool] = {"sluice.call_id": call_id, "sluice.attempt": attempt}
    if status is not None:
        attributes["http.response.status_code"] = status
    if error is not None:
        attributes["error.type"] = error
    delivery = span.phase(CALLBACK, attempt)
    _sink.emit("callback", delivery, start_ms, end_ms, attributes, failed=error is not None)
