"""Which queued calls one take of a SQL queue (SQLite, PostgreSQL) leases.

A take looks at the `SCAN` oldest visible queued calls and the `SCAN_NAMED` oldest of each
named queue, so that a namespace, function or queue at its cap, however long its backlog,
does not hide the calls behind it. Most takes need far fewer: the `limit` oldest are read
first and the take stops there when they fill it or are all there is. Otherwise the rest is
read without the calls whose admission key admission refused already (the same function,
namespace, queue and sizes is refused again: admitting only adds to what runs), so a backlog
of one namespace at its cap costs one short read, not `SCAN` rows turned into candidates (and,
on PostgreSQL, row-locked). The SQLite queue also remembers a read that found only refused
keys, so the takes after it, one per call that ends, need not make it again (`LookAhead`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

from sluice.ids import CallId
from sluice.records import CallState, NewCall
from sluice.store.base import Candidate
from sluice.store.rows import CANDIDATE_COLUMNS

#: how many queued calls one take looks at, so that a namespace at its cap does not block others
SCAN = 256
#: how many queued calls of each named queue one take looks at
SCAN_NAMED = 64

#: how long a look past the first page that found only refused keys is trusted (see LookAhead)
LOOK_AHEAD_SECONDS = 0.1

#: what admission decides from: a refused call's key refuses every call with the same one
Key = tuple[str, str, int, str, int, int]
#: where a queued call stands in the queue: (visible_at, id)
Position = tuple[int, bytes]
#: the key's columns, in its order
KEY_COLUMNS = "namespace, path, memory_mb, queue_name, fn_limit, concurrency"
#: rows of CANDIDATE_COLUMNS and visible_at, oldest first
Rows = Sequence[Sequence[Any]]


class Window(Protocol):
    """A take's reads of the calls table (each row: CANDIDATE_COLUMNS, visible_at)."""

    async def oldest(self, count: int) -> Rows:
        """The `count` oldest visible queued calls."""

    async def rest(self, after: Sequence[Any], count: int, refused: list[Key]) -> Rows:
        """Of the `count` visible queued calls next after the row `after`, those of no
        refused key."""

    async def named(self) -> Rows:
        """The `SCAN_NAMED` oldest visible queued calls of each named queue, in any order."""


def candidates_sql(mark: str, lock: str, where: str = "") -> str:
    """The oldest visible queued calls (`where` more), `lock` being the driver's row lock."""
    return (
        f"SELECT {CANDIDATE_COLUMNS}, visible_at FROM calls WHERE state = 'queued'"
        f"{where} AND visible_at <= {mark} ORDER BY visible_at, id LIMIT {mark}{lock}"
    )


def after_sql(mark: str) -> str:
    """The oldest visible queued calls after the call (visible_at, id): args are those two,
    then the visibility time and the count."""
    return candidates_sql(mark, "", f" AND (visible_at, id) > ({mark}, {mark})")


#: the named queues that have queued calls (after SELECT)
NAMED_QUEUES = "DISTINCT queue_name FROM calls WHERE state = 'queued' AND queue_name <> ''"


def position_of(row: Sequence[Any]) -> Position:
    """The queue position of a row of CANDIDATE_COLUMNS and visible_at."""
    return row[7], bytes(row[0])


class _Seen(NamedTuple):
    start: Position
    end: Position
    keys: frozenset[Key]
    until: float


