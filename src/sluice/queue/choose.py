"""Which queued calls one take of a SQL queue (SQLite, PostgreSQL) leases.

A take looks at the `SCAN` oldest visible queued calls and the `SCAN_NAMED` oldest of each
named queue, so that a namespace, function or queue at its cap, however long its backlog,
does not hide the calls behind it. Most takes need far fewer: the `limit` oldest are read
first and the take stops there when they fill it or are all there is. Otherwise the rest is
read without the calls whose admission key admission refused already (the same function,
namespace, queue and sizes is refused again: admitting only adds to what runs), so a backlog
of one namespace at its cap costs one short read, not `SCAN` rows turned into candidates (and,
on PostgreSQL, row-locked)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sluice.ids import CallId
from sluice.queue.base import Candidate
from sluice.store.rows import CANDIDATE_COLUMNS

#: how many queued calls one take looks at, so that a namespace at its cap does not block others
SCAN = 256
#: how many queued calls of each named queue one take looks at
SCAN_NAMED = 64

#: what admission decides from: a refused call's key refuses every call with the same one
Key = tuple[str, str, int, str, int, int]
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


def key_of(row: Sequence[Any]) -> Key:
    """The admission key of a row of CANDIDATE_COLUMNS."""
    return row[1], row[3], row[2], row[4], row[5], row[6]


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
    extra = sorted(await window.named(), key=_order)
    choice.offer(extra)
    return choice.chosen


async def listing(window: Window, limit: int) -> list[Candidate]:
    """The `limit` oldest visible queued calls and the oldest of each named queue, oldest
    first, each once: every call a take could look at, none skipped for its key."""
    rows = sorted([*await window.oldest(limit), *await window.named()], key=_order)
    unique = {bytes(row[0]): row for row in rows}
    return [Candidate(CallId(raw), *row[1:7]) for raw, row in unique.items()]


def _order(row: Sequence[Any]) -> tuple[int, bytes]:
    return row[7], bytes(row[0])  # visible_at, id
