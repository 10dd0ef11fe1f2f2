"""Malformed HTTP on a raw socket: request lines, header bytes and body framing no client
library would send. Each request gets an answer below 500 (most often uvicorn's own 400),
never a connection closed without one."""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seeded
from hypothesis import strategies as st
from tests.http.fuzz_tally import TALLY
from tests.support.server import SluiceServer

EXAMPLES = 300
METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"PATCH", b"get", b"FOO", b"", b"G T"]
TARGETS = [
    *[b"/", b"*", b"http://127.0.0.1/api/v1", b"/api/v1/namespaces/_/actions", b"/\xff\xfe"],
    *[b"/api/v1/namespaces/%ff/actions?%ff=%fe", b"/function/fz-raw", b"/async-function/x"],
    *[b"/v1/apps", b"/r/a/b", b"/system/functions", b"/api/v1/web/guest/default/x.http"],
    *[b"/sluice/v1/namespaces/_/calls/%00", b"//..//", b"/" + b"a" * 5000],
]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/x", b""]
NAMES = [
    *[b"Authorization", b"Host", b"Content-Type", b"X-Call-Id", b"X-Callback-Url", b"Expect"],
    *[b"Accept", b"X-Run-At", b"Fn-Invoke-Type", b"Upgrade", b"Connection", b"X \xe9", b""],
]


@pytest.fixture(scope="module")
def raw_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    server = SluiceServer(tmp_path_factory.mktemp("raw"))
    try:
        yield server.start()
    finally:
        server.close()


def _basic(key: str) -> bytes:
    return b"Basic " + base64.b64encode(key.encode())


def _values(key: str) -> st.SearchStrategy[bytes]:
    basic = _basic(key)
    return st.one_of(
        st.sampled_from([b"Basic \xff\xfe", basic, b"Bearer \xe9:\xe9", b"100-continue"]),
        st.sampled_from([b"websocket", b"h2c", b"close", b"application/json", b"\xe9\xff"]),
        st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
        st.just(b"a\x00b"),
    )


@st.composite
def raw_requests(draw: st.DrawFn, key: str) -> bytes:
    """A request whose line, headers or framing (one of them, or all) is malformed, the
    rest well formed, so that each broken part reaches as far as it can."""
    focus = draw(st.sampled_from(["line", "headers", "framing", "all"]))
    wild = focus == "all"
    method = draw(st.sampled_from(METHODS if focus == "line" or wild else METHODS[:6]))
    target = draw(
        st.one_of(st.sampled_from(TARGETS), st.binary(min_size=1, max_size=30))
        if focus == "line" or wild
        else st.sampled_from(TARGETS[:12])
    )
    version = draw(st.sampled_from(VERSIONS if focus == "line" or wild else VERSIONS[:2]))
    headers: list[tuple[bytes, bytes]] = []
    if focus == "headers" or wild:  # first: a server reads the first of a repeated header
        headers += draw(
            st.lists(st.tuples(st.sampled_from(NAMES), _values(key)), min_size=1, max_size=4)
        )
    headers += [(b"Host", b"127.0.0.1"), (b"Authorization", _basic(key))]
    body = draw(st.binary(max_size=64))
    framings = ["length", "chunked", "bad chunk", "both", "twice", "none"]
    framing = draw(st.sampled_from(framings if focus == "framing" or wild else framings[:2]))
    if framing in ("length", "both", "twice"):
        headers.append((b"Content-Length", str(len(body)).encode()))
    if framing == "twice":
        headers.append((b"Content-Length", str(len(body) + 1).encode()))
    if framing in ("chunked", "bad chunk", "both"):
        headers.append((b"Transfer-Encoding", b"chunked"))
        size = b"zz" if framing == "bad chunk" else b"%x" % len(body)
        body = size + b"\r\n" + body + b"\r\n0\r\n\r\n"
    elif framing == "none":
        body = b""
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return method + b" " + target + b" " + version + b"\r\n" + head + b"\r\n" + body


def _first_status(port: int, request: bytes) -> int:
    """The status of the first final answer (0: the connection closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return 0
            if not chunk:
                return 0
            data += chunk
            # 100 Continue is interim: the final answer follows it
            while data.startswith(b"HTTP/1.1 100") and b"\r\n\r\n" in data:
                data = data.split(b"\r\n\r\n", 1)[1]
            if b"\r\n" in data:
                parts = data.split(b" ", 2)
                return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def test_malformed_http_gets_an_answer_below_500(raw_server: SluiceServer) -> None:
    port = raw_server.port
    failures: list[str] = []

    @seeded(int.from_bytes(hashlib.sha256(b"raw").digest()[:8]))
    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(request=raw_requests(raw_server.auth))
    def fuzz(request: bytes) -> None:
        TALLY["requests"] += 1
        TALLY["raw requests"] += 1
        status = _first_status(port, request)
        TALLY[f"status {status // 100}xx"] += 1
        if status == 0:
            TALLY["resets"] += 1
        elif status >= 500:
            TALLY["server 5xx"] += 1
        if status == 0 or status >= 500:
            failures.append(f"{status or 'no answer'} to {request[:400]!r}")

    fuzz()
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
