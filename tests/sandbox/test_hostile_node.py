"""The attacks of test_hostile.py written as Node.js functions, through a real server in its
default sandbox: each is contained with a clear call status while the API keeps answering
(`invoke` runs a probe of the API through every attack). And the callback attack, which
needs no function: a call whose callback points at the cloud metadata address is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox.test_hostile import (
    PIDS,
    TMP_MB,
    _sleepers,
    hostile_server,
    invoke,
    needs_cgroups,
    pytestmark,  # noqa: F401  (skipped where bubblewrap cannot run)
    result_of,
)
from tests.support.server import SluiceServer, wait_for

NODE = "nodejs:20"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    yield from hostile_server(tmp_path_factory, "hostile-node")


RAW = """
const {spawnSync} = require('child_process');
exports.main = () => {
  // Node.js has no raw sockets of its own: a child asks the kernel for one
  const py = "import socket\\ntry:\\n socket.socket(socket.AF_INET, socket.SOCK_RAW, 6)\\n" +
             " print('opened')\\nexcept OSError as e:\\n print(e.errno)";
  const done = spawnSync('python3', ['-c', py], {encoding: 'utf8'});
  return {raw: done.stdout.trim()};
};
"""


def test_a_node_function_cannot_open_a_raw_socket(server: SluiceServer) -> None:
    record = invoke(server, "node-raw", RAW, NODE)
    assert record["response"]["success"] is True, record
    assert result_of(record) == {"raw": "1"}  # EPERM from the seccomp filter


OUTLIVE = """
const {spawn} = require('child_process');
exports.main = (args) => {
  const child = spawn('sleep', [args.marker], {detached: true, stdio: 'ignore'});
  child.unref();
  return {child: child.pid};
};
"""


@needs_cgroups
def test_a_node_child_does_not_outlive_its_call(server: SluiceServer) -> None:
    marker = "5252.5"
    record = invoke(server, "node-outlive", OUTLIVE, NODE, {"marker": marker})
    assert record["response"]["success"] is True, record
    wait_for(lambda: not _sleepers(marker), 10, "the call's child to be killed")


CHILD_MEMORY = """
const {spawnSync} = require('child_process');
exports.main = () => {
  const grow = 'const b = []; for (;;) b.push(Buffer.alloc(16 << 20, 1));';
  const done = spawnSync(process.execPath, ['-e', grow]);
  return {signal: done.signal, status: done.status};
};
"""


@needs_cgroups
def test_node_memory_limit_holds_for_children(server: SluiceServer) -> None:
    record = invoke(server, "node-child-mem", CHILD_MEMORY, NODE, memory=128)
    result = result_of(record)
    if record["response"]["success"]:
        assert result["signal"] == "SIGKILL", result
    else:
        assert result == {"error": "The action exceeded its memory limit of 128 MB."}


FILL = """
const fs = require('fs');
exports.main = (args) => {
  let written = 0;
  const block = Buffer.alloc(1 << 20, 120);
  try {
    const fd = fs.openSync(args.path, 'w');
    for (let i = 0; i < 1024; i++) { fs.writeSync(fd, block); written++; }
  } catch (err) {
    return {written_mb: written, error: err.code};
  }
  return {written_mb: written};
};
"""


@pytest.mark.parametrize("path", ["/dev/shm/node-fill", "/tmp/node-fill"])
def test_node_tmp_and_shm_are_private_and_capped(server: SluiceServer, path: str) -> None:
    name = "node-fill-" + path.strip("/").replace("/", "-")
    record = invoke(server, name, FILL, NODE, {"path": path}, memory=512)
    result = result_of(record)
    assert result.get("error") == "ENOSPC", result
    assert result["written_mb"] <= TMP_MB
    assert not Path(path).exists()


SPAWN_BOMB = """
const {spawn} = require('child_process');
exports.main = () => new Promise((resolve) => {
  let made = 0;
  const next = () => {
    if (made >= 2000) return resolve({made});
    const child = spawn('sleep', ['60'], {stdio: 'ignore'});
    child.on('error', (err) => resolve({made, error: err.code}));
    child.on('spawn', () => { made++; next(); });
  };
  next();
});
"""

WORKERS = """
const {Worker} = require('worker_threads');
exports.main = () => {
  let made = 0;
  try {
    for (let i = 0; i < 2000; i++) {
      new Worker('setInterval(() => {}, 1000)', {eval: true}).unref();
      made++;
    }
  } catch (err) {
    return {made, error: String(err.code || err)};
  }
  return {made};
};
"""


@needs_cgroups
def test_node_spawn_bomb_is_capped(server: SluiceServer) -> None:
    result = result_of(invoke(server, "node-spawn-bomb", SPAWN_BOMB, NODE))
    assert result.get("error") == "EAGAIN", result
    assert result["made"] < PIDS


@needs_cgroups
def test_node_worker_threads_are_capped(server: SluiceServer) -> None:
    record = invoke(server, "node-workers", WORKERS, NODE, memory=512)
    result = result_of(record)
    # a thread the kernel refuses ends the process (V8 cannot go on without it) or the call
    # gets the error: either way far fewer than asked for ran
    if record["response"]["success"]:
        assert "error" in result, result
        assert result["made"] < 2000
    else:
        assert "error" in result, result


FDS = """
const fs = require('fs');
exports.main = () => {
  const kept = [];
  try {
    for (let i = 0; i < 20000; i++) kept.push(fs.openSync('/dev/null', 'r'));
  } catch (err) {
    return {opened: kept.length, error: err.code};
  }
  return {opened: kept.length};
};
"""


def test_node_open_files_are_capped(server: SluiceServer) -> None:
    result = result_of(invoke(server, "node-fds", FDS, NODE))
    assert result.get("error") == "EMFILE", result
    assert result["opened"] < 512


SLEEPER = """
const {spawn} = require('child_process');
exports.main = (args) => {
  spawn('sleep', [args.marker], {detached: true, stdio: 'ignore'}).unref();
  return new Promise(() => {});  // never answers
};
"""


def test_node_sleeping_past_the_timeout_ends_the_call_and_its_tree(
    server: SluiceServer,
) -> None:
    marker = "5353.5"
    record = invoke(server, "node-sleeper", SLEEPER, NODE, {"marker": marker}, timeout=1000)
    assert result_of(record) == {
        "error": "The action exceeded its time limits of 1000 milliseconds."
    }
    wait_for(lambda: not _sleepers(marker), 10, "the timed-out call's tree to be killed")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://127.0.0.1:6379/",
    ],
)
def test_a_callback_to_the_metadata_address_is_refused(server: SluiceServer, url: str) -> None:
    with server.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": "cb-target"})
        made = client.post("/system/functions", json={"service": "cb-target", "envProcess": "cat"})
        assert made.status_code == 202, made.text
        reply = client.post(
            "/async-function/cb-target", content=b"x", headers={"X-Callback-Url": url}
        )
    assert reply.status_code == 400, reply.text
    assert "callback" in reply.text.lower()
