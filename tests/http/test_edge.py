"""The unauthenticated edge holds: a flood of idle sockets past the server's open-files
limit, slowloris headers and bodies, and large bodies leave the API answering; headers and
bodies past their caps are refused as they arrive, and a body stored aside is stored at
its size. All on loopback, with bounded counts; every attack stops by itself."""

from __future__ import annotations

import base64
import resource
import selectors
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from tests.dialects.fn.helpers import fn_client
from tests.dialects.openfaas.helpers import open_client, wait_status
from tests.support.server import SluiceServer, put_action, wait_for

from sluice.ids import CallId

#: the server's open-files limit in the flood test, and the sockets thrown at it
SERVER_FILES = 1024
IDLE_SOCKETS = 2000
SLOW_HEADS = 150
SLOW_BODIES = 100
#: how long one probe may take to answer (generous: the machine is shared)
PROBE_SECONDS = 10


def _own_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"this test opens {needed} sockets; the hard open-files limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _connect(port: int) -> socket.socket | None:
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:  # the kernel's queue of connections not yet taken was full
        return None


def _wait_all_closed(socks: list[socket.socket], timeout: float) -> list[bytes]:
    """Wait until the server has closed every socket; what each got before it closed."""
    selector = selectors.DefaultSelector()
    got: dict[socket.socket, bytes] = {}
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        got[sock] = b""
    deadline = time.monotonic() + timeout
    open_ = len(socks)
    while open_:
        left = deadline - time.monotonic()
        assert left > 0, f"{open_} of {len(socks)} sockets still open after {timeout} s"
        for key, _ in selector.select(min(left, 1.0)):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            got[sock] += data
            if not data:
                selector.unregister(sock)
                open_ -= 1
    selector.close()
    return list(got.values())


class Trickle:
    """Sends one more byte on each socket every half second until told to stop or the
    server has closed them all (a slowloris)."""

    def __init__(self, socks: list[socket.socket]) -> None:
        self.socks = list(socks)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while self.socks and not self.stop.wait(0.5):
            for sock in list(self.socks):
                try:
                    sock.send(b"a")
                except OSError:  # closed by the server: that one is done
                    self.socks.remove(sock)


