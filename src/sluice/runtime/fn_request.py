"""The HTTP request an Fn function serves, carried in a call's parameters, and the response
it gives, carried in the call's result.

Parameters follow OpenWhisk's raw web-action names (`__ow_method`, `__ow_headers`,
`__ow_path`, `__ow_query`, `__ow_body`) plus `__fn_request_url` and `__fn_body_base64`.
Parameters without `__ow_body` (a call made through another dialect) become a JSON body.
The result is `{"statusCode", "headers", "body"}` (`"bodyBase64": true` when the body is
not UTF-8), as a web action answers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from sluice.ids import CallId
from sluice.timing import rfc3339_ms

METHOD = "__ow_method"
HEADERS = "__ow_headers"
PATH = "__ow_path"
QUERY = "__ow_query"
BODY = "__ow_body"
REQUEST_URL = "__fn_request_url"
BODY_BASE64 = "__fn_body_base64"
_ENVELOPE = (METHOD, HEADERS, PATH, QUERY, BODY, REQUEST_URL, BODY_BASE64)


#: how a request body is carried in `__ow_body`: `utf8` as text when it is UTF-8, else
#: base64 marked by `__fn_body_base64`; `text` as text whatever it holds (what is not UTF-8
#: replaced), as web actions carry text; `base64` always base64, as they carry the rest
BodyEncoding = Literal["utf8", "text", "base64"]
ENCODINGS: tuple[BodyEncoding, ...] = ("utf8", "text", "base64")


@dataclass(frozen=True, slots=True)
class Body:
    """A request's body, kept as its bytes until the call's parameters are made: a body
    stored aside (engine/claims.py) is stored once, at its size, and encoded for the
    function only when the call runs (base64 makes 4 bytes of 3, JSON makes 6 of a NUL)."""

    data: bytes
    encoding: BodyEncoding

    def params(self) -> dict[str, Any]:
        """The parameters that carry it."""
        if self.encoding == "text":
            return {BODY: self.data.decode(errors="replace")}
        if self.encoding == "utf8":
            try:
                return {BODY: self.data.decode("utf-8")}
            except UnicodeDecodeError:
                return {BODY: base64.b64encode(self.data).decode(), BODY_BASE64: True}
        return {BODY: base64.b64encode(self.data).decode()}


def request_head(
    method: str, url: str, path: str, query: str, headers: Mapping[str, str]
) -> dict[str, Any]:
    """A call's parameters for an HTTP request to a function, but for its body."""
    return {
        METHOD: method.lower(),
        HEADERS: dict(headers),
        PATH: path,
        QUERY: query,
        REQUEST_URL: url,
    }


def envelope(
    method: str, url: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """A call's parameters for an HTTP request to a function."""
    return {**request_head(method, url, path, query, headers), **Body(body, "utf8").params()}


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
            headers=_headers(params.get(HEADERS)),
            body=_body(params),
        )


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _body(params: Mapping[str, Any]) -> bytes:
    if BODY not in params:
        rest = {k: v for k, v in params.items() if k not in _ENVELOPE}
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
