"""The one place that builds and sends callbacks: once a call with a callback URL ends, its
answer is POSTed there, retried with exponential backoff on connection errors, 408, 429
and 5xx, and the outcome recorded on the call.

A callback is a durable job in the queue (written with its call, made due by the call's
end), so one that is owed survives a restart: a sender that dies mid-delivery leaves the
job hidden for a lease, then it is due again. Delivery is at least once; receivers tell
repeats apart by X-Call-Id.

What a callback carries:
- the body and content type of the call's answer (engine/answers.py), and its headers;
- the headers the dialect chose at accept (`meta["callback"]["headers"]`: X-Call-Id,
  X-Start-Time, X-Function-Name, the caller's correlation headers);
- X-Function-Status, X-Duration-Seconds, X-Sluice-Call-Status, X-Callback-Attempt;
- X-Sluice-Signature-256: sha256=<hex HMAC-SHA256 of the body> when a secret is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from sluice.config import Settings
from sluice.engine.answers import call_answer, duration_text
from sluice.engine.clock import now_ms
from sluice.engine.policy import backoff_ms
from sluice.queue.base import Queue
from sluice.records import Call, Callback, CallbackState
from sluice.store.base import Store

log = logging.getLogger("sluice.callbacks")

#: the key of a call's meta with what its callback sends beside the answer
META = "callback"
SIGNATURE_HEADER = "X-Sluice-Signature-256"
#: receiver statuses worth another try (besides connection errors)
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_POLL_SECONDS = 0.5
#: after a wake, the sender waits this long for more calls to end before it looks: under a
#: stream of calls one look serves many ends instead of one query per call, for a few ms
#: more on a callback's way
_GATHER_SECONDS = 0.005
_BATCH = 32
#: deliveries in flight at once
_PARALLEL = 64


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST of a call's answer."""

    url: str
    headers: dict[str, str]
    body: bytes


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=<hex>`, as GitHub and faas-cli write it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback_meta(headers: dict[str, str], content_type: str | None) -> dict[str, Any]:
    """What a dialect keeps in the call's meta for its callback, at accept."""
    return {"headers": headers, "content_type": content_type}


def build(call: Call, callback: Callback, secret: str | None) -> Delivery:
    """The request that delivers `call`'s answer to `callback.url`."""
    answer = call_answer(call)
    assert answer is not None, "a callback is only due once its call has ended"
    meta = call.meta.get(META, {})
    headers: dict[str, str] = {k: v for k, v in answer.forwardable()}
    headers.update(meta.get("headers", {}))
    headers["Content-Type"] = answer.content_type or meta.get("content_type") or "text/plain"
    headers["X-Function-Status"] = str(answer.status)
    headers["X-Duration-Seconds"] = duration_text(call)
    headers["X-Sluice-Call-Status"] = call.state.value
    headers["X-Callback-Attempt"] = str(callback.attempts)
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, answer.body)
    return Delivery(callback.url, headers, answer.body)


class CallbackSender:
    def __init__(self, store: Store, queue: Queue, settings: Settings) -> None:
        self.store = store
        self.queue = queue
        self.settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._room = asyncio.Semaphore(_PARALLEL)
        self._client: httpx.AsyncClient | None = None
        timeout = settings.callback_timeout_seconds
        #: how long a claimed delivery stays hidden: its request's time, and then some
        self.lease_ms = int(timeout * 2000) + 5000

    def wake(self, *_: object) -> None:
        """A call ended: its callback may be due."""
        self._wake.set()

    async def start(self) -> None:
        timeout = self.settings.callback_timeout_seconds
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._task = asyncio.create_task(self._loop(), name="callback-sender")

    async def stop(self) -> None:
        """Stop sending: deliveries in flight are dropped and become due again after
        their lease, on the next start."""
        tasks = [*self._inflight, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _POLL_SECONDS)
            if self._wake.is_set():
                await asyncio.sleep(_GATHER_SECONDS)
            self._wake.clear()
            try:
                await self._send_due()
            except Exception:
                log.exception("callback sender failed; retrying")

    async def _send_due(self) -> None:
        while True:
            free = _PARALLEL - len(self._inflight)
            if free <= 0:
                return
            due = await self.queue.callbacks_due(now_ms(), self.lease_ms, min(free, _BATCH))
            for callback in due:
                task = asyncio.create_task(self._deliver(callback))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            if len(due) < _BATCH:
                return

    async def _deliver(self, callback: Callback) -> None:
        call = await self.store.get_call(callback.id)
        if call is None or not call.state.terminal:
            await self._settle(callback, CallbackState.FAILED, None, "the call is gone")
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
        assert self._client is not None
        try:
            response = await self._client.post(
                delivery.url, content=delivery.body, headers=delivery.headers
            )
        except httpx.HTTPError as exc:
            await self._failed(callback, None, f"{type(exc).__name__}: {exc}".strip(), None)
            return
        if 200 <= response.status_code < 300:
            await self._settle(callback, CallbackState.DELIVERED, response.status_code, None)
            return
        error = f"the receiver answered {response.status_code}"
        if response.status_code not in RETRY_STATUSES:
            await self._settle(callback, CallbackState.FAILED, response.status_code, error)
            return
        retry_after = response.headers.get("retry-after")
        await self._failed(callback, response.status_code, error, retry_after)

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
        )
        await self.queue.retry_callback(callback, now_ms() + wait, status, error)
        loop = asyncio.get_running_loop()
        loop.call_later(wait / 1000, self.wake)

    async def _settle(
        self, callback: Callback, state: CallbackState, status: int | None, error: str | None
    ) -> None:
        if state is CallbackState.FAILED:
            log.warning(
                "callback of call %s to %s failed: %s", callback.id.uuid, callback.url, error
            )
        await self.queue.settle_callback(callback, state, status, error, now_ms())
