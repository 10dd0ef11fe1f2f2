"""`sluice function`: the issue's walk with the real CLI, curl-like calls and a listener."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from tests.dialects.openfaas.helpers import open_client
from tests.support.cli import sluice
from tests.support.listener import Listener
from tests.support.server import SLUICE, SluiceServer

BANNER = " _   _ _ \n| | | (_)\n| |_| | |\n|  _  | |\n|_| |_|_|\n         \n"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.skipif(shutil.which("figlet") is None, reason="figlet is not installed")
def test_deploy_figlet_call_it_and_get_the_callback(server: SluiceServer) -> None:
    deployed = sluice(server, "function", "deploy", "figlet", "--process", "figlet")
    assert deployed.stdout.startswith("Deployed. figlet: ")
    with open_client(server) as client:
        answer = client.post("/function/figlet", content=b"Hi", headers=FORM)
        assert answer.text == BANNER
        with Listener() as listener:
            accepted = client.post(
                "/async-function/figlet",
                content=b"Hi",
                headers={**FORM, "X-Callback-Url": listener.url},
            )
            assert accepted.status_code == 202
            (got,) = listener.wait(1)
    assert got.body.decode() == BANNER
    assert got.headers["x-call-id"] == accepted.headers["x-call-id"]
    assert got.headers["x-function-status"] == "200"
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    for header in ("x-duration-seconds", "x-start-time"):
        assert header in got.headers


def _invoke(server: SluiceServer, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SLUICE), "function", "invoke", *args],
        input=stdin,
        env=server.cli_env,
        capture_output=True,
        text=True,
        check=True,
    )


def test_deploy_list_get_invoke_remove(server: SluiceServer) -> None:
    deployed = sluice(
        server, "function", "deploy", "counter", "--process", "wc -c", "--memory", "192Mi"
    )
    assert deployed.returncode == 0
    listed = sluice(server, "function", "list").stdout
    assert any(line.split()[:1] == ["counter"] for line in listed.splitlines())
    got = sluice(server, "function", "get", "counter").stdout
    assert '"envProcess": "wc -c"' in got
    called = _invoke(server, "12345", "counter")
    assert called.stdout.strip() == "5"
    queued = _invoke(server, "x", "counter", "--async")
    assert queued.stderr.strip() == "Function submitted asynchronously."
    assert len(queued.stdout.strip()) == 36
    assert sluice(server, "function", "remove", "counter").stdout.strip() == "Removed. counter"
    missing = sluice(server, "function", "remove", "counter", ok=False)
    assert missing.returncode != 0
    assert "not found" in missing.stderr
