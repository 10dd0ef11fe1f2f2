"""The fixture that runs one scenario on each SQL call ledger (a SQLite file, a PostgreSQL
database): the queues that poll (tests/queue/test_contract.py runs delivery on JetStream too)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from tests.support.backends import deployment

from sluice.queue.base import Queue

Run = Callable[[Callable[[Queue], Awaitable[None]]], None]


@pytest.fixture(params=["sqlite", "postgres"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """Runs a scenario on an empty queue of the kind named by the parameter."""
    made = deployment(request, tmp_path)

    def on(scenario: Callable[[Queue], Awaitable[None]]) -> None:
        async def main() -> None:
            async with made.open() as opened:
                await scenario(opened.queue)

        asyncio.run(main())

    return on
