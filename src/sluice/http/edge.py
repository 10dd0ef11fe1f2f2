"""The HTTP edge's limits, held on each connection as its bytes arrive, before Sluice's own
code (or a key check) sees a request: uvicorn's protocol closes no connection that sends
nothing, or a header a byte at a time, or a body a byte a second (slowloris), and takes
connections until the process runs out of file descriptors.

- a request's line and headers must be complete within `header_timeout` of the
  connection's start (or of the first byte of a later request on it; uvicorn's keep-alive
  timeout closes a connection idle between requests); else 408 and the connection closes;
- they may be `header_max_bytes` long in all (431 past it, counted as they arrive, before
  the parser has kept them whole);
- a body must arrive at `body_min_rate` bytes a second on average after a grace of
  `body_timeout` (408 then), counted only while Sluice reads it: a body the app has not
  asked for yet is the server's wait, not the client's;
- at most `max_connections` connections are open (below the open-files limit): one more
  closes the connection that has been idle longest (no request in progress: between
  requests, or still sending its headers), so an idle flood cannot keep others out; when
  every connection has a request in progress the new one gets a 503.

This builds on uvicorn's httptools protocol (its parser callbacks and per-request cycle).
"""

from __future__ import annotations

import contextlib
import resource
import time
from asyncio import TimerHandle
from collections import OrderedDict
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sluice.config import Settings

#: how often a body's reading is checked while Sluice itself has paused it
_PAUSED_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    header_timeout: float
    header_max_bytes: int
    body_timeout: float
    body_min_rate: int
    max_connections: int


class _HeadTooLarge(Exception):
    """Raised in the parser's callbacks: the parser stops, the connection gets a 431."""


def _refusal(status: int) -> bytes:
    phrase = HTTPStatus(status).phrase
    return (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(phrase) + 1}\r\nconnection: close\r\n\r\n{phrase}\n"
    ).encode()


class _OneWritePerResponse:
    """The connection's transport, holding a response's head until its body is written:
    uvicorn writes them apart, two system calls and two wake-ups of the client per
    response, a measurable part of a small call's CPU. What is held goes out with the next
    write, before a close, or at the end of the loop turn (a streamed body that is slow to
    come), so the bytes and their order are uvicorn's own."""

    def __init__(self, transport: Any, loop: Any) -> None:
        self._transport = transport
        self._loop = loop
        self._held = b""

    def write(self, data: bytes) -> None:
        if self._held:
            data, self._held = self._held + data, b""
        elif data.startswith(b"HTTP/1.1 ") and data.endswith(b"\r\n\r\n"):
            self._held = data
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._held:
            data, self._held = self._held, b""
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = b""
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return int(self._transport.get_write_buffer_size()) + len(self._held)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above (see `protocol`)."""

    limits: ClassVar[EdgeLimits]
    #: connections with no request in progress, the longest idle first
    idle: ClassVar[OrderedDict[GuardedHttpTools, None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: TimerHandle | None = None
        #: between requests or in a request's head (not in its body)
        self._in_head = True
        self._head_bytes = 0
        self._head_size = 0
        self._body_bytes = 0
        self._body_started = 0.0
        self._body_checked = 0.0
        self._paused_for = 0.0

    # connections ---------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        if len(self.connections) >= self.limits.max_connections and not self._evict():
            self.transport = transport
            transport.write(_refusal(503))
            transport.close()
            return
        super().connection_made(transport)
        self.transport = _OneWritePerResponse(transport, self.loop)  # type: ignore[assignment]
        self._idle()
        self._arm(self.limits.header_timeout, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self.idle.pop(self, None)
        self._disarm()
        super().connection_lost(exc)

    def _evict(self) -> bool:
        """Close the connection idle longest to make room; False when none is idle."""
        while self.idle:
            oldest, _ = self.idle.popitem(last=False)
            if not oldest.transport.is_closing():
                oldest._disarm()
                oldest.transport.close()
                return True
        return False

    def _idle(self) -> None:
        self.idle[self] = None
        self.idle.move_to_end(self)

    # bytes as they arrive ------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._in_head:
            if self._timer is None:  # the first byte of a later request on the connection
                self._arm(self.limits.header_timeout, self._head_late)
            self._head_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _HeadTooLarge):
                self._refuse(431)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head and self._head_bytes > self.limits.header_max_bytes:
            # a header still arriving, which the parser keeps until it is whole
            self._refuse(431)

    def on_message_begin(self) -> None:
        self._head_size = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self.limits.header_max_bytes:
            raise _HeadTooLarge()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self.idle.pop(self, None)
        now = time.monotonic()
        self._body_bytes, self._body_started, self._body_checked = 0, now, now
        self._paused_for = 0.0
        self._arm(self.limits.body_timeout, self._body_late)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_head, self._head_bytes = True, 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if not self.pipeline:  # a request already read would start now
            self._idle()
        super().on_response_complete()

    # deadlines -----------------------------------------------------------------------------
    def _arm(self, delay: float, then: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(delay, then)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_late(self) -> None:
        self._timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(408)
        else:
            self.transport.close()

    def _body_late(self) -> None:
        self._timer = None
        if self._in_head or self.transport.is_closing():
            return
        now = time.monotonic()
        if self.flow.read_paused:  # Sluice is not reading it: not the client's delay
            self._paused_for += now - self._body_checked
        self._body_checked = now
        allowed = (
            self.limits.body_timeout
            + self._body_bytes / self.limits.body_min_rate
            + self._paused_for
        )
        left = self._body_started + allowed - now
        if self.flow.read_paused or left > 0:
            self._arm(_PAUSED_CHECK_SECONDS if self.flow.read_paused else left, self._body_late)
        elif self.cycle is not None and not self.cycle.response_started:
            self._refuse(408)
        else:
            self.transport.close()

    def _refuse(self, status: int) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_refusal(status))
            self.transport.close()


def protocol(limits: EdgeLimits) -> type[GuardedHttpTools]:
    """The protocol class uvicorn makes each connection's protocol of (`http=`)."""
    return type(
        "SluiceHttp",
        (GuardedHttpTools,),
        {"limits": limits, "idle": OrderedDict()},
    )


#: the open files a start keeps beside its connections (the store, the log, function
#: processes' pipes, builds): a quarter of the limit, at least this many
_RESERVED_FILES = 512
#: the soft limit asked for when the hard one is unlimited
_UNLIMITED_AS = 1 << 20


def raise_open_files_limit() -> int:
    """Raise this process's soft open-files limit to its hard one (connections are file
    descriptors); the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _UNLIMITED_AS if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):  # a hard limit above the kernel's
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_cap(open_files: int) -> int:
    """The connections to allow under an open-files limit: what a quarter of it (at least
    _RESERVED_FILES) leaves, and never under 64."""
    return max(64, open_files - max(_RESERVED_FILES, open_files // 4))


def edge_limits(settings: Settings, open_files: int) -> EdgeLimits:
    return EdgeLimits(
        header_timeout=settings.header_timeout_seconds,
        header_max_bytes=settings.header_max_bytes,
        body_timeout=settings.body_timeout_seconds,
        body_min_rate=settings.body_min_rate_bytes,
        max_connections=settings.max_connections or connection_cap(open_files),
    )
