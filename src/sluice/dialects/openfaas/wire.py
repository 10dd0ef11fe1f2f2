"""OpenFaaS's wire shapes: the headers the gateway adds, a finished call as the function's
HTTP response, and an async call's status (Sluice's own addition)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from starlette.responses import Response

from sluice.answers import HttpAnswer, call_answer, duration_seconds, duration_text
from sluice.call_meta import OpenFaasMeta
from sluice.errors import BadRequest
from sluice.ids import CallId
from sluice.notify.destinations import Destinations, Undeliverable
from sluice.numbers import decimal, storable
from sluice.records import Call, Callback
from sluice.timing import rfc3339_ms

#: request headers a callback echoes, so that the receiver can match it to its request
_CORRELATION = ("x-request-id", "traceparent", "tracestate")
_URL_MAX = 2048


def callback_url(text: str | None) -> str | None:
    """X-Callback-Url, checked at submit: an absolute http(s) URL, or a 400 now."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host or len(text) > _URL_MAX:
        raise BadRequest(
            f"Invalid X-Callback-Url '{text[:200]}': an absolute http or https URL is needed."
        )
    return text


async def check_callback(destinations: Destinations, url: str) -> None:
    """A 400 now for an X-Callback-Url whose host callbacks may not go to."""
    try:
        await destinations.check(url)
    except Undeliverable as exc:
        raise BadRequest(f"Invalid X-Callback-Url '{url[:200]}': {exc}.") from exc


#: the furthest ahead a call may be scheduled
DELAY_MAX_SECONDS = 30 * 24 * 3600


def run_at(headers: Mapping[str, str], now_ms: int) -> int | None:
    """When a delayed call may run (epoch ms): `X-Delay-Seconds: N`, or `X-Run-At` as
    RFC 3339 or Unix seconds. None: now."""
    delay, at = headers.get("x-delay-seconds"), headers.get("x-run-at")
    if delay is not None and at is not None:
        raise BadRequest("Give X-Delay-Seconds or X-Run-At, not both.")
    if delay is not None:
        try:
            seconds = float(delay)
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= DELAY_MAX_SECONDS:
            raise BadRequest(
                f"Invalid X-Delay-Seconds '{delay[:40]}': a number of seconds from 0 to"
                f" {DELAY_MAX_SECONDS}."
            )
        return now_ms + round(seconds * 1000)
    if at is None:
        return None
    when = _instant_ms(at.strip())
    if when is None or when > now_ms + DELAY_MAX_SECONDS * 1000:
        raise BadRequest(
            f"Invalid X-Run-At '{at[:40]}': an RFC 3339 time or Unix seconds, at most 30"
            " days ahead."
        )
    return when


def _instant_ms(text: str) -> int | None:
    seconds = decimal(text)
    if seconds is not None:
        return round(seconds * 1000) if storable(seconds * 1000) else None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return round(moment.timestamp() * 1000)


_KEY_MAX = 255


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    """`Idempotency-Key`: a retried submit with it gets the first call, not a second one."""
    key = headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > _KEY_MAX:
        raise BadRequest(f"Invalid Idempotency-Key: 1 to {_KEY_MAX} characters.")
    return key


def correlation_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's correlation headers (X-Correlation-*, X-Request-Id, traceparent)."""
    return {
        name: value
        for name, value in headers.items()
        if name.lower().startswith("x-correlation-") or name.lower() in _CORRELATION
    }


def status_url(call_id: CallId) -> str:
    return f"/async-function/{call_id.uuid}"


def id_headers(call_id: CallId, added: dict[str, str]) -> dict[str, str]:
    """X-Call-Id and X-Start-Time as the gateway adds them, and where the call's status is."""
    return {
        "X-Call-Id": added["x-call-id"],
        "X-Start-Time": added["x-start-time"],
        "Location": status_url(call_id),
    }


def content_type(answer: HttpAnswer, request_type: str | None) -> str:
    """The function's own type, else the request's (as the provider does), else text."""
    return answer.content_type or request_type or "text/plain"


def function_response(call: Call, request_type: str | None, ids: dict[str, str]) -> Response:
    answer = call_answer(call)
    assert answer is not None
    response = Response(answer.body, answer.status)
    response.raw_headers.extend((k.encode(), v.encode()) for k, v in answer.forwardable())
    response.headers["Content-Type"] = content_type(answer, request_type)
    response.headers["X-Duration-Seconds"] = duration_text(call)
    for name, value in ids.items():
        response.headers[name] = value
    return response


def _time(epoch_ms: int | None) -> str | None:
    return rfc3339_ms(epoch_ms) if epoch_ms is not None else None


def callback_status(callback: Callback) -> dict[str, Any]:
    return {
        "url": callback.url,
        "status": callback.state.value,
        "attempts": callback.attempts,
        "lastStatus": callback.last_status,
        "lastError": callback.last_error,
        "settledAt": _time(callback.settled),
    }


def call_status(call: Call, callback: Callback | None) -> dict[str, Any]:
    """An async call's state, its callback's, and its answer once it has one."""
    meta = call.meta.openfaas or OpenFaasMeta(call.path)
    out: dict[str, Any] = {
        "callId": call.id.uuid,
        "function": meta.function or call.path,
        "status": call.state.value,
        "attempts": call.attempts,
        "createdAt": _time(call.created),
        "startedAt": _time(call.started),
        "endedAt": _time(call.ended),
    }
    if callback is not None:
        out["callback"] = callback_status(callback)
    answer = call_answer(call)
    if answer is None:
        return out
    out["functionStatus"] = answer.status
    out["durationSeconds"] = round(duration_seconds(call), 6)
    out["contentType"] = content_type(answer, meta.content_type)
    try:
        out["body"] = answer.body.decode()
    except UnicodeDecodeError:
        out["body"] = base64.b64encode(answer.body).decode()
        out["bodyBase64"] = True
    return out
