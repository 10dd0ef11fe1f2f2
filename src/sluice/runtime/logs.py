"""Log capture: split a process's output into lines, keep one call's lines up to its limit and
format them the way OpenWhisk stores them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

#: written by a runner to stdout and to stderr after each call and after a failed init
SENTINEL = b"XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
STDOUT = "stdout"
STDERR = "stderr"
#: a line longer than this is cut in pieces (the rest of the line follows as further lines)
MAX_LINE_BYTES = 1 << 20

_second_cache: tuple[int, str] = (-1, "")


def timestamp(ns: int) -> str:
    """`2026-11-23T07:30:29.345825000Z` for epoch nanoseconds `ns`."""
    global _second_cache
    seconds, fraction = divmod(ns, 1_000_000_000)
    if _second_cache[0] != seconds:
        text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second_cache = (seconds, text)
    return f"{_second_cache[1]}.{fraction:09d}Z"


def format_line(ns: int, stream: str, text: str) -> str:
    return f"{timestamp(ns)} {stream}: {text}"


def truncation_message(limit_bytes: int) -> str:
    return (
        "Logs were truncated because the total bytes size exceeds the limit of "
        f"{limit_bytes} bytes."
    )


class LineSplitter:
    """Turns the chunks of one output stream into lines (without their line ends)."""

    def __init__(self, emit: Callable[[bytes], None], max_line: int = MAX_LINE_BYTES) -> None:
        self._emit = emit
        self._max_line = max_line
        self._pending = b""

    def feed(self, data: bytes) -> None:
        if self._pending:
            data = self._pending + data
        lines = data.split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            self._emit(line.removesuffix(b"\r"))
        # a runaway line goes on in pieces; the tail may be the start of a sentinel, kept whole
        while len(self._pending) > self._max_line + len(SENTINEL):
            self._emit(self._pending[: self._max_line])
            self._pending = self._pending[self._max_line :]

    def flush(self) -> None:
        """The stream ended: a last line without a line end still counts."""
        if self._pending:
            line, self._pending = self._pending, b""
            self._emit(line)


class CallLogs:
    """The lines one call produced, up to its limit, and whether each stream has ended."""

    def __init__(self, limit_bytes: int, streams: tuple[str, ...] = (STDOUT, STDERR)) -> None:
        self.limit_bytes = limit_bytes
        self.used_bytes = 0
        self.truncated_ns: int | None = None
        self._entries: list[tuple[int, str, bytes]] = []
        self._open = set(streams)
        self._ended: asyncio.Event | None = None
        self._in_order = True

    def add(self, stream: str, line: bytes, ns: int | None = None) -> None:
        if stream not in self._open or self.truncated_ns is not None:
            return
        if ns is None:
            ns = time.time_ns()
        size = len(line)
        if self.used_bytes + size > self.limit_bytes:
            self.truncated_ns = ns
            return
        self.used_bytes += size
        if self._entries and ns < self._entries[-1][0]:
            self._in_order = False
        self._entries.append((ns, stream, line))

    def end(self, stream: str) -> None:
        """No more lines of `stream` belong to this call."""
        self._open.discard(stream)
        if not self._open and self._ended is not None:
            self._ended.set()

    @property
    def complete(self) -> bool:
        return not self._open

    async def wait_complete(self, within: float) -> bool:
        """Wait until every stream has ended; False when `within` seconds passed first."""
        if not self._open:
            return True
        if self._ended is None:
            self._ended = asyncio.Event()
        try:
            async with asyncio.timeout(within):
                await self._ended.wait()
        except TimeoutError:
            return False
        return True

    def contains(self, fragment: bytes) -> bool:
        """Whether a kept line holds `fragment`."""
        return any(fragment in text for _, _, text in self._entries)

    def last_text(self, stream: str, count: int, max_bytes: int) -> str:
        """The last `count` lines of `stream` (at most `max_bytes` of them, the end kept)."""
        found = [text for _, where, text in self._entries if where == stream][-count:]
        joined = b"\n".join(found)[-max_bytes:]
        return joined.decode("utf-8", "replace")

    def lines(self) -> list[str]:
        entries = self._entries if self._in_order else sorted(self._entries, key=_time_of)
        out = [
            format_line(ns, stream, text.decode("utf-8", "replace")) for ns, stream, text in entries
        ]
        if self.truncated_ns is not None:
            out.append(format_line(self.truncated_ns, STDERR, truncation_message(self.limit_bytes)))
        return out


def _time_of(entry: tuple[int, str, bytes]) -> int:
    return entry[0]
