"""A build runs code the function's author chose (npm's lifecycle scripts, a package's
setup.py): it runs on the egress network like a function, so it reaches the package
registries and none of the host's loopback services or addresses."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from ipaddress import ip_address

import pytest

from tests.build.test_action_builds import put
from tests.sandbox.test_hostile import _loopback_ports
from tests.support.server import SluiceServer

pytestmark = pytest.mark.skipif(
    subprocess.run(["sh", "-c", "command -v slirp4netns"], capture_output=True).returncode != 0,
    reason="builds fall back to the host's network without slirp4netns",
)

#: the probe a package.json's postinstall runs: it tells what it reached, then fails the
#: build so that its words come back in the deploy's error
REACH = (
    "const net = require('net'); const targets = JSON.parse(process.env.npm_package_config_t);"
    "const out = {}; let left = targets.length;"
    "for (const [h, p] of targets) { const s = net.connect({host: h, port: p, timeout: 3000});"
    "const done = (r) => { out[h + ':' + p] = r; s.destroy(); if (--left === 0) {"
    "console.error('REACHED ' + JSON.stringify(out)); process.exit(1); } };"
    "s.on('connect', () => done('ok')); s.on('error', (e) => done(e.code));"
    "s.on('timeout', () => done('timeout')); }"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    instance = SluiceServer(tmp_path_factory.mktemp("hostile-builds"))
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture(scope="module")
def host_listener() -> Iterator[int]:
    with socket.create_server(("0.0.0.0", 0)) as listener:
        yield int(listener.getsockname()[1])


def _machine_addresses() -> list[str]:
    found = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    addresses = [line.split()[3].split("/")[0] for line in found.splitlines()]
    return [a for a in addresses if not ip_address(a).is_loopback]


def test_an_npm_lifecycle_script_reaches_nothing_of_the_host(
    server: SluiceServer, host_listener: int
) -> None:
    targets = [
        *[["127.0.0.1", port] for port in _loopback_ports()],
        *[[address, host_listener] for address in _machine_addresses()],
        ["169.254.169.254", 80],
    ]
    package = {
        "name": "hostile-build",
        "version": "1.0.0",
        "config": {"t": json.dumps(targets)},
        "scripts": {"postinstall": f'node -e "{REACH}"'},
    }
    files = {"index.js": "exports.main = () => ({})", "package.json": json.dumps(package)}
    with server.client() as client:
        made = put(client, server, "hostile-build", "nodejs:20", files)
    assert made.status_code == 400, made.text
    error = made.json()["error"]
    assert "\nREACHED {" in error, error
    # the first "REACHED " is npm's echo of the script
    reached = json.loads(error.split("\nREACHED ", 1)[1].splitlines()[0])
    assert len(reached) == len(targets)
    for target, outcome in reached.items():
        assert outcome in ("ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"), (target, outcome)
