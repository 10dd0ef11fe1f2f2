"""The caller's span a request carries (its W3C `traceparent` header), on every route that
makes a call: a header that breaks the rules is ignored, never refused."""

from __future__ import annotations

from starlette.requests import Request

from sluice.http.headers import all_values
from sluice.observe.trace import HEADER, Trace, parse

_NAME = HEADER.encode()


def caller_trace(request: Request) -> Trace | None:
    return parse(all_values(request, _NAME))
