"""docs/scaling-out.md's layout with its secrets: an API, a worker and a scheduler process
over a nats-server with TLS and users in a JetStream account, and a PostgreSQL with
`ssl = on` that admits Sluice's user only over TLS (`sslmode=verify-full`), certificates
from a CA made by openssl for the test. An async call is accepted and run; the logs show
neither password. A wrong password or a certificate that fails verification, on either
side, stops `sluice serve` with one line and no traceback."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.nats import NatsServer
from tests.support.nats_auth import PASSWORD, accounts_config, new_nkey
from tests.support.pg_private import PrivatePostgres, private_postgres_unavailable
from tests.support.server import SLUICE, SluiceServer, put_action, wait_for
from tests.support.tls import Authority

PG_PASSWORD = "pg-secret-of-this-test"  # ASCII: it goes into SQL as written

ECHO = "def main(args):\n    return {'echo': args.get('n')}\n"


@dataclass(frozen=True)
class Secured:
    ca: Authority
    other_ca: Authority
    pg: PrivatePostgres
    nats: NatsServer

    def store(self, password: str = PG_PASSWORD, ca: Path | None = None, mode: str = "") -> str:
        mode = mode or f"verify-full&sslrootcert={ca or self.ca.cert}"
        return f"postgresql://sluice:{password}@localhost:{self.pg.port}/sluice?sslmode={mode}"

    def queue(self, password: str = PASSWORD) -> str:
        return f"tls://sluice:{quote(password, safe='')}@127.0.0.1:{self.nats.port}"

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "SLUICE_STORE": self.store(),
            "SLUICE_MIGRATE": "true",
            "SLUICE_QUEUE": self.queue(),
            "SLUICE_NATS_TLS_CA": str(self.ca.cert),
            "SLUICE_SECRET": "a secret every host shares",
            "SLUICE_SANDBOX": "none",
            **overrides,
        }


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    why = private_postgres_unavailable()
    if why is not None:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("secured")
    ca = Authority.create(root / "ca")
    cert = ca.issue("server", ["localhost", "127.0.0.1"])
    pg = PrivatePostgres()
    try:
        pg.init_tls(cert, PG_PASSWORD)
        nats = NatsServer(root / "nats", accounts_config(cert, PASSWORD, new_nkey()[1])).start()
        try:
            yield Secured(ca, Authority.create(root / "other", "Another CA"), pg, nats)
        finally:
            nats.stop()
    finally:
        pg.remove()


def test_api_worker_and_scheduler_run_an_async_call_over_tls(
    secured: Secured, tmp_path: Path
) -> None:
    made = []
    try:
        for role in ("api", "worker", "scheduler"):
            server = SluiceServer(tmp_path / role, extra_env=secured.env(SLUICE_ROLE=role))
            if role != "api":
                server.auth = "none: only the API host has a client config"
            made.append(server.start())
        api = made[0]
        with api.client() as c:
            assert put_action(c, "echo", ECHO, kind="python:3").status_code == 200
            r = c.post(api.ns_path("actions/echo?blocking=false"), json={"n": 7})
            assert r.status_code == 202, r.text
            aid = r.json()["activationId"]

            def ended() -> dict[str, object] | None:
                got = c.get(api.ns_path(f"activations/{aid}"))
                return got.json() if got.status_code == 200 else None

            activation = wait_for(ended, 60, "the async call to end")
        response = activation["response"]
        assert isinstance(response, dict)
        assert (response["status"], response["result"]) == ("success", {"echo": 7})
        for server in reversed(made):
            assert server.stop(), f"{server.root.name} did not stop cleanly"
    finally:
        for server in made:
            server.close()
    for server in made:
        log = server.log_path.read_text()
        assert "NATS at tls://sluice:***@127.0.0.1" in log
        assert "connected (TLS, user sluice)" in log
        assert "connected over TLS" in log
        assert "Traceback" not in log
        for source in ("sluice.nats", "sluice.store", "asyncio"):  # asyncio: TLS streams' close
            assert f"WARNING {source}:" not in log, log
        for secret in (PG_PASSWORD, PASSWORD, quote(PASSWORD, safe="")):
            assert secret not in log + server.stdout_path.read_text()


def _refused(secured: Secured, tmp_path: Path, **env: str) -> str:
    """`sluice serve` with these settings: it must exit by itself, saying why in one line."""
    server = SluiceServer(tmp_path / "refused", extra_env=secured.env(**env))
    server.home.mkdir(parents=True)
    done = subprocess.run(
        [str(SLUICE), "serve"], env=server.server_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "cannot start" in line]
    assert len(lines) == 1, done.stderr
    for secret in ("not-the-password", PG_PASSWORD, quote(PASSWORD, safe="")):
        assert secret not in done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("setting", "told"),
    [
        ("wrong NATS password", "the server refused the credentials (Authorization Violation)"),
        ("NATS certificate of another CA", "TLS verification of the server failed"),
        ("no NATS CA file", "TLS verification of the server failed"),
        ("wrong PostgreSQL password", 'password authentication failed for user "sluice"'),
        ("PostgreSQL certificate of another CA", "certificate verify failed"),
        ("PostgreSQL without TLS", "no encryption"),
    ],
)
def test_wrong_credentials_or_certificates_stop_the_start_in_one_line(
    secured: Secured, tmp_path: Path, setting: str, told: str
) -> None:
    env = {
        "wrong NATS password": {"SLUICE_QUEUE": secured.queue("not-the-password")},
        "NATS certificate of another CA": {"SLUICE_NATS_TLS_CA": str(secured.other_ca.cert)},
        "no NATS CA file": {"SLUICE_NATS_TLS_CA": ""},
        "wrong PostgreSQL password": {"SLUICE_STORE": secured.store("not-the-password")},
        "PostgreSQL certificate of another CA": {
            "SLUICE_STORE": secured.store(ca=secured.other_ca.cert)
        },
        "PostgreSQL without TLS": {"SLUICE_STORE": secured.store(mode="disable")},
    }[setting]
    line = _refused(secured, tmp_path, **env)
    assert told in line
    side = "NATS at tls://sluice:***@" if "NATS" in setting else "PostgreSQL at postgresql://"
    assert side in line


def test_an_account_without_jetstream_stops_the_start_in_one_line(
    secured: Secured, tmp_path: Path
) -> None:
    cert = secured.ca.issue("nojs", ["127.0.0.1"])
    config = accounts_config(cert, PASSWORD, new_nkey()[1], jetstream=False)
    nats = NatsServer(tmp_path / "nats", config).start()
    try:
        queue = f"tls://sluice:{quote(PASSWORD, safe='')}@127.0.0.1:{nats.port}"
        line = _refused(secured, tmp_path, SLUICE_QUEUE=queue)
    finally:
        nats.stop()
    assert "JetStream does not answer this user" in line
    assert "(jetstream: enabled)" in line
