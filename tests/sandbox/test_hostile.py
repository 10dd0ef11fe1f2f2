"""Hostile functions, each run through a real server in its default sandbox: what they try is
contained, the call ends with a clear status, and the API keeps answering meanwhile.

Skipped where bubblewrap cannot run (the server would refuse to start without
SLUICE_SANDBOX=none); the parts that need root (an unprivileged uid of its own, control
groups) are checked only when the tests run as root, as CI does.
"""

from __future__ import annotations

import ast
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from sluice.sandbox.bwrap import DEFAULT_UID, bwrap_works
from sluice.sandbox.cgroups import Cgroups
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer, put_action, wait_for

BWRAP = shutil.which("bwrap")
pytestmark = pytest.mark.skipif(
    BWRAP is None or not bwrap_works(BWRAP), reason="bubblewrap is missing or cannot run here"
)
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="an unprivileged uid of its own needs root")
needs_cgroups = pytest.mark.skipif(
    not ROOT or Cgroups.detect() is None, reason="control groups need root and their controllers"
)
TMP_MB = 64
PIDS = 96


def hostile_server(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[SluiceServer]:
    """A server of its own with tight function limits, for one module of attacks."""
    instance = SluiceServer(
        tmp_path_factory.mktemp(name),
        extra_env={
            "SLUICE_FUNCTION_TMP_MB": str(TMP_MB),
            "SLUICE_FUNCTION_PIDS": str(PIDS),
            "SLUICE_FUNCTION_OPEN_FILES": "512",
        },
    )
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    yield from hostile_server(tmp_path_factory, "hostile")


class Probe:
    """Asks the API for something every 50 ms while an attack runs; each answer must come."""

    def __init__(self, server: SluiceServer) -> None:
        self.server = server
        self.answers: list[int] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.server.client() as client:
            while not self._stop.is_set():
                try:
                    reply = client.get(self.server.ns_path("actions"), timeout=5)
                    self.answers.append(reply.status_code)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self._stop.wait(0.05)

    def __enter__(self) -> Probe:
        self._thread.start()
        wait_for(lambda: self.answers or self.failures, 10, "the probe's first answer")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self.failures, self.failures
        assert self.answers, "the probe got no answer at all"
        assert set(self.answers) == {200}, self.answers


def invoke(
    server: SluiceServer,
    name: str,
    code: str,
    kind: str,
    params: dict[str, Any] | None = None,
    **limits: int,
) -> dict[str, Any]:
    """Deploy `code` and run it once, blocking; the whole activation record."""
    with server.client() as client:
        created = put_action(client, name, code, kind, limits=limits or None)
        if created.status_code != 200:
            created = put_action(client, name, code, kind)
        assert created.status_code == 200, created.text
        with Probe(server):
            reply = client.post(
                server.ns_path(f"actions/{name}"),
                params={"blocking": "true"},
                json=params or {},
            )
    assert reply.status_code in (200, 502), reply.text
    record: dict[str, Any] = reply.json()
    return record


def result_of(record: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = record["response"]["result"]
    return result


PY_PROBE = """
import os, socket, errno

def attempt(fn):
    try:
        return "ok:" + str(fn())
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

def status():
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("Uid", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp"):
            fields[key] = value.split()[0]
    return fields

def connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return port

def main(args):
    import urllib.request
    api = os.environ["__OW_API_HOST"] + "/api/v1"
    return {
        "status": status(),
        "raw": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)),
        "packet": attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0x0300)),
        "services": {str(p): attempt(lambda p=p: connect(p)) for p in args["ports"]},
        "pg_socket": attempt(lambda: os.stat("/run/postgresql")),
        "api": urllib.request.urlopen(api, timeout=5).status,
        "secret": attempt(lambda: open(args["secret"]).read()),
        "client_config": attempt(lambda: open(args["client_config"]).read()),
        "data_dir": attempt(lambda: os.listdir(args["data_dir"])),
        "root_home": attempt(lambda: os.listdir("/root")),
        "mount": attempt(lambda: os.system("mount -t tmpfs none /tmp 2>/dev/null") or "none"),
        "unshare": attempt(lambda: os.system("unshare -U true 2>/dev/null") or "none"),
        "tmp": attempt(lambda: open("/tmp/x", "w").write("x")),
    }
"""


def _loopback_ports() -> list[int]:
    """Ports of services listening on the machine's loopback (Redis, PostgreSQL, NATS...)."""
    wanted = {6379, 5432, 4222, 3306, 5672, 1883}
    found = []
    for port in sorted(wanted):
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                found.append(port)
    return found


def test_python_function_is_unprivileged_and_sees_only_its_own(server: SluiceServer) -> None:
    ports = _loopback_ports()
    params = {
        "ports": ports,
        "secret": str(server.data_dir / "secret"),
        "data_dir": str(server.data_dir),
        "client_config": str(server.client_config),
    }
    record = invoke(server, "probe-py", PY_PROBE, "python:3.11", params)
    result = result_of(record)
    assert record["response"]["success"] is True, result
    status = result["status"]
    assert status["CapEff"] == "0000000000000000"
    assert status["CapBnd"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "2"  # a filter is in force
    if ROOT:
        assert status["Uid"] == str(DEFAULT_UID)
    assert status["Uid"] != "0"
    # no sniffing: raw and packet sockets are refused
    assert result["raw"] == "EPERM"
    assert result["packet"] == "EPERM"
    # no loopback service of the host; Sluice's API (its port is bridged in) alone
    assert result["services"] == {str(port): "ECONNREFUSED" for port in ports}
    assert result["api"] == 200
    assert result["pg_socket"] == "ENOENT"
    assert result["secret"] == "ENOENT"
    assert result["client_config"] == "ENOENT"
    # only the mount point of the build environments, no store file
    assert result["data_dir"] in ("ENOENT", "ok:['builds']")
    # root's home shows at most the path to an interpreter, none of its files
    root_home = result["root_home"]
    if root_home.startswith("ok:"):
        assert set(ast.literal_eval(root_home[3:])) <= {".pyenv", ".local"}, root_home
    assert result["mount"] != "ok:none"
    assert result["unshare"] != "ok:none"
    assert result["tmp"] == "ok:1"


NODE_PROBE = """
const net = require('net');
const fs = require('fs');
const ow = require('openwhisk');

function connect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({host: '127.0.0.1', port, timeout: 2000});
    socket.on('connect', () => { socket.destroy(); resolve('ok'); });
    socket.on('error', (err) => resolve(err.code));
    socket.on('timeout', () => { socket.destroy(); resolve('timeout'); });
  });
}

exports.main = async (args) => {
  const services = {};
  for (const port of args.ports) services[port] = await connect(port);
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const uid = /Uid:\\s+(\\d+)/.exec(status)[1];
  const caps = /CapEff:\\s+(\\w+)/.exec(status)[1];
  const actions = await ow().actions.list();
  let secret;
  try { fs.readFileSync(args.secret); secret = 'read'; } catch (err) { secret = err.code; }
  return {uid, caps, services, listed: Array.isArray(actions), secret};
};
"""


def test_node_function_reaches_the_api_and_nothing_else(server: SluiceServer) -> None:
    ports = _loopback_ports()
    params = {"ports": ports, "secret": str(server.data_dir / "secret")}
    record = invoke(server, "probe-node", NODE_PROBE, "nodejs:20", params)
    result = result_of(record)
    assert record["response"]["success"] is True, result
    assert result["services"] == {str(port): "ECONNREFUSED" for port in ports}
    assert result["listed"] is True  # the openwhisk client reached the API through the bridge
    assert result["caps"] == "0000000000000000"
    assert result["uid"] != "0"
    assert result["secret"] == "ENOENT"


OUTLIVE = """
import subprocess, os
def main(args):
    child = subprocess.Popen(["sleep", args["marker"]], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"child": child.pid}
"""


def _sleepers(marker: str) -> list[int]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if process.info["cmdline"] == ["sleep", marker]:
            found.append(process.pid)
    return found


@needs_cgroups
def test_a_child_does_not_outlive_its_call(server: SluiceServer) -> None:
    marker = "4242.5"
    record = invoke(server, "outlive", OUTLIVE, "python:3.11", {"marker": marker})
    assert record["response"]["success"] is True, record
    # the warm runner stays; what the call started is gone
    wait_for(lambda: not _sleepers(marker), 10, "the call's child to be killed")
    again = invoke(server, "outlive", OUTLIVE, "python:3.11", {"marker": marker})
    assert again["response"]["success"] is True, again
    wait_for(lambda: not _sleepers(marker), 10, "the second call's child to be killed")


CHILD_MEMORY = """
import subprocess, sys
def main(args):
    grow = "b = []\\nwhile True: b.append(bytearray(16 << 20))"
    done = subprocess.run([sys.executable, "-c", grow], capture_output=True)
    return {"child_exit": done.returncode}
"""


@needs_cgroups
def test_memory_limit_holds_for_children(server: SluiceServer) -> None:
    record = invoke(server, "child-mem", CHILD_MEMORY, "python:3.11", memory=128)
    result = result_of(record)
    # the child is killed by the kernel at the group's limit, or the whole call is
    if record["response"]["success"]:
        assert result["child_exit"] == -9, result
    else:
        assert result == {"error": "The action exceeded its memory limit of 128 MB."}


SHM_FILL = """
import errno
def main(args):
    written = 0
    try:
        with open(args["path"], "wb") as f:
            for _ in range(1024):
                f.write(b"x" * (1 << 20))
                f.flush()
                written += 1
    except OSError as exc:
        return {"written_mb": written, "error": errno.errorcode[exc.errno]}
    return {"written_mb": written}
"""


@pytest.mark.parametrize("path", ["/dev/shm/fill", "/tmp/fill"])
def test_tmp_and_shm_are_private_and_capped(server: SluiceServer, path: str) -> None:
    name = "fill-" + path.strip("/").replace("/", "-")
    record = invoke(server, name, SHM_FILL, "python:3.11", {"path": path}, memory=512)
    result = result_of(record)
    assert result.get("error") == "ENOSPC", result
    assert result["written_mb"] <= TMP_MB
    # not the host's: nothing was written to the host's /dev/shm or /tmp
    assert not Path(path).exists()


FORK_BOMB = """
import os, time
def main(args):
    made = 0
    try:
        for _ in range(2000):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            made += 1
    except OSError as exc:
        return {"made": made, "error": exc.errno}
    return {"made": made}
"""

THREADS = """
import threading, time
def main(args):
    made = 0
    stop = threading.Event()
    try:
        for _ in range(2000):
            threading.Thread(target=stop.wait, daemon=True).start()
            made += 1
    except RuntimeError as exc:
        stop.set()
        return {"made": made, "error": str(exc)}
    stop.set()
    return {"made": made}
"""


@needs_cgroups
@pytest.mark.parametrize(("name", "code"), [("forkbomb", FORK_BOMB), ("threads", THREADS)])
def test_processes_and_threads_are_capped(server: SluiceServer, name: str, code: str) -> None:
    record = invoke(server, name, code, "python:3.11")
    result = result_of(record)
    assert "error" in result, result
    assert result.get("made", 0) < PIDS, result


FDS = """
import errno
def main(args):
    kept = []
    try:
        for _ in range(20000):
            kept.append(open("/dev/null"))
    except OSError as exc:
        return {"opened": len(kept), "error": errno.errorcode[exc.errno]}
    return {"opened": len(kept)}
"""


def test_open_files_are_capped(server: SluiceServer) -> None:
    result = result_of(invoke(server, "fds", FDS, "python:3.11"))
    assert result.get("error") == "EMFILE", result
    assert result["opened"] < 512


SLEEPER = """
import subprocess, time
def main(args):
    subprocess.Popen(["sleep", args["marker"]], start_new_session=True)
    time.sleep(30)
"""


def test_sleeping_past_the_timeout_ends_the_call_and_its_tree(server: SluiceServer) -> None:
    marker = "4343.5"
    record = invoke(server, "sleeper", SLEEPER, "python:3.11", {"marker": marker}, timeout=1000)
    assert result_of(record) == {
        "error": "The action exceeded its time limits of 1000 milliseconds."
    }
    wait_for(lambda: not _sleepers(marker), 10, "the timed-out call's tree to be killed")


def test_hostile_calls_leave_nothing_running(server: SluiceServer) -> None:
    """Once the attacks above are over, no process runs as the functions' uid but warm
    runners (each one sandbox: bwrap's init and the runner in it)."""
    if not ROOT:
        pytest.skip("the functions' uid is the server's own without root")
    deadline = time.monotonic() + 10
    while True:
        strays = [
            p.info["cmdline"]
            for p in psutil.process_iter(["uids", "cmdline"])
            if p.info["uids"] is not None
            and p.info["uids"].real == DEFAULT_UID
            and "sleep" in " ".join(p.info["cmdline"] or [])
        ]
        if not strays or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert strays == []


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_filling_its_own_directory_cannot_fill_the_data_disk(server: SluiceServer) -> None:
    """The process's directory is not on the data dir's disk: what a function writes there
    counts toward its own memory limit, and the store keeps taking calls."""
    before = _size(server.data_dir)
    record = invoke(server, "fill-home", SHM_FILL, "python:3.11", {"path": "./fill"}, memory=128)
    result = result_of(record)
    if record["response"]["success"]:
        assert result.get("error") == "ENOSPC", result
    else:
        assert result == {"error": "The action exceeded its memory limit of 128 MB."}
    # the data dir grew by the records, not by the function's writes
    assert _size(server.data_dir) - before < 16 << 20
    again = invoke(
        server, "probe-after-fill", "def main(a):\n    return {'ok': 1}\n", "python:3.11"
    )
    assert result_of(again) == {"ok": 1}


API_REACH = """
import os, urllib.request
def main(args):
    try:
        url = os.environ["__OW_API_HOST"] + "/api/v1"
        return {"api": urllib.request.urlopen(url, timeout=5).status}
    except OSError as exc:
        return {"api": type(getattr(exc, "reason", exc)).__name__}
"""


def test_a_function_may_ask_for_less_network(server: SluiceServer) -> None:
    with server.client() as client:
        annotations = [{"key": "network", "value": "none"}]
        made = put_action(client, "no-net", API_REACH, "python:3.11", annotations=annotations)
        assert made.status_code == 200, made.text
        reply = client.post(server.ns_path("actions/no-net"), params={"blocking": "true"})
    assert result_of(reply.json()) == {"api": "ConnectionRefusedError"}
    # the same code on the server's own network reaches the API
    assert result_of(invoke(server, "with-net", API_REACH, "python:3.11")) == {"api": 200}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("host", "The annotation 'network' may be 'host' only where the operator allows it"),
        ("lan", "The annotation 'network' must be one of none, api-only, egress, host."),
    ],
)
def test_a_function_may_not_ask_for_more_network(
    server: SluiceServer, value: str, message: str
) -> None:
    with server.client() as client:
        annotations = [{"key": "network", "value": value}]
        made = put_action(client, "more-net", API_REACH, "python:3.11", annotations=annotations)
    assert made.status_code == 400, made.text
    assert made.json()["error"].startswith(message)


PROCESS_PROBE = """
import os, urllib.request
try:
    urllib.request.urlopen(os.environ["__OW_API_HOST"] + "/api/v1", timeout=5)
    print("reached")
except OSError as exc:
    print(type(getattr(exc, "reason", exc)).__name__)
"""


@pytest.mark.parametrize("field", ["annotations", "labels"])
def test_an_openfaas_function_asks_through_its_annotations(
    server: SluiceServer, field: str
) -> None:
    name = f"faas-no-net-{field}"
    spec = {
        "service": name,
        "envProcess": "python3 probe.py",
        "code": zip_b64({"probe.py": PROCESS_PROBE}),
        field: {"network": "none"},
    }
    with server.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": name})
        made = client.post("/system/functions", json=spec)
        assert made.status_code == 202, made.text
        answer = client.post(f"/function/{name}", content=b"")
        assert answer.status_code == 200, answer.text
        assert answer.text.strip() == "ConnectionRefusedError"
        refused = client.put("/system/functions", json={**spec, field: {"network": "host"}})
        assert refused.status_code == 400, refused.text


CANCELLED = """
import subprocess, time
def main(args):
    subprocess.Popen(["sleep", args["marker"]], start_new_session=True)
    time.sleep(60)
"""


@needs_cgroups
def test_a_cancelled_call_ends_with_its_tree(server: SluiceServer) -> None:
    marker = "4444.5"
    with server.client() as client:
        made = put_action(client, "cancelled", CANCELLED, "python:3.11")
        assert made.status_code == 200, made.text
        accepted = client.post(
            "/async-function/cancelled",
            json={"marker": marker},
            headers={"Content-Type": "application/json"},
        )
        assert accepted.status_code == 202, accepted.text
        call_id = accepted.headers["x-call-id"]
        wait_for(lambda: _sleepers(marker), 30, "the call's child to start")
        assert client.delete(f"/async-function/{call_id}").status_code == 202
        wait_for(
            lambda: client.get(f"/async-function/{call_id}").json()["status"] == "cancelled",
            30,
            "the call cancelled",
        )
    wait_for(lambda: not _sleepers(marker), 10, "the cancelled call's tree to be killed")
