"""What a function's result means as an HTTP response, for every route that answers with
one (web actions, OpenFaaS's /function routes, callbacks).

A result shaped like a web action's `http` answer (`statusCode`, `headers`, `body`) is that
response; `"bodyBase64": true` marks a body that is base64 text (what HTTP-native kinds
return for bytes that are not UTF-8). Pure data in, pure data out: no framework here.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import orjson

from sluice.envelope import HOP_BY_HOP
from sluice.kinds import serves_http
from sluice.records import Call, CallState

#: RFC 9110's token (a header's name), and what a header's value may not hold
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: statuses whose responses have no body
BODILESS = (204, 304)
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_HTTP_FIELDS = ("statusCode", "headers", "body")
_NOT_FORWARDED = HOP_BY_HOP | {"content-type"}

#: the HTTP status a call that did not answer for itself gets
FAILURE_STATUS = {
    CallState.DEVELOPER_ERROR: 500,
    CallState.APPLICATION_ERROR: 500,
    CallState.TIMEOUT: 504,
    CallState.PLATFORM_ERROR: 503,
    CallState.CANCELLED: 410,
}


def is_text(content_type: str) -> bool:
    return content_type.startswith(TEXT_TYPES) or content_type.endswith("+json")


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    body: bytes = b""
    #: None when the function named none (each route picks its own default)
    content_type: str | None = None
    #: the function's other headers, lowercased names, in order (a name may repeat)
    headers: list[tuple[str, str]] = field(default_factory=list)

    def forwardable(self) -> list[tuple[str, str]]:
        """The headers a proxy passes on: no hop-by-hop ones, no framing, no content type."""
        return [(k, v) for k, v in self.headers if k not in _NOT_FORWARDED]


def valid_header(name: str, value: str) -> bool:
    """Whether a header can be sent as given: a token for a name (RFC 9110), no control
    characters in the value (a line break would end the header)."""
    return _TOKEN.fullmatch(name) is not None and _CONTROL.search(value) is None


def valid_status(status: object) -> TypeGuard[int]:
    """A final response's status: an integer from 200 to 599 (1xx are interim)."""
    return isinstance(status, int) and not isinstance(status, bool) and 200 <= status <= 599


def _headers(given: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None] | None:
    """The answer's headers and its content type (None: it names none); None when one
    of them cannot be sent."""
    content_type = None
    headers: list[tuple[str, str]] = []
    for name, value in given.items():
        values = value if isinstance(value, list) else [value]
        texts = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        if not all(valid_header(name, text) for text in texts):
            return None
        if name.lower() == "content-type":
            if not texts or not texts[0].isascii():
                return None
            content_type = texts[0]
            continue
        headers += [(name.lower(), text) for text in texts]
    return headers, content_type


def web_answer(result: Any, default_type: str | None = "text/html") -> HttpAnswer | None:
    """A web action's `http` answer (OpenWhisk's rules); None when `result` is not one,
    or is not a response HTTP can carry (a status outside 200-599, a header with a line
    break). A body without a content type is `default_type` (None: the route decides)."""
    if not isinstance(result, dict):
        return None
    status = result.get("statusCode", result.get("code", 200))
    given = result.get("headers") or {}
    if not isinstance(given, dict) or not valid_status(status):
        return None
    found = _headers(given)
    if found is None:
        return None
    headers, named_type = found
    content_type = named_type or default_type
    body = result.get("body")
    if body is None or status in BODILESS:
        return HttpAnswer(status if "statusCode" in result else 204, headers=headers)
    if isinstance(body, dict | list):
        return HttpAnswer(status, orjson.dumps(body), "application/json", headers)
    binary = result.get("bodyBase64") is True or (
        content_type is not None
        and not is_text(content_type.lower())
        and content_type != "text/html"
    )
    if isinstance(body, str) and binary:
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
        return HttpAnswer(status, data, content_type, headers)
    return HttpAnswer(status, str(body).encode(), content_type, headers)


def result_answer(result: Any, default_type: str | None) -> HttpAnswer:
    """A result as a response: a web `http` answer when it has its fields, else JSON."""
    if isinstance(result, dict) and any(key in result for key in _HTTP_FIELDS):
        answer = web_answer(result, default_type)
        if answer is not None:
            return answer
        return HttpAnswer(502, b"The function's response is not valid HTTP.", "text/plain")
    return HttpAnswer(200, orjson.dumps(result), "application/json")


def call_answer(call: Call) -> HttpAnswer | None:
    """The response a finished call gives; None while it is queued or running."""
    if not call.state.terminal:
        return None
    return outcome_answer(call.state, call.record or {})


def outcome_answer(state: CallState, record: dict[str, Any]) -> HttpAnswer:
    """The response of a run that ended in `state` with `record`."""
    result: Any = record.get("result", {})
    # functions that serve HTTP name their content type or have none; web actions' is HTML
    default_type = None if serves_http(str(record.get("kind"))) else "text/html"
    if state is CallState.SUCCESS:
        return result_answer(result, default_type)
    error = result.get("error") if isinstance(result, dict) else None
    status = FAILURE_STATUS[state]
    if state is CallState.APPLICATION_ERROR and isinstance(error, dict):
        answer = result_answer(error, default_type)
        if "statusCode" in error or answer.status >= 400:
            return answer
        return HttpAnswer(status, answer.body, answer.content_type, answer.headers)
    if isinstance(error, str):
        return HttpAnswer(status, error.encode() + b"\n", "text/plain")
    return HttpAnswer(status, orjson.dumps(result), "application/json")


def duration_seconds(call: Call) -> float:
    """How long the function ran (0 when it never started)."""
    record = call.record or {}
    start, end = record.get("start"), record.get("end")
    if not isinstance(start, int) or not isinstance(end, int):
        return 0.0
    return max(end - start, 0) / 1000


def duration_text(call: Call) -> str:
    """The run's duration as OpenFaaS writes it (X-Duration-Seconds): six decimals."""
    return f"{duration_seconds(call):.6f}"
