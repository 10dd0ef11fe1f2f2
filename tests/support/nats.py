"""A NATS server with JetStream for tests: the machine's on 127.0.0.1:4222 when it runs,
else one of our own on a free port (skipped where nats-server is not installed); and
private ones for tests that stop and restart theirs."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import nats
import pytest
from nats.js.errors import NotFoundError

from tests.support.server import free_port, wait_for
from tests.support.services import service_missing

DEFAULT_URL = "nats://127.0.0.1:4222"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _binary() -> str:
    binary = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )
    if binary is None:
        service_missing("nats-server is not installed (apt-get install nats-server)")
    return binary


class NatsServer:
    """Our own nats-server: its port and its JetStream store stay the same across restarts.
    With `config` (the text of a config file for a port and a JetStream store), it runs
    from that file, as a deployment's does."""

    def __init__(self, store: Path, config: Callable[[int, Path], str] | None = None) -> None:
        self.binary = _binary()
        self.store = store
        self.port = free_port()
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.config is None:
            return [
                self.binary,
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.store),
            ]
        self.store.mkdir(parents=True, exist_ok=True)
        path = self.store.parent / f"{self.store.name}.conf"
        path.write_text(self.config(self.port, self.store))
        path.chmod(0o600)  # it holds passwords
        return [self.binary, "-c", str(path)]

    @property
    def log(self) -> Path:
        return self.store.parent / f"{self.store.name}.log"

    def start(self) -> NatsServer:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=log)
        wait_for(self._up, 30, "nats-server")
        return self

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"nats-server exited: {self.log.read_text()}")
        return _listening(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _listening(4222):
        yield DEFAULT_URL
        return
    server = NatsServer(tmp_path_factory.mktemp("nats")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of this test alone, to stop and start again."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


async def remove_stream(url: str, stream: str) -> None:
    """Remove a test's stream (and its consumer) from a NATS server that outlives the test."""
    with suppress(OSError, nats.errors.Error):
        nc = await nats.connect(url, max_reconnect_attempts=0, connect_timeout=5)
        try:
            with suppress(NotFoundError):
                await nc.jetstream().delete_stream(stream)
        finally:
            await nc.close()


def delete_stream(url: str, stream: str) -> None:
    """remove_stream, from outside an event loop."""
    asyncio.run(remove_stream(url, stream))


def machine_nats() -> str | None:
    """The URL of the machine's nats-server on 127.0.0.1:4222, started (with JetStream, its
    store under /var/lib/nats-server or a temporary directory) when installed but down."""
    if _listening(4222):
        return DEFAULT_URL
    binary = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )
    if binary is None:
        return None
    store = Path("/var/lib/nats-server")
    if not os.access(store, os.W_OK):
        store = Path(tempfile.mkdtemp(prefix="sluice-nats-"))
    subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", "4222", "-js", "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # it outlives this script, as a service would
    )
    with suppress(AssertionError):
        wait_for(lambda: _listening(4222), 30, "nats-server")
        return DEFAULT_URL
    return None


if __name__ == "__main__":  # scripts/test: the NATS to run the second pass on, if any
    import sys

    url = machine_nats()
    if url is None:
        print("note: no nats-server: the second pass runs without JetStream", file=sys.stderr)
    print(url or "")
