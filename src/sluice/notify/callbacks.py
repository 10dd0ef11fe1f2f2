"""The one place that builds and sends callbacks: once a call with a callback URL ends, its
answer is POSTed there, retried with exponential backoff on connection errors, timeouts,
408, 429 and 5xx, and the outcome recorded on the call.

A callback is a durable job in the queue (written with its call, made due by the call's
end), so one that is owed survives a restart: a sender that dies mid-delivery leaves the
job hidden for a lease, then it is due again. Delivery is at least once; receivers tell
repeats apart by webhook-id (or X-Call-Id).

Where it goes is checked again as it is sent (destinations.py: the request connects to the
address just checked, and redirects are not followed), and each destination has a lane of
its own (lanes.py), so a receiver that stalls delays only its own deliveries. A delivery
gets `callback_timeout_seconds` from connecting to the receiver's answer; the answer's body
is read up to `_ANSWER_MAX` bytes and dropped.

What a callback carries:
- the body and content type of the call's answer (sluice/answers.py), and its headers
  (except those named below: the function cannot set them);
- the headers the dialect chose at accept (`CallMeta.callback.headers`: X-Call-Id,
  X-Start-Time, X-Function-Name, the caller's correlation headers);
- X-Function-Status, X-Duration-Seconds, X-Sluice-Call-Status, X-Callback-Attempt;
- with a secret set, webhook-id (the call's id, the same on every try), webhook-timestamp
  and webhook-signature as Standard Webhooks sign them, and X-Sluice-Signature-256:
  sha256=<hex HMAC-SHA256 of the body> (signing.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from sluice.answers import call_answer, duration_text
from sluice.call_meta import CallbackMeta
from sluice.config import Settings
from sluice.notify.destinations import Destinations, Refused, Route, Undeliverable
from sluice.notify.lanes import WAITING_TURNS, Lane, Lanes
from sluice.notify.signing import (
    SIGNATURE_HEADER,
    SIGNING_HEADERS,
    sign,
    webhook_headers,
    webhook_signer,
)
from sluice.observe import logs, metrics, spans, trace
from sluice.queue.base import Queue
from sluice.records import Call, Callback, CallbackState
from sluice.store.base import Store
from sluice.timing import backoff_ms, now_ms

log = logging.getLogger("sluice.callbacks")

#: receiver statuses worth another try (besides connection errors)
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_POLL_SECONDS = 0.5
#: after a wake, the sender waits this long for more calls to end before it looks: under a
#: stream of calls one look serves many ends instead of one query per call, for a few ms
#: more on a callback's way
_GATHER_SECONDS = 0.005
_BATCH = 32
#: deliveries held at once, sent or waiting in their lanes
_HELD_MAX = 512
#: the most of a receiver's answer read (and dropped) before the connection is closed
_ANSWER_MAX = 65536


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST of a call's answer."""

    url: str
    headers: dict[str, str]
    body: bytes


def build(call: Call, callback: Callback, secret: str | None, now_s: int | None = None) -> Delivery:
    """The request that delivers `call`'s answer to `callback.url`, signed at `now_s`
    (Unix seconds; default now) when there is a secret."""
    answer = call_answer(call)
    assert answer is not None, "a callback is only due once its call has ended"
    meta = call.meta.callback or CallbackMeta()
    headers = dict(meta.headers)
    headers["Content-Type"] = answer.content_type or meta.content_type or "text/plain"
    headers["X-Function-Status"] = str(answer.status)
    headers["X-Duration-Seconds"] = duration_text(call)
    headers["X-Sluice-Call-Status"] = call.state.value
    headers["X-Callback-Attempt"] = str(callback.attempts)
    if call.trace is not None:  # the receiver's spans are children of the delivery's
        headers[trace.HEADER] = call.trace.phase(trace.CALLBACK, callback.attempts).traceparent
    if secret:
        when = int(time.time()) if now_s is None else now_s
        headers.update(webhook_headers(webhook_signer(secret), callback.id.uuid, when, answer.body))
        headers[SIGNATURE_HEADER] = sign(secret, answer.body)
    taken = {name.lower() for name in headers} | SIGNING_HEADERS
    forwarded = {k: v for k, v in answer.forwardable() if k.lower() not in taken}
    return Delivery(callback.url, {**forwarded, **headers}, answer.body)


