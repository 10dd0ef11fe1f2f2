"""The HTTP request a call carries in its parameters, as web actions, OpenFaaS and Fn
functions are given one, and the headers that belong to one hop of it. Data only: the
dialects write it, the engine stores it, the runtime reads it (runtime/fn_request.py).

Parameters follow OpenWhisk's raw web-action names (`__ow_method`, `__ow_headers`,
`__ow_path`, `__ow_query`, `__ow_body`) plus `__fn_request_url` and `__fn_body_base64`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sluice.observe import trace

#: headers that belong to one hop, never forwarded either way
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)

METHOD = "__ow_method"
HEADERS = "__ow_headers"
PATH = "__ow_path"
QUERY = "__ow_query"
BODY = "__ow_body"
REQUEST_URL = "__fn_request_url"
BODY_BASE64 = "__fn_body_base64"
ENVELOPE = (METHOD, HEADERS, PATH, QUERY, BODY, REQUEST_URL, BODY_BASE64)


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


def headers_of(value: Any) -> dict[str, str]:
    """The `__ow_headers` of a call's parameters as strings (none where it is no object)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def traced(headers: dict[str, str], traceparent: str | None) -> dict[str, str]:
    """The request's headers as the function sees them: the caller's traceparent replaced by
    the call's run's, so that the function's spans are children of its run."""
    if traceparent is None:
        return headers
    kept = {k: v for k, v in headers.items() if k.lower() != trace.HEADER}
    return {**kept, trace.HEADER: traceparent}
