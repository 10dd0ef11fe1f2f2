"""The Landlock fallback, attacked: where bubblewrap cannot make namespaces, function
processes still read nothing but their own files and the system's, reach no loopback service
over TCP, cannot signal the server or read its /proc, and run unprivileged under root.

The server is told SLUICE_SANDBOX=landlock here (bubblewrap works on this machine); the
default `auto` choosing it when bubblewrap is missing is shown once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sluice.sandbox import landlock
from tests.runtime.helpers import zip_b64
from tests.sandbox.test_hostile import NODE_PROBE, _loopback_ports, invoke, result_of
from tests.support.server import SluiceServer

pytestmark = pytest.mark.skipif(landlock.abi() < 6, reason="needs Landlock ABI 6 (Linux 6.12)")
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    instance = SluiceServer(
        tmp_path_factory.mktemp("landlock"), extra_env={"SLUICE_SANDBOX": "landlock"}
    )
    try:
        yield instance.start()
    finally:
        instance.close()


def test_the_start_up_log_names_the_fallback(server: SluiceServer) -> None:
    log = server.log_path.read_text()
    assert "function processes: Landlock ABI" in log
    assert "TCP to Sluice's API port alone" in log
    assert "UDP and pathname UNIX sockets not limited" in log


def test_a_node_function_reaches_the_api_and_no_loopback_service(server: SluiceServer) -> None:
    ports = _loopback_ports()
    params = {"ports": ports, "secret": str(server.data_dir / "secret")}
    record = invoke(server, "ll-node", NODE_PROBE, "nodejs:20", params)
    result = result_of(record)
    assert record["response"]["success"] is True, result
    # Landlock refuses the connection itself: EACCES, before any packet leaves
    assert result["services"] == {str(port): "EACCES" for port in ports}
    assert result["listed"] is True  # the openwhisk client reached the API
    assert result["caps"] == "0000000000000000"
    assert result["uid"] != "0"
    assert result["secret"] == "EACCES"


PROCESS_ATTACK = """
import errno, json, os, signal, socket, sys

def attempt(fn):
    try:
        return "ok:" + str(fn())
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

def connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return port

server, data_dir, ports = int(sys.argv[1]), sys.argv[2], [int(p) for p in sys.argv[3:]]
print(json.dumps({
    "uid": os.getuid(),
    "data_dir": attempt(lambda: os.listdir(data_dir)),
    "environ": attempt(lambda: open(f"/proc/{server}/environ").read()),
    "kill": attempt(lambda: os.kill(server, signal.SIGTERM)),
    "raw": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)),
    "host_tmp": attempt(lambda: os.listdir("/tmp")),
    "home": attempt(lambda: open("mine", "w").write("x")),
    "services": {str(p): attempt(lambda p=p: connect(p)) for p in ports},
}))
"""


def test_a_process_function_cannot_reach_the_server(server: SluiceServer) -> None:
    assert server.process is not None
    ports = " ".join(str(p) for p in _loopback_ports())
    spec = {
        "service": "ll-attack",
        "envProcess": f"python3 attack.py {server.process.pid} {server.data_dir} {ports}",
        "code": zip_b64({"attack.py": PROCESS_ATTACK}),
    }
    with server.client() as client:
        made = client.post("/system/functions", json=spec)
        assert made.status_code == 202, made.text
        answer = client.post("/function/ll-attack", content=b"")
    assert answer.status_code == 200, answer.text
    result = answer.json()
    if ROOT:
        assert result["uid"] == 1_900_000
    assert result["data_dir"] == "EACCES"
    assert result["environ"] == "EACCES"
    assert result["kill"] == "EPERM"  # Landlock's signal scope, whatever the uid
    assert result["raw"] == "EPERM"
    assert result["host_tmp"] == "EACCES"
    assert result["home"] == "ok:1"
    assert set(result["services"].values()) <= {"EACCES"}
    assert server.process.poll() is None


def test_auto_falls_back_to_landlock_without_bubblewrap(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    instance = SluiceServer(
        tmp_path_factory.mktemp("landlock-auto"), extra_env={"SLUICE_BWRAP": "/nonexistent/bwrap"}
    )
    try:
        instance.start()
        log = instance.log_path.read_text()
        assert "bubblewrap (/nonexistent/bwrap) is missing or cannot make namespaces" in log
        assert "function processes: Landlock ABI" in log
        record = invoke(instance, "ll-auto", "exports.main = () => ({ok: 1})", "nodejs:20")
        assert result_of(record) == {"ok": 1}
    finally:
        instance.close()
