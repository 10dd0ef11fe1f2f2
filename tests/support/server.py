"""A real `sluice serve` process on a free port with its own data dir and HOME."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.postgres import (
    create_database,
    database_bytes,
    drop_database,
    postgres_unavailable,
)

REPO = Path(__file__).resolve().parents[2]
#: a postgresql:// URL of an existing database: every server then keeps its store and queue
#: in a fresh PostgreSQL database on that server (made at start, dropped at close)
TEST_STORE = os.environ.get("SLUICE_TEST_STORE", "")
#: a NATS URL: every test server delivers its calls through JetStream (a stream of its own)
TEST_QUEUE = os.environ.get("SLUICE_TEST_QUEUE", "")
SLUICE = Path(sys.executable).parent / "sluice"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def shared_node_modules() -> Path:
    return Path(
        os.environ.get(
            "SLUICE_TEST_NODE_MODULES", REPO / ".cache" / "node-runtime" / "node_modules"
        )
    )


@dataclass
class SluiceServer:
    root: Path
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    auth: str = ""
    namespace: str = "guest"
    #: the server's PostgreSQL database, when it has one (see TEST_STORE)
    store_url: str = ""
    #: where it listens (SLUICE_HOST), and what runs `sluice serve` (e.g. `ip netns exec NS`)
    address: str = "127.0.0.1"
    wrapper: list[str] = field(default_factory=list)
    #: flags given to `sluice serve` (beside the SLUICE_* variables of server_env)
    serve_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def client_config(self) -> Path:
        return self.home / ".config" / "sluice" / "wskprops"

    @property
    def log_path(self) -> Path:
        """The server's log (its stderr)."""
        return self.root / "server.log"

    @property
    def stdout_path(self) -> Path:
        """What `sluice serve` prints for its user (the first start's key, readiness)."""
        return self.root / "stdout.txt"

    @property
    def cli_env(self) -> dict[str, str]:
        """An environment under which `sluice` client commands reach this server."""
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "SLUICE_CLIENT_CONFIG": str(self.client_config),
            "SLUICE_DATA_DIR": str(self.data_dir),
            **({"SLUICE_STORE": self.store_url} if self.store_url else {}),
        }

    def server_env(self) -> dict[str, str]:
        # the machine's environment (proxies, CA bundles for npm) but none of our own settings
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        return {
            **inherited,
            **self.cli_env,
            "SLUICE_PORT": str(self.port),
            "SLUICE_HOST": self.address,
            "SLUICE_NODE_MODULES": str(shared_node_modules()),
            "SLUICE_LEASE_SECONDS": "3",
            **self._store_env(),
            **self._queue_env(),
            **self.extra_env,
        }

    def _store_env(self) -> dict[str, str]:
        if not TEST_STORE:
            return {}
        if not self.store_url:
            why = postgres_unavailable()
            if why is not None:
                raise AssertionError(f"SLUICE_TEST_STORE is set but {why}")
            self.store_url = create_database("sluice_server", admin=TEST_STORE)
        return {"SLUICE_STORE": self.store_url, "SLUICE_MIGRATE": "true"}

    @property
    def test_stream(self) -> str:
        """The JetStream stream of this server when TEST_QUEUE is set."""
        return f"T{self.port}x{os.getpid()}"

    def _queue_env(self) -> dict[str, str]:
        if not TEST_QUEUE:
            return {}
        return {
            "SLUICE_QUEUE": TEST_QUEUE,
            "SLUICE_NATS_STREAM": self.test_stream,
            "SLUICE_NATS_PREFIX": self.test_stream.lower(),
        }

    def stored_bytes(self) -> bytes:
        """Everything the server's store holds, as bytes (to look for what must not be there)."""
        if self.store_url:
            return database_bytes(self.store_url)
        raw = (self.data_dir / "sluice.db").read_bytes()
        for wal in self.data_dir.glob("sluice.db-wal"):
            raw += wal.read_bytes()
        return raw

    def start(self, timeout: float = 120) -> SluiceServer:
        self.home.mkdir(parents=True, exist_ok=True)
        # the child keeps its own copies of the fds
        with self.stdout_path.open("a") as out, self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [*self.wrapper, str(SLUICE), "serve", *self.serve_args],
                env=self.server_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=log,
                text=True,
            )
        wait_for(self._ready, timeout, f"sluice serve on port {self.port}")
        if not self.auth:
            self.auth = self._read_auth()
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            output = self.stdout_path.read_text() + self.log_path.read_text()
            raise AssertionError(f"sluice serve exited early:\n{output}")
        try:
            return httpx.get(self.url + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def _read_auth(self) -> str:
        for line in self.client_config.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "AUTH":
                return value.strip()
        raise AssertionError("no AUTH in the client config")

    def stop(self, timeout: float = 60) -> bool:
        """SIGTERM; True when the server shut down cleanly (uvicorn re-raises the signal
        once it has shut down, so the exit status is -SIGTERM either way)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)
        return self.stdout_path.read_text().rstrip().endswith("Sluice stopped.")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(10)
        if self.store_url:
            drop_database(self.store_url, admin=TEST_STORE)
        if TEST_QUEUE:
            from tests.support.nats import delete_stream  # it imports this module

            delete_stream(TEST_QUEUE, self.test_stream)
            self.store_url = ""

    def admin(self, *args: str) -> str:
        """Run `sluice ARGS` (an admin command on this server's data dir); its stdout."""
        done = subprocess.run(
            [str(SLUICE), *args], env=self.cli_env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    # HTTP helpers -------------------------------------------------------------------------
    def client(self, auth: str | None = None) -> httpx.Client:
        token = base64.b64encode((auth or self.auth).encode()).decode()
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Basic {token}"}, timeout=90
        )

    def ns_path(self, rest: str) -> str:
        return f"/api/v1/namespaces/{self.namespace}/{rest}"


def put_action(
    client: httpx.Client, name: str, code: str, kind: str = "nodejs:default", **fields: Any
) -> httpx.Response:
    body = {"exec": {"kind": kind, "code": code}, **fields}
    return client.put(f"/api/v1/namespaces/_/actions/{name}?overwrite=true", json=body)
