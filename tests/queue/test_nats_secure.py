"""Sluice's NATS connection against real nats-servers with TLS and authentication (config
files as docs/scaling-out.md's, a CA and certificates made by openssl for the test): each kind of
credentials reaches JetStream in its account; wrong credentials, a certificate of another
CA, a server without TLS and a missing client certificate are refused with one line."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from tests.support.nats import NatsServer
from tests.support.nats_auth import (
    PASSWORD,
    TOKEN,
    Config,
    Operator,
    accounts_config,
    new_nkey,
    token_config,
)
from tests.support.server import SLUICE
from tests.support.tls import Authority, Issued

from sluice.errors import CannotStart
from sluice.ids import CallId
from sluice.queue.jetstream import JetStream, Names
from sluice.queue.nats_connect import NatsTarget, connect, redacted
from sluice.store.base import Candidate

Start = Callable[[Config], NatsServer]


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority.create(tmp_path / "ca")


@pytest.fixture
def server_cert(ca: Authority) -> Issued:
    return ca.issue("nats", ["localhost", "127.0.0.1"])


@pytest.fixture
def nkey() -> tuple[str, str]:
    return new_nkey()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Start a nats-server of this test from a config; the fixture stops them all."""
    started: list[NatsServer] = []

    def run(config: Config) -> NatsServer:
        server = NatsServer(tmp_path / f"nats{len(started)}", config).start()
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()


def _url(server: NatsServer, userinfo: str = "", scheme: str = "tls") -> str:
    return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{server.port}"


async def _round_trip(target: NatsTarget) -> int:
    """One call's message through a stream of the account: published, fetched, acked."""
    nc = await connect(target, "test")
    try:
        stream = JetStream(nc, Names(f"T{CallId.new().hex}", "t"), 30, 10)
        await stream.ensure_stream()
        candidate = Candidate(CallId.new(), "ns", 256, "ns/act", "", 0)
        await stream.publish(candidate, candidate.id.hex)
        [msg] = await stream.fetch(1, 5)
        await msg.ack()
        return msg.metadata.num_delivered
    finally:
        await nc.close()


def test_user_and_password_in_the_url_reach_jetstream_over_verified_tls(
    start: Start, server_cert: Issued, ca: Authority, nkey: tuple[str, str]
) -> None:
    server = start(accounts_config(server_cert, PASSWORD, nkey[1]))
    url = _url(server, f"sluice:{quote(PASSWORD, safe='')}")
    assert asyncio.run(_round_trip(NatsTarget.parse(url, tls_ca=ca.cert))) == 1


def test_an_nkey_made_by_sluice_nats_nkey_reaches_jetstream(
    start: Start, server_cert: Issued, ca: Authority, tmp_path: Path
) -> None:
    seed = tmp_path / "sluice.nk"
    made = subprocess.run(
        [str(SLUICE), "nats-nkey", str(seed)], capture_output=True, text=True, check=True
    )
    public = made.stdout.strip()
    assert public.startswith("U")
    assert seed.stat().st_mode & 0o777 == 0o600
    assert public not in seed.read_text()  # the file holds the seed, the server the key
    server = start(accounts_config(server_cert, PASSWORD, public))
    target = NatsTarget.parse(_url(server), nkey_seed=seed, tls_ca=ca.cert)
    assert asyncio.run(_round_trip(target)) == 1
    again = subprocess.run([str(SLUICE), "nats-nkey", str(seed)], capture_output=True, text=True)
    assert again.returncode == 1
    assert "File exists" in again.stderr


def test_a_token_reaches_jetstream(start: Start, server_cert: Issued, ca: Authority) -> None:
    server = start(token_config(server_cert, TOKEN))
    target = NatsTarget.parse(_url(server, TOKEN), tls_ca=ca.cert)
    assert asyncio.run(_round_trip(target)) == 1


def test_a_creds_file_reaches_jetstream_under_jwt_auth(
    start: Start, server_cert: Issued, ca: Authority, tmp_path: Path
) -> None:
    operator = Operator.create(tmp_path)
    server = start(operator.config(server_cert))
    target = NatsTarget.parse(_url(server), creds=operator.creds, tls_ca=ca.cert)
    assert asyncio.run(_round_trip(target)) == 1


def _refused(target: NatsTarget) -> str:
    with pytest.raises(CannotStart) as caught:
        asyncio.run(asyncio.wait_for(connect(target, "test"), 20))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_wrong_password_is_refused_in_one_line_without_it(
    start: Start, server_cert: Issued, ca: Authority, nkey: tuple[str, str]
) -> None:
    server = start(accounts_config(server_cert, PASSWORD, nkey[1]))
    message = _refused(NatsTarget.parse(_url(server, "sluice:not-the-password"), tls_ca=ca.cert))
    assert "the server refused the credentials (Authorization Violation)" in message
    assert f"tls://sluice:***@127.0.0.1:{server.port}" in message
    assert "not-the-password" not in message
    # no credentials at all: the same
    assert "refused the credentials" in _refused(NatsTarget.parse(_url(server), tls_ca=ca.cert))


