"""Fn's `json` format: the function stays up, reads one JSON object per call on stdin and
writes one JSON object per answer on stdout.

In:  {"call_id", "deadline", "content_type", "body": "<text>",
      "protocol": {"type": "http", "method", "request_url", "headers": {name: [values]}}}
Out: {"body": "<text>", "content_type", "protocol": {"status_code", "headers"}}

Objects are written followed by a blank line; answers may span lines (pretty-printed).
Lines of stdout that do not start an object are the function's log, as stderr is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from sluice.runtime.fn_http import ProtocolError
from sluice.runtime.fn_request import FnRequest

_TEXT = "text/plain; charset=utf-8"


def encode(request: FnRequest) -> bytes:
    frame = {
        "call_id": request.call_id,
        "deadline": request.deadline,
        "content_type": request.content_type,
        "body": request.body.decode("utf-8", "replace"),
        "protocol": {
            "type": "http",
            "method": request.method,
            "request_url": request.url,
            "headers": {name: [value] for name, value in request.headers.items()},
        },
    }
    return orjson.dumps(frame) + b"\n\n"


@dataclass(frozen=True)
class JsonAnswer:
    """What the function answered; `status` 200 says it ran (as http-stream's does)."""

    body: bytes
    content_type: str
    status_code: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200

    def user_status(self) -> int:
        return self.status_code

    def user_headers(self) -> dict[str, str]:
        return {**self.headers, "Content-Type": self.content_type}


def _header_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def decode(frame: Any) -> JsonAnswer:
    """The answer in `frame`, checked; ProtocolError names what is wrong."""
    if not isinstance(frame, dict):
        raise ProtocolError("the answer is not a JSON object")
    body = frame.get("body", "")
    # a body given as JSON rather than as its text: keep it as JSON text
    data = body.encode("utf-8") if isinstance(body, str) else orjson.dumps(body)
    content_type = frame.get("content_type") or _TEXT
    if not isinstance(content_type, str):
        raise ProtocolError("the answer's content_type is not a string")
    protocol = frame.get("protocol") or {}
    if not isinstance(protocol, dict):
        raise ProtocolError("the answer's protocol is not an object")
    status = protocol.get("status_code") or 200
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ProtocolError(f"the answer's protocol.status_code {status!r} is not an HTTP status")
    headers = protocol.get("headers") or {}
    if not isinstance(headers, dict):
        raise ProtocolError("the answer's protocol.headers is not an object")
    out = {str(k): _header_value(v) for k, v in headers.items() if k.lower() != "content-type"}
    return JsonAnswer(data, content_type, status, out)


class Framer:
    """Gathers stdout lines into JSON objects (an answer may span lines)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lines: list[bytes] = []
        self._size = 0

    def takes(self, line: bytes) -> bool:
        """Whether `line` belongs to an answer: one is under way or the line starts one."""
        return bool(self._lines) or line.lstrip().startswith(b"{")

    def feed(self, line: bytes) -> dict[str, Any] | None:
        """The object `line` completes; None while it is incomplete."""
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size > self.limit:
            self._lines, self._size = [], 0
            raise ProtocolError(f"the answer is larger than {self.limit} bytes")
        if not line.rstrip().endswith(b"}"):
            return None
        try:
            frame = orjson.loads(b"\n".join(self._lines))
        except orjson.JSONDecodeError:
            return None
        self._lines, self._size = [], 0
        return frame if isinstance(frame, dict) else None
