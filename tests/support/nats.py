"""A NATS server with JetStream for tests: the machine's on 127.0.0.1:4222 when it runs,
else one of our own on a free port (skipped where nats-server is not installed)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import free_port, wait_for

DEFAULT_URL = "nats://127.0.0.1:4222"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _listening(4222):
        yield DEFAULT_URL
        return
    binary = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )
    if binary is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server)")
    port = free_port()
    store = tmp_path_factory.mktemp("nats")
    process = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _listening(port), 30, "nats-server")
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
