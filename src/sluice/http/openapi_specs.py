"""What the OpenAPI documents (http/openapi.py) say beyond what the route table tells: the
query parameters, bodies and answers of the routes clients use most, each dialect's error
shape, and the routes that need no key. A route not listed here is still documented: its
path parameters and its dialect's errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
COUNT: Schema = {"type": "integer", "minimum": 0}
OBJECT: Schema = {"type": "object"}
OBJECTS: Schema = {"type": "array", "items": OBJECT}


@dataclass(frozen=True)
class Spec:
    summary: str = ""
    query: dict[str, Schema] = field(default_factory=dict)
    body: Schema | None = None
    body_required: bool = False
    #: status -> description of the answers that are not errors
    ok: dict[int, str] = field(default_factory=lambda: {200: "OK"})
    #: status -> JSON schema of that answer's body
    bodies: dict[int, Schema] = field(default_factory=dict)
    #: its answers are a function's own (any status, any content)
    own_answers: bool = False


_OW_ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": STRING, "code": STRING},
}
#: dialect -> (media type, schema) of its errors; None: no one shape
ERRORS: dict[str, tuple[str, Schema]] = {
    "openwhisk": ("application/json", _OW_ERROR),
    "sluice": ("application/json", _OW_ERROR),
    "openfaas": ("text/plain", STRING),
    "ui": (
        "application/json",
        {"type": "object", "required": ["error"], "properties": {"error": STRING}},
    ),
    "fn": (
        "application/json",
        {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "object", "properties": {"message": STRING}}},
        },
    ),
}

#: Fn v2's errors are flat ({"message"}); its /invoke and /t routes answer as the function does
_FN_V2_ERROR: tuple[str, Schema] = (
    "application/json",
    {"type": "object", "required": ["message"], "properties": {"message": STRING}},
)
_FUNCTION_ANSWERS = ("/invoke/", "/t/")


def error_shape(dialect: str, path: str) -> tuple[str, Schema] | None:
    """The shape of a route's error answers (None: the route answers as its function does)."""
    if dialect == "fn" and path.startswith(_FUNCTION_ANSWERS):
        return None
    if dialect == "fn" and path.startswith("/v2/"):
        return _FN_V2_ERROR
    return ERRORS.get(dialect)


_ACTION_BODY: Schema = {
    "type": "object",
    "properties": {
        "exec": {
            "type": "object",
            "properties": {"kind": STRING, "code": STRING, "main": STRING, "image": STRING},
        },
        "parameters": OBJECTS,
        "annotations": OBJECTS,
        "limits": OBJECT,
        "publish": BOOLEAN,
    },
}
_LIST = {"limit": COUNT, "skip": COUNT}
_CALL_STATE: Schema = {
    "type": "object",
    "required": ["id", "activationId", "namespace", "action", "state", "attempts"],
    "properties": {
        "id": STRING,
        "activationId": STRING,
        "uuid": STRING,
        "namespace": STRING,
        "action": STRING,
        "state": STRING,
        "attempts": COUNT,
        "trace": {
            "type": ["object", "null"],
            "properties": {
                "traceId": STRING,
                "spanId": STRING,
                "parentSpanId": {"type": ["string", "null"]},
                "traceparent": STRING,
            },
        },
    },
}


def _openwhisk(prefix: str) -> dict[tuple[str, str], Spec]:
    ns = f"{prefix}/namespaces/{{ns}}"
    return {
        ("GET", f"{prefix}/namespaces"): Spec(
            "The namespaces of the key", bodies={200: {"type": "array", "items": STRING}}
        ),
        ("GET", f"{ns}/actions"): Spec("List actions", _LIST, bodies={200: OBJECTS}),
        ("GET", f"{ns}/actions/{{name}}"): Spec("Get an action", bodies={200: OBJECT}),
        ("PUT", f"{ns}/actions/{{name}}"): Spec(
            "Create or update an action",
            {"overwrite": BOOLEAN},
            body=_ACTION_BODY,
            body_required=True,
            bodies={200: OBJECT},
        ),
        ("DELETE", f"{ns}/actions/{{name}}"): Spec("Delete an action", bodies={200: OBJECT}),
        ("POST", f"{ns}/actions/{{name}}"): Spec(
            "Invoke an action",
            {"blocking": BOOLEAN, "result": BOOLEAN, "timeout": COUNT},
            body=OBJECT,
            ok={
                200: "The call ended within the wait: its activation (or result)",
                202: "Accepted: its activation id",
                502: "The call ended with an error: its activation (or result)",
            },
            bodies={
                202: {"type": "object", "required": ["activationId"], "properties": {}},
            },
        ),
        ("GET", f"{ns}/activations"): Spec(
            "List activations",
            {**_LIST, "name": STRING, "since": COUNT, "upto": COUNT, "docs": BOOLEAN},
        ),
        ("GET", f"{ns}/activations/{{id}}"): Spec("Get an activation", bodies={200: OBJECT}),
    }


