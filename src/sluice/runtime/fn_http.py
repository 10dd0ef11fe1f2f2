"""One call over Fn's http-stream contract: an HTTP/1.1 `POST /call` on the function's
unix socket, and what its answer means (200 ran, 502 raised, 504 timed out)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sluice.observe import trace
from sluice.runtime.fn_request import FnRequest

#: headers the platform sets itself
_OWN = frozenset({"content-length", "host", "connection", "transfer-encoding", "content-type"})
_HTTP_PREFIX = "fn-http-h-"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def user_status(self) -> int:
        """The function's own status (carried as Fn-Http-Status), 200 when it set none."""
        text = self.headers.get("fn-http-status", "200")
        return int(text) if text.isdigit() else 200

    def user_headers(self) -> dict[str, str]:
        """The function's response headers: Fn-Http-H-* unwrapped, and its Content-Type."""
        out = {
            name[len(_HTTP_PREFIX) :]: value
            for name, value in self.headers.items()
            if name.startswith(_HTTP_PREFIX)
        }
        if "content-type" in self.headers:
            out["Content-Type"] = self.headers["content-type"]
        return out


class ProtocolError(Exception):
    """The function's answer is not HTTP/1.1 as the contract says."""


def encode(request: FnRequest) -> bytes:
    headers = {
        "Host": "localhost",
        "Connection": "close",
        "Content-Type": request.content_type,
        "Content-Length": str(len(request.body)),
        "Fn-Call-Id": request.call_id,
        "Fn-Deadline": request.deadline,
        "Fn-Intent": "httprequest",
        "Fn-Http-Method": request.method,
        "Fn-Http-Request-Url": request.url,
    }
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered not in _OWN:
            headers[f"Fn-Http-H-{name}"] = value
        if lowered == trace.HEADER:  # the hop to the function is part of the call's trace too
            headers[trace.HEADER] = value
    lines = "".join(f"{k}: {_clean(v)}\r\n" for k, v in headers.items())
    return f"POST /call HTTP/1.1\r\n{lines}\r\n".encode("latin-1", "replace") + request.body


def _clean(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


async def exchange(socket_path: str, request: FnRequest, limit: int) -> Answer:
    """Send `request` and read the whole answer (at most `limit` body bytes)."""
    reader, writer = await asyncio.open_unix_connection(socket_path, limit=1 << 20)
    try:
        writer.write(encode(request))
        await writer.drain()
        status_line = await reader.readline()
        parts = status_line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP status line: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await _body(reader, headers, limit)
        return Answer(int(parts[1]), headers, body)
    finally:
        writer.close()


async def _body(reader: asyncio.StreamReader, headers: dict[str, str], limit: int) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        size = 0
        while True:
            length = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if length == 0:
                return b"".join(chunks)
            size += length
            if size > limit:
                raise ProtocolError(f"the response is larger than {limit} bytes")
            chunks.append(await reader.readexactly(length))
            await reader.readline()
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit():
        if int(declared) > limit:
            raise ProtocolError(f"the response is larger than {limit} bytes")
        return await reader.readexactly(int(declared))
    body = await reader.read(limit + 1)
    if len(body) > limit:
        raise ProtocolError(f"the response is larger than {limit} bytes")
    return body
