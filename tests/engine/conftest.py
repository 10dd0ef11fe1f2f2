"""The engine of a whole Sluice in this process (tests/support/engine.py), for the tests of
its rules without HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.engine import in_process

from sluice.wiring import Sluice


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Sluice]:
    """A Sluice that runs its calls (role all)."""
    async with in_process(tmp_path) as app:
        yield app


@pytest.fixture
async def api_only(tmp_path: Path) -> AsyncIterator[Sluice]:
    """A Sluice that runs none (role api): what it accepts stays queued, to be looked at."""
    async with in_process(tmp_path, role="api") as app:
        yield app