class Probe:
    """An authenticated client that keeps asking for the action list, each time on a new
    connection, and counts what it got."""

    def __init__(self, server: SluiceServer) -> None:
        token = base64.b64encode(server.auth.encode()).decode()
        self.client = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Basic {token}"},
            timeout=PROBE_SECONDS,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.answers: list[int | str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.answers.append(self.client.get("/api/v1/namespaces/_/actions").status_code)
            except httpx.HTTPError as exc:
                self.answers.append(repr(exc))
            self.stop.wait(0.1)


@contextmanager
def probing(server: SluiceServer) -> Iterator[Probe]:
    probe = Probe(server)
    probe.thread.start()
    try:
        yield probe
    finally:
        probe.stop.set()
        probe.thread.join(PROBE_SECONDS * 2)
        probe.client.close()


def _slow_requests(server: SluiceServer) -> list[socket.socket]:
    """Slowloris sockets: a head that never ends, and a body that comes a byte at a time."""
    auth = base64.b64encode(server.auth.encode())
    heads = [s for s in (_connect(server.port) for _ in range(SLOW_HEADS)) if s]
    for sock in heads:
        sock.sendall(b"GET /api/v1 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    bodies = [s for s in (_connect(server.port) for _ in range(SLOW_BODIES)) if s]
    for sock in bodies:
        sock.sendall(
            b"POST /api/v1/namespaces/_/actions/x HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Basic " + auth + b"\r\nContent-Length: 100000\r\n\r\n"
        )
    return heads + bodies


def test_slowloris_and_an_idle_flood_leave_the_api_answering(
    new_server: Callable[..., SluiceServer],
) -> None:
    _own_files(IDLE_SOCKETS + SLOW_HEADS + SLOW_BODIES + 500)
    server = new_server(SLUICE_HEADER_TIMEOUT_SECONDS="2", SLUICE_BODY_TIMEOUT_SECONDS="2")
    server.wrapper = ["prlimit", f"--nofile={SERVER_FILES}:{SERVER_FILES}", "--"]
    server.start()
    # the cap follows the open-files limit: 1,024 less the 512 kept for the rest
    assert "at most 512 connections" in server.log_path.read_text()
    attack: list[socket.socket] = []
    try:
        with probing(server) as probe:
            wait_for(lambda: len(probe.answers) >= 3, 60, "the probe's first answers")
            slow = _slow_requests(server)
            attack += slow
            trickle = Trickle(slow)
            trickle.thread.start()
            got = _wait_all_closed(slow, 60)  # each closed by its own deadline
            trickle.stop.set()
            trickle.thread.join(10)
            after_slowloris = len(probe.answers)
            # more idle sockets than the server may open files: the longest idle are
            # closed to make room, and each closes by itself past the header timeout
            idle = [s for s in (_connect(server.port) for _ in range(IDLE_SOCKETS)) if s]
            attack += idle
            _wait_all_closed(idle, 120)
            after_flood = len(probe.answers)
            wait_for(lambda: len(probe.answers) >= after_flood + 3, 60, "probes after it all")
        answers = list(probe.answers)
    finally:
        for sock in attack:
            sock.close()
    failed = [a for a in answers if a != 200]
    print(
        f"probes: {len(answers)}, not 200: {len(failed)}; slowloris: {len(slow)} sockets, "
        f"idle flood: {len(idle)} of {IDLE_SOCKETS} connected"
    )
    assert not failed, failed
    assert after_flood > after_slowloris > 3  # answered during each attack, not only after
    assert all(g.startswith(b"HTTP/1.1 408 ") for g in got), {g[:40] for g in got}
    assert len(idle) > SERVER_FILES  # more than the server could have held open
    assert server.process is not None
    assert server.process.poll() is None


def _peak_rss_kb(server: SluiceServer) -> int:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _count_function(server: SluiceServer) -> None:
    with server.client() as client:
        spec = {"service": "edge-count", "envProcess": "wc -c"}
        client.request("DELETE", "/system/functions", json={"functionName": "edge-count"})
        assert client.post("/system/functions", json=spec).status_code == 202


def test_large_bodies_are_refused_before_they_are_read(server: SluiceServer) -> None:
    """Eight 60 MB bodies at once to an open OpenFaaS route get 413 from their
    Content-Length, before they are read: the server's peak memory hardly moves."""
    _count_function(server)
    body = b"\0" * 60_000_000
    before = _peak_rss_kb(server)

    def send(_: int) -> httpx.Response:
        with open_client(server) as client:
            return client.post("/async-function/edge-count", content=body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    grown_mb = (_peak_rss_kb(server) - before) / 1024

    def chunks() -> Iterator[bytes]:
        for _ in range(60):
            yield body[:1_000_000]

    with open_client(server) as client:  # no Content-Length: counted as it streams
        streamed = client.post("/async-function/edge-count", content=chunks())
    assert [a.status_code for a in answers] == [413] * 8, answers[0].text
    assert "too large" in answers[0].text
    assert streamed.status_code == 413, streamed.text
    # one of them read whole would have been 60 MB more at once
    assert grown_mb < 30, f"peak memory grew by {grown_mb:.0f} MB"


def test_a_body_stored_aside_is_stored_at_its_size(server: SluiceServer) -> None:
    """A 20 MB body of NULs sent as text (six bytes each as a JSON string) is stored as 20
    MB, and reaches the function whole."""
    if server.store_url:
        pytest.skip("reads the embedded SQLite store")
    _count_function(server)
    with open_client(server) as client:
        answer = client.post(
            "/async-function/edge-count",
            content=b"\0" * 20_000_000,
            headers={"content-type": "text/plain"},
        )
        assert answer.status_code == 202, answer.text
    with server.client() as owner:  # a call's status is its owner's
        status = wait_status(owner, answer.headers["x-call-id"])
    with sqlite3.connect(f"file:{server.data_dir / 'sluice.db'}?mode=ro", uri=True) as db:
        sizes = [row[0] for row in db.execute("SELECT length(data) FROM blobs")]
    assert 20_000_000 in sizes
    assert max(sizes) <= 32 * 1024 * 1024
    assert status["status"] == "success", status
    assert status["body"].strip() == "20000000"


def _raw(server: SluiceServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_headers_past_their_cap_are_431(server: SluiceServer) -> None:
    one = _raw(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    many = _raw(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: bcd\r\n" * 10_000 + b"\r\n")
    fine = _raw(
        server,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 30_000 + b"\r\nConnection: close\r\n\r\n",
    )
    assert one.startswith(b"HTTP/1.1 431 ")
    assert many.startswith(b"HTTP/1.1 431 ")
    assert fine.startswith(b"HTTP/1.1 200 ")


def test_every_route_caps_its_body(new_server: Callable[..., SluiceServer]) -> None:
    """SLUICE_BODY_MAX_BYTES holds on routes whose own limit is larger (code uploads), in
    each dialect's shape, declared or streamed."""
    server = new_server(SLUICE_BODY_MAX_BYTES="100000").start()
    code = "x" * 200_000

    def streamed() -> Iterator[bytes]:
        yield b'{"exec": {"kind": "nodejs:default", "code": "'
        yield code.encode()
        yield b'"}}'

    with server.client() as c:
        declared = put_action(c, "big", code)
        chunked = c.put(server.ns_path("actions/big"), content=streamed())
        small = put_action(c, "small", "function main() { return {} }")
        deployed = c.post("/system/functions", json={"service": "big", "envProcess": code})
    with fn_client(server) as c:
        fn = c.post("/v1/apps", json={"app": {"name": "big", "config": {"A": code}}})
    assert declared.status_code == 413, declared.text
    assert "too large" in declared.json()["error"]
    assert chunked.status_code == 413, chunked.text
    assert small.status_code == 200, small.text
    assert deployed.status_code == 413
    assert deployed.headers["content-type"].startswith("text/plain")
    assert fn.status_code == 413
    assert "too large" in fn.json()["error"]["message"]


def test_a_claim_ticket_in_parameters_reads_no_other_namespace(server: SluiceServer) -> None:
    """A caller who writes a claim-check ticket naming another namespace's call into its
    own parameters gets it back as the parameter it wrote."""
    _count_function(server)
    with open_client(server) as client:  # guest's call, its body stored aside
        answer = client.post("/async-function/edge-count", content=b"secret " * 300_000)
    assert answer.status_code == 202, answer.text
    stored = CallId.parse(answer.headers["x-call-id"])
    assert stored is not None
    key = server.admin("namespace", "create", "edge-thief")
    ticket = {"__sluice_claim_check": {"id": stored.hex, "bytes": 1, "body": "utf8"}}
    with server.client(auth=key) as thief:
        assert put_action(thief, "echo", "function main(a) { return a }").status_code == 200
        echoed = thief.post(
            "/api/v1/namespaces/_/actions/echo?blocking=true&result=true", json=ticket
        )
    assert echoed.status_code == 200, echoed.text
    assert echoed.json() == ticket
