"""Reading request bodies within a size limit, and JSON bodies within a depth limit."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from sluice.errors import BadRequest, TooLarge
from sluice.http.headers import first_values
from sluice.numbers import whole_number

#: JSON nested deeper than this is refused: orjson reads 1,024 levels but writes only 254,
#: and what Sluice stores wraps a body in a few levels of its own (an activation's
#: response.result, an entity's parameters)
JSON_MAX_DEPTH = 128
#: a function's code, deployed in a body, may be far larger than a call's parameters
#: (OpenWhisk allows 48 MB)
CODE_MAX_BYTES = 48 * 1024 * 1024


async def read_body(request: Request, limit: int) -> bytes:
    declared = whole_number(first_values(request).get("content-length", ""))
    if declared is not None and declared > limit:
        raise TooLarge(f"The request content was too large ({declared} > {limit} bytes).")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"The request content was too large (more than {limit} bytes).")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        # nobody is left to read the answer; this ends the request without a 500 in the log
        raise BadRequest("The client went away before its request content arrived.") from exc
    return b"".join(chunks)


def too_deep(value: Any, limit: int = JSON_MAX_DEPTH) -> bool:
    """Whether `value` nests lists and objects more than `limit` deep (without recursing)."""
    level = [value]
    for _ in range(limit):
        level = [
            item
            for node in level
            if isinstance(node, dict | list)
            for item in (node.values() if isinstance(node, dict) else node)
            if isinstance(item, dict | list)
        ]
        if not level:
            return False
    return True


def parse_json(raw: bytes) -> Any:
    """A JSON text as Python values; malformed or too deeply nested JSON is a 400."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request content was malformed:\n{exc}") from exc
    # nesting takes a bracket a level: with few of them (most bodies), no need to look
    if raw.count(b"{") + raw.count(b"[") > JSON_MAX_DEPTH and too_deep(value):
        raise BadRequest(
            f"The request content was malformed:\nJSON nested more than {JSON_MAX_DEPTH} deep"
        )
    return value


async def read_json_object(request: Request, limit: int) -> tuple[dict[str, Any], int]:
    """The body as a JSON object (empty body -> {}), and its size in bytes."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}, 0
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise BadRequest("The request content was malformed:\nexpected a JSON object")
    return value, len(raw)
