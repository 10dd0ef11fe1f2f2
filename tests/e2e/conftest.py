"""The real aio CLI and openwhisk npm client, installed by the test setup (scripts/test)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.aio import AioCli, node_tools_dir
from tests.support.server import SluiceServer


@pytest.fixture(scope="session")
def tools_dir() -> Path:
    return node_tools_dir()


@pytest.fixture
def aio_for(tools_dir: Path, tmp_path: Path) -> Callable[..., AioCli]:
    """An aio CLI with a HOME of its own, pointed at a given server."""

    def make(server: SluiceServer, **options: str) -> AioCli:
        return AioCli(
            tools_dir, server.url, server.namespace, server.auth, tmp_path / "aio-home", **options
        )

    return make
