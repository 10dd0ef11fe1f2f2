"""The HTTP request an Fn function serves, read from a call's parameters (sluice/envelope.py),
and the response it gives, carried in the call's result.

Parameters without `__ow_body` (a call made through another dialect) become a JSON body.
The result is `{"statusCode", "headers", "body"}` (`"bodyBase64": true` when the body is
not UTF-8), as a web action answers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from sluice.envelope import (
    BODY,
    BODY_BASE64,
    ENVELOPE,
    HEADERS,
    METHOD,
    REQUEST_URL,
    headers_of,
    traced,
)
from sluice.ids import CallId
from sluice.observe import trace
from sluice.timing import rfc3339_ms


@dataclass(frozen=True)
class FnRequest:
    call_id: str
    method: str
    url: str
    deadline: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get("content-type", "application/json")

    @classmethod
    def from_call(cls, params: Mapping[str, Any], env: Mapping[str, str]) -> FnRequest:
        """The request in a call's parameters and per-call environment (`__OW_*`)."""
        activation = env.get("__OW_ACTIVATION_ID", "")
        call_id = CallId.parse(activation)
        deadline_ms = env.get("__OW_DEADLINE", "")
        return cls(
            call_id=call_id.ulid if call_id is not None else activation,
            method=str(params.get(METHOD) or "post").upper(),
            url=str(params.get(REQUEST_URL) or ""),
            deadline=rfc3339_ms(int(deadline_ms)) if deadline_ms.isdigit() else "",
            headers=traced(headers_of(params.get(HEADERS)), env.get(trace.ENV)),
            body=_body(params),
        )


def _body(params: Mapping[str, Any]) -> bytes:
    if BODY not in params:
        rest = {k: v for k, v in params.items() if k not in ENVELOPE}
        return orjson.dumps(rest)
    text = str(params[BODY])
    if params.get(BODY_BASE64):
        try:
            return base64.b64decode(text)
        except (binascii.Error, ValueError):
            return b""
    return text.encode("utf-8")


def response(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """A call's result for the response a function gave."""
    out: dict[str, Any] = {"statusCode": status, "headers": dict(headers)}
    try:
        out["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        out["body"] = base64.b64encode(body).decode()
        out["bodyBase64"] = True
    return out


def guess_content_type(body: bytes) -> str:
    """What the default format's stdout most likely is: JSON when it parses as JSON."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return "text/plain; charset=utf-8"
    return "application/json"
