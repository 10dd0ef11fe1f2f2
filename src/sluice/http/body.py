"""Reading request bodies within a size limit."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from sluice.errors import BadRequest, TooLarge


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The request content was too large ({declared} > {limit} bytes).")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The request content was too large (more than {limit} bytes).")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: Request, limit: int) -> tuple[dict[str, Any], int]:
    """The body as a JSON object (empty body -> {}), and its size in bytes."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}, 0
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request content was malformed:\n{exc}") from exc
    if not isinstance(value, dict):
        raise BadRequest("The request content was malformed:\nexpected a JSON object")
    return value, len(raw)
