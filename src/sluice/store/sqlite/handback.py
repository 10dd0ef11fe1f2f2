"""Handing results from a thread back to the event loops that wait for them, and settling
them there."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

#: the loop a future belongs to, the future, whether it succeeded, its value or exception
Outcome = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", bool, Any]


def hand_back(outcomes: Iterable[Outcome]) -> None:
    """Settle each future on its own loop: one wake-up of each loop, not one per future."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for loop, done, ok, value in outcomes:
        by_loop.setdefault(loop, []).append((done, ok, value))
    for loop, results in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits
            loop.call_soon_threadsafe(settle, results)


def settle(results: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    """On the futures' own loop: each gets its value or exception (a cancelled one is left)."""
    for done, ok, value in results:
        if done.cancelled():
            continue
        if ok:
            done.set_result(value)
        else:
            done.set_exception(value)