def test_a_certificate_of_another_ca_fails_verification(
    start: Start, server_cert: Issued, tmp_path: Path, nkey: tuple[str, str]
) -> None:
    server = start(accounts_config(server_cert, PASSWORD, nkey[1]))
    other = Authority.create(tmp_path / "other", "Another CA")
    target = NatsTarget.parse(_url(server, f"sluice:{quote(PASSWORD, safe='')}"), tls_ca=other.cert)
    message = _refused(target)
    assert "TLS verification of the server failed" in message
    assert "certificate verify failed" in message or "unable to get local issuer" in message
    # without a CA file the system's CAs are used, which do not know this one either
    plain = _url(server, f"sluice:{quote(PASSWORD, safe='')}", scheme="nats")
    assert "TLS verification of the server failed" in _refused(NatsTarget.parse(plain))


def test_a_certificate_for_another_name_fails_verification(
    start: Start, ca: Authority, nkey: tuple[str, str]
) -> None:
    elsewhere = ca.issue("elsewhere", ["nats.elsewhere.example"])
    server = start(accounts_config(elsewhere, PASSWORD, nkey[1]))
    message = _refused(NatsTarget.parse(_url(server, "sluice:x"), tls_ca=ca.cert))
    assert "TLS verification of the server failed" in message
    assert "127.0.0.1" in message


def test_a_client_certificate_is_shown_when_the_server_asks(
    start: Start, server_cert: Issued, ca: Authority, nkey: tuple[str, str]
) -> None:
    server = start(accounts_config(server_cert, PASSWORD, nkey[1], client_ca=ca.cert))
    url = _url(server, f"sluice:{quote(PASSWORD, safe='')}")
    client = ca.issue("client", [], usage="clientAuth")
    with_cert = NatsTarget.parse(url, tls_ca=ca.cert, tls_cert=client.cert, tls_key=client.key)
    assert asyncio.run(_round_trip(with_cert)) == 1
    assert "TLS" in _refused(NatsTarget.parse(url, tls_ca=ca.cert))


class _PlainInfo:
    """A NATS look-alike that offers no TLS (as a man in the middle stripping it would),
    and records what the client sends."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(20)
        with self.sock, self.sock.accept()[0] as conn:
            conn.sendall(b'INFO {"server_id":"x","version":"2.9.10","auth_required":true}\r\n')
            conn.settimeout(3)
            try:
                while chunk := conn.recv(4096):
                    self.received += chunk
            except OSError:
                pass


def test_tls_asked_for_is_never_downgraded_and_the_password_stays_home() -> None:
    plain = _PlainInfo()
    message = _refused(NatsTarget.parse(f"tls://sluice:s3cret@127.0.0.1:{plain.port}"))
    plain.thread.join(10)
    assert "the server offers none" in message
    assert b"s3cret" not in plain.received
    assert b"CONNECT" not in plain.received


def test_unreadable_or_malformed_key_files_are_refused_before_connecting(tmp_path: Path) -> None:
    missing = NatsTarget.parse("nats://127.0.0.1:1", nkey_seed=tmp_path / "none.nk")
    assert "cannot read the NATS NKey seed file" in _refused(missing)
    bad = tmp_path / "bad.nk"
    bad.write_text("SUNOTASEED\n")
    assert "holds no valid NKey seed" in _refused(NatsTarget.parse("nats://h:1", nkey_seed=bad))
    creds = tmp_path / "bad.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\nabc\n")
    assert "has no user JWT and NKey seed" in _refused(NatsTarget.parse("nats://h", creds=creds))
    with pytest.raises(CannotStart, match="go together"):
        NatsTarget.parse("tls://h:1", tls_cert=bad)


def test_urls_are_shown_without_password_or_token() -> None:
    assert redacted("tls://sluice:s3cret@nats-host:4222") == "tls://sluice:***@nats-host:4222"
    assert redacted("nats://t0ken@nats-host:4222") == "nats://***@nats-host:4222"
    assert redacted("nats://nats-host:4222") == "nats://nats-host:4222"
    target = NatsTarget.parse("nats://sluice:p%40ss%3Aword@nats-host:4222")
    assert (target.user, target.password, target.url) == (
        "sluice",
        "p@ss:word",
        "nats://nats-host:4222",
    )
    assert target.tls is None
    assert NatsTarget.parse("nats://t0ken@h:4222").token == "t0ken"