class LookAhead:
    """What the last look past a take's first page found when it found only calls of refused
    keys: from `start` to `end` the queue held nothing else. While a namespace sits at its cap
    with a long backlog, each take (one per call that ends) would read that window again to
    find the same nothing. A later take skips the read while its own refused keys include
    those and its first page ends inside the window. Calls leaving the queue change nothing;
    calls this process queues make it forget the look unless they are of those keys (refused
    again wherever they land), calls it hands back make it forget at once, and calls another
    process queues are seen at the next look, at most LOOK_AHEAD_SECONDS later."""

    def __init__(self) -> None:
        self._seen: _Seen | None = None

    def known_refused(self, after: Sequence[Any], refused: Sequence[Key]) -> bool:
        """Whether the window past the row `after` is known to hold only `refused` keys."""
        seen = self._seen
        if seen is None:
            return False
        if time.monotonic() > seen.until:
            self._seen = None
            return False
        return seen.start <= position_of(after) < seen.end and seen.keys.issubset(refused)

    def remember(self, after: Sequence[Any], end: Position, refused: Sequence[Key]) -> None:
        until = time.monotonic() + LOOK_AHEAD_SECONDS
        self._seen = _Seen(position_of(after), end, frozenset(refused), until)

    def queued(self, calls: Sequence[NewCall]) -> None:
        """Calls were queued: the look is forgotten unless each is of a key it found."""
        seen = self._seen
        if seen is not None and any(
            call.state is CallState.QUEUED and call_key(call) not in seen.keys for call in calls
        ):
            self._seen = None

    def forget(self) -> None:
        self._seen = None


def key_of(row: Sequence[Any]) -> Key:
    """The admission key of a row of CANDIDATE_COLUMNS."""
    return row[1], row[3], row[2], row[4], row[5], row[6]


def call_key(call: NewCall) -> Key:
    """The admission key of a call being queued."""
    return (
        call.namespace,
        call.path,
        call.memory_mb,
        call.queue_name,
        call.fn_limit,
        call.concurrency,
    )


def skip_refused(mark: str, refused: Sequence[Key]) -> tuple[str, list[Any]]:
    """The condition (with its leading AND) that leaves out the calls of the refused keys,
    and its arguments; nothing when none were refused."""
    if not refused:
        return "", []
    row = f"({', '.join([mark] * 6)})"
    values = ", ".join([row] * len(refused))
    return f" AND ({KEY_COLUMNS}) NOT IN (VALUES {values})", [v for key in refused for v in key]


class _Choice:
    """The calls one take admits, in the order offered, and the keys admission refused."""

    def __init__(self, limit: int, admit: Callable[[Candidate], bool]) -> None:
        self.limit = limit
        self.admit = admit
        self.chosen: list[bytes] = []
        self.refused: set[Key] = set()
        self.seen: set[bytes] = set()

    def offer(self, rows: Rows) -> bool:
        """Admit what it can of `rows`: True once full."""
        for row in rows:
            raw, key = bytes(row[0]), key_of(row)
            if raw in self.seen or key in self.refused:
                continue
            self.seen.add(raw)
            if not self.admit(Candidate(CallId(raw), *row[1:7])):
                self.refused.add(key)
                continue
            self.chosen.append(raw)
            if len(self.chosen) >= self.limit:
                return True
        return False


async def choose(window: Window, limit: int, admit: Callable[[Candidate], bool]) -> list[bytes]:
    """Up to `limit` calls `admit` lets through, oldest first (see the module's doc)."""
    choice = _Choice(limit, admit)
    first = min(limit, SCAN)
    page = await window.oldest(first)
    if choice.offer(page) or len(page) < first:
        return choice.chosen
    rest = await window.rest(page[-1], SCAN - first, sorted(choice.refused)) if first < SCAN else []
    if choice.offer(rest):
        return choice.chosen
    # those not in the window are newer than all of it: they come after it
    extra = sorted(await window.named(), key=position_of)
    choice.offer(extra)
    return choice.chosen


async def listing(window: Window, limit: int) -> list[Candidate]:
    """The `limit` oldest visible queued calls and the oldest of each named queue, oldest
    first, each once: every call a take could look at, none skipped for its key."""
    rows = sorted([*await window.oldest(limit), *await window.named()], key=position_of)
    unique = {bytes(row[0]): row for row in rows}
    return [Candidate(CallId(raw), *row[1:7]) for raw, row in unique.items()]