class CallbackSender:
    def __init__(
        self, store: Store, queue: Queue, settings: Settings, destinations: Destinations
    ) -> None:
        self.store = store
        self.queue = queue
        self.settings = settings
        self.destinations = destinations
        self._wake = asyncio.Event()
        self._wake_at: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        timeout = settings.callback_timeout_seconds
        self.lanes = Lanes(settings.callback_per_destination, timeout)
        #: how long a claimed delivery stays hidden: its wait in its lane, its request, and
        #: then some
        self.lease_ms = int(timeout * (2 + WAITING_TURNS) * 1000) + 5000

    def wake(self, *_: object) -> None:
        """A call ended: its callback may be due."""
        self._wake.set()

    def _wake_in(self, seconds: float) -> None:
        """Look again in `seconds` for callbacks put back: one timer, the earliest, for
        them all (the poll finds the others)."""
        loop = asyncio.get_running_loop()
        when = loop.time() + seconds
        if self._wake_at is not None:
            if loop.time() < self._wake_at.when() <= when:
                return
            self._wake_at.cancel()
        self._wake_at = loop.call_at(when, self.wake)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="callback-sender")

    async def stop(self) -> None:
        """Stop sending: deliveries in flight are dropped and become due again after
        their lease, on the next start."""
        tasks = [*self._inflight, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._wake_at is not None:
            self._wake_at.cancel()
        await self.lanes.close()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _POLL_SECONDS)
            if self._wake.is_set():
                await asyncio.sleep(_GATHER_SECONDS)
            self._wake.clear()
            try:
                await self._send_due()
                await self.lanes.sweep()
            except Exception:
                log.exception("callback sender failed; retrying")

    async def _send_due(self) -> None:
        while True:
            free = _HELD_MAX - len(self._inflight)
            if free <= 0:
                return
            due = await self.queue.callbacks_due(now_ms(), self.lease_ms, min(free, _BATCH))
            for callback in due:
                await self._admit(callback)
            if len(due) < _BATCH:
                return

    async def _admit(self, callback: Callback) -> None:
        """Start the delivery in its destination's lane, or put it back while that is full."""
        try:
            lane = self.lanes.admit(callback.url)
        except httpx.InvalidURL as exc:
            await self._settle(callback, CallbackState.FAILED, None, f"invalid URL: {exc}")
            return
        if lane is None:
            wait = self.lanes.put_back_ms(callback.url)
            await self.queue.put_back_callback(callback, now_ms() + wait)
            self._wake_in(wait / 1000)
            return
        task = asyncio.create_task(self._deliver(callback, lane))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _deliver(self, callback: Callback, lane: Lane) -> None:
        async with lane.turn():
            await self._attempt(callback, lane)

    async def _attempt(self, callback: Callback, lane: Lane) -> None:
        call = await self.store.get_call(callback.id)
        if call is None or not call.state.terminal:
            await self._settle(callback, CallbackState.FAILED, None, "the call is gone")
            return
        try:
            route = await self.destinations.route(callback.url)
        except Refused as exc:
            await self._settle(callback, CallbackState.FAILED, None, f"refused: {exc}")
            return
        except Undeliverable as exc:
            await self._failed(callback, None, str(exc), None)
            return
        delivery = build(call, callback, self.settings.callback_secret)
        if self.settings.write_debug:
            log.info(
                "callback of call %s to %s: %s %r",
                callback.id.uuid,
                callback.url,
                delivery.headers,
                delivery.body[:4096],
            )
        timeout = self.settings.callback_timeout_seconds
        sent = now_ms()
        try:
            async with asyncio.timeout(timeout):
                status, retry_after = await _post(lane.client, route, delivery)
        except TimeoutError:
            error = f"the receiver did not answer within {timeout:g} s"
            spans.delivered(call.trace, call.id.hex, callback.attempts, sent, now_ms(), None, error)
            await self._failed(callback, None, error, None)
            return
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}".strip()
            spans.delivered(call.trace, call.id.hex, callback.attempts, sent, now_ms(), None, error)
            await self._failed(callback, None, error, None)
            return
        failed = None if 200 <= status < 300 else f"the receiver answered {status}"
        spans.delivered(call.trace, call.id.hex, callback.attempts, sent, now_ms(), status, failed)
        if 200 <= status < 300:
            await self._settle(callback, CallbackState.DELIVERED, status, None)
            return
        error = f"the receiver answered {status}"
        if status not in RETRY_STATUSES:
            await self._settle(callback, CallbackState.FAILED, status, error)
            return
        await self._failed(callback, status, error, retry_after)

    async def _failed(
        self, callback: Callback, status: int | None, error: str, retry_after: str | None
    ) -> None:
        s = self.settings
        if callback.attempts >= s.callback_attempts:
            message = f"gave up after {callback.attempts} attempts: {error}"
            await self._settle(callback, CallbackState.FAILED, status, message)
            return
        wait = backoff_ms(
            callback.attempts, s.callback_backoff_ms, s.callback_backoff_max_ms, retry_after
        )
        log.info(
            "callback of call %s to %s failed (%s); try %d in %d ms",
            callback.id.uuid,
            callback.url,
            error,
            callback.attempts + 1,
            wait,
            extra=_about(callback),
        )
        await self.queue.retry_callback(callback, now_ms() + wait, status, error)
        metrics.callback_retried()
        asyncio.get_running_loop().call_later(wait / 1000, self.wake)

    async def _settle(
        self, callback: Callback, state: CallbackState, status: int | None, error: str | None
    ) -> None:
        if state is CallbackState.FAILED:
            log.warning(
                "callback of call %s to %s failed: %s",
                callback.id.uuid,
                callback.url,
                error,
                extra=_about(callback),
            )
        await self.queue.settle_callback(callback, state, status, error, now_ms())
        if state is CallbackState.DELIVERED:
            metrics.callback_delivered()
        elif state is CallbackState.FAILED:
            metrics.callback_failed()


async def _post(
    client: httpx.AsyncClient, route: Route, delivery: Delivery
) -> tuple[int, str | None]:
    """POST the delivery along its route: the receiver's status and Retry-After. A redirect
    is an answer like any other (not followed: its target was never checked)."""
    request = client.build_request(
        "POST",
        route.url,
        content=delivery.body,
        headers={**delivery.headers, **route.headers},
        extensions=route.extensions,
    )
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > _ANSWER_MAX:
                break
    finally:
        await response.aclose()
    return response.status_code, response.headers.get("retry-after")


def _about(callback: Callback) -> dict[str, Any]:
    """A callback's log fields: its call's id and namespace (its function and trace are the
    call's, not read again for a line)."""
    return logs.about(callback.id.hex, callback.namespace, None, None)
