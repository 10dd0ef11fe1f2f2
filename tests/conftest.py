"""Shared fixtures: real Sluice servers on free ports, each with its own data dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.server import SluiceServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    """One server for the whole session: tests that must not share one use `new_server`."""
    instance = SluiceServer(tmp_path_factory.mktemp("sluice"))
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture
def new_server(tmp_path: Path) -> Iterator[Callable[..., SluiceServer]]:
    """A factory for servers of this test alone (crash and restart tests)."""
    made: list[SluiceServer] = []

    def make(**env: str) -> SluiceServer:
        instance = SluiceServer(tmp_path / f"server{len(made)}", extra_env=env)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()