SPECS: dict[tuple[str, str], Spec] = {
    **_openwhisk("/api/v1"),
    **_openwhisk("/runtime/api/v1"),
    ("GET", "/sluice/v1/namespaces/{ns}/calls/{id}"): Spec(
        "A call's live state, waiting up to `wait` seconds for its end",
        {"wait": {"type": "number", "minimum": 0, "maximum": 60}},
        bodies={200: _CALL_STATE},
    ),
    ("GET", "/sluice/v1/namespaces/{ns}/stats"): Spec(
        "The namespace's queue, running calls, rates and slowest functions (`sluice top`)",
        {"window": {"type": "integer", "minimum": 1, "maximum": 3600}},
        bodies={200: OBJECT},
    ),
    ("GET", "/system/functions"): Spec("List functions", bodies={200: OBJECTS}),
    ("GET", "/system/info"): Spec("The gateway's description", bodies={200: OBJECT}),
    ("GET", "/health"): Spec("The process is up", bodies={200: OBJECT}),
    ("GET", "/ready"): Spec(
        "The server can work: store and queue reachable, workers present",
        ok={200: "Ready", 503: "Not ready: the reasons"},
        bodies={200: OBJECT, 503: OBJECT},
    ),
    ("GET", "/metrics"): Spec("Prometheus metrics (text format)", own_answers=True),
}
for _path in ("/function/{name}", "/function/{name}/{path}", "/api/v1/web/{ns}/{pkg}/{rest}"):
    for _method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        SPECS[(_method, _path)] = Spec("The function's own answer", own_answers=True)
for _method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
    SPECS[(_method, "/r/{app}/{path}")] = Spec("The function's own answer", own_answers=True)

# OpenFaaS's async route answers 202 with no body (the call id in X-Call-Id), a call's
# status as JSON; a queue's cancel says how many it cancelled; scaling answers 202 alone
for _path in ("/async-function/{name}", "/async-function/{name}/{path}"):
    for _method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        SPECS[(_method, _path)] = Spec(
            "Queue a call (its status by id with GET, its cancel with DELETE)",
            ok={200: "The call's status", 202: "Accepted"},
        )
SPECS[("DELETE", "/system/queue/{name}")] = Spec(
    "Cancel the function's queued calls", ok={202: "Cancelled"}, bodies={202: OBJECT}
)
SPECS[("POST", "/system/scale-function/{name}")] = Spec(
    "Set the function's replicas", ok={200: "Scaled", 202: "Scaling"}
)

# Fn v2 deletes answer 204 with no body
for _path in ("/v2/apps/{app_id}", "/v2/fns/{fn_id}", "/v2/triggers/{trigger_id}"):
    SPECS[("DELETE", _path)] = Spec("Delete it", ok={204: "Deleted"})

#: paths (or (method, path)) served without a key
OPEN: frozenset[Any] = frozenset(
    {
        "/",
        "/version",
        "/healthz",
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/api/v1/api-docs",
        "/docs",
        "/function/{name}",
        "/function/{name}/{path}",
        "/api/v1/web/{ns}/{pkg}/{rest}",
        # the dashboard signs in with its session cookie (docs/ui.md), not a key
        "/ui",
        "/ui/",
        "/ui/static/{file}",
        "/ui/api/session",
        "/ui/api/functions",
        "/ui/api/calls",
        "/ui/api/calls/{id}",
        "/ui/api/calls/{id}/cancel",
        "/ui/api/dead-letters",
        "/ui/api/dead-letters/{id}/redrive",
        "/ui/api/triggers",
        "/ui/api/stats",
        "/ui/api/events",
    }
)
