"""The real `sluice` console script, run as a subprocess against a real server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.cli import sluice, sluice_json
from tests.support.server import SluiceServer

HELLO_JS = """
function main(args) {
  console.log('hello called with ' + JSON.stringify(args));
  console.error('a line on stderr');
  return {payload: 'Hello ' + (args.name || 'stranger'), n: args.n === undefined ? null : args.n};
}
"""
FAILING_JS = """
function main() {
  return {error: 'boom'};
}
"""
SLEEPER_JS = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms}), args.ms));
}
"""
HELLO_PY = """
def main(args):
    print("python here")
    return {"greeting": "hi " + args.get("name", "you")}
"""


@pytest.fixture
def source(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def test_action_lifecycle(server: SluiceServer, source: Callable[[str, str], Path]) -> None:
    hello = source("hello.js", HELLO_JS)
    created = sluice(server, "action", "create", "cli-hello", str(hello), "-t", "5000")
    assert created.stdout == ""
    again = sluice(server, "action", "create", "cli-hello", str(hello), ok=False)
    assert again.returncode == 153
    assert again.stderr.startswith("error: ")
    assert again.stderr.endswith("(409 Conflict)\n")

    record = sluice_json(server, "action", "get", "cli-hello")
    assert record["name"] == "cli-hello"
    assert record["limits"]["timeout"] == 5000
    assert record["version"] == "0.0.1"
    assert "code" not in record["exec"]
    assert sluice(server, "action", "get", "cli-hello", "--code").stdout == HELLO_JS + "\n"
    assert sluice(server, "action", "get", "/guest/cli-hello", "--url").stdout == (
        f"{server.url}/api/v1/namespaces/guest/actions/cli-hello\n"
    )

    sluice(server, "action", "update", "cli-hello", "--web", "true", "-p", "name", "Ada")
    sluice(server, "action", "update", "cli-hello", "-m", "128")
    record = sluice_json(server, "action", "get", "cli-hello")
    assert record["version"] == "0.0.3"
    assert record["limits"]["memory"] == 128
    assert record["limits"]["timeout"] == 5000
    assert {"key": "name", "value": "Ada"} in record["parameters"]
    assert sluice(server, "action", "get", "cli-hello", "--code").stdout == HELLO_JS + "\n"
    assert sluice(server, "action", "get", "cli-hello", "--url").stdout == (
        f"{server.url}/api/v1/web/guest/default/cli-hello\n"
    )

    table = sluice(server, "action", "list").stdout.splitlines()
    assert table[0].split() == ["Datetime", "Access", "Kind", "Version", "Actions"]
    row = next(line for line in table if line.endswith(" cli-hello"))
    assert row.split()[2:5] == ["web", "nodejs:20", "0.0.3"]
    names = [item["name"] for item in sluice_json(server, "action", "list", "--json")]
    assert "cli-hello" in names
    count = sluice(server, "action", "list", "--count").stdout
    assert count == f"You have {len(names)} actions in this namespace.\n"
    assert len(sluice_json(server, "action", "list", "--json", "--limit", "1")) == 1

    result = sluice_json(server, "action", "invoke", "cli-hello", "--result", "-p", "n", "7")
    assert result == {"payload": "Hello Ada", "n": 7}

    assert sluice(server, "action", "delete", "cli-hello").stdout == ""
    gone = sluice(server, "action", "get", "cli-hello", ok=False)
    assert gone.returncode == 148
    assert gone.stderr == (
        "error: action guest/cli-hello: The requested resource does not exist. (404 Not Found)\n"
    )


def test_invoke_then_activation_commands(
    server: SluiceServer, source: Callable[[str, str], Path], tmp_path: Path
) -> None:
    sluice(server, "action", "create", "cli-acts", str(source("acts.js", HELLO_JS)))
    params = tmp_path / "params.json"
    params.write_text('{"name": "file", "n": 1}')
    accepted = sluice_json(
        server, "action", "invoke", "cli-acts", "-P", str(params), "-p", "n", "2"
    )
    activation_id = accepted["activationId"]
    assert list(accepted) == ["activationId"]
    assert len(activation_id) == 32

    record = sluice_json(server, "activation", "get", activation_id, "--wait", "60")
    assert record["activationId"] == activation_id
    assert record["response"]["result"] == {"payload": "Hello file", "n": 2}
    assert record["response"]["status"] == "success"

    response = sluice_json(server, "activation", "result", activation_id)
    assert response["result"] == {"payload": "Hello file", "n": 2}
    assert response["success"] is True

    lines = sluice(server, "activation", "logs", activation_id).stdout.splitlines()
    assert any(" stdout: hello called with " in line for line in lines)
    assert any(line.endswith(" stderr: a line on stderr") for line in lines)
    stripped = sluice(server, "activation", "logs", activation_id, "--strip").stdout.splitlines()
    assert stripped == ['hello called with {"name":"file","n":2}', "a line on stderr"]

    table = sluice(server, "activation", "list", "cli-acts").stdout.splitlines()
    assert table[0].split() == [
        "Datetime",
        "Status",
        "Kind",
        "Version",
        "Activation",
        "ID",
        "Start",
        "Duration",
        "Entity",
    ]
    assert len(table) == 2
    cells = table[1].split()
    assert cells[2:6] == ["success", "nodejs:20", "0.0.1", activation_id]
    assert cells[6] in ("cold", "warm")
    assert cells[7].endswith("ms")
    assert cells[8] == "cli-acts"

    listed = sluice_json(server, "activation", "list", "cli-acts", "--json")
    assert [item["activationId"] for item in listed] == [activation_id]
    full = sluice_json(server, "activation", "list", "/guest/cli-acts", "--full")
    assert full[0]["response"]["result"]["payload"] == "Hello file"
    assert sluice(server, "activation", "list", "cli-acts", "--count").stdout == (
        "You have 1 activations in this namespace.\n"
    )
    last = sluice_json(server, "activation", "get", "--last")
    assert len(last["activationId"]) == 32


def test_blocking_invoke_of_a_failing_action(
    server: SluiceServer, source: Callable[[str, str], Path]
) -> None:
    sluice(server, "action", "create", "cli-fails", str(source("fails.js", FAILING_JS)))
    record = sluice_json(server, "action", "invoke", "cli-fails", "--blocking")
    assert record["response"]["success"] is False
    assert record["response"]["status"] == "application error"
    assert sluice_json(server, "action", "invoke", "cli-fails", "-r") == {"error": "boom"}
    table = sluice(server, "activation", "list", "cli-fails").stdout.splitlines()
    assert [line.split()[2] for line in table[1:]] == ["app", "app"]


def test_python_action_by_full_name(
    server: SluiceServer, source: Callable[[str, str], Path]
) -> None:
    sluice(server, "action", "create", "/guest/cli-py", str(source("hello.py", HELLO_PY)))
    assert sluice_json(server, "action", "get", "cli-py")["exec"]["kind"].startswith("python:")
    record = sluice_json(server, "action", "invoke", "cli-py", "-b", "-p", "name", "Bo")
    assert record["response"]["result"] == {"greeting": "hi Bo"}
    logs = sluice(server, "activation", "logs", record["activationId"], "-r").stdout
    assert logs == "python here\n"


def test_a_slow_call_shows_its_live_state_then_waits(
    server: SluiceServer, source: Callable[[str, str], Path]
) -> None:
    sluice(server, "action", "create", "cli-slow", str(source("slow.js", SLEEPER_JS)))
    accepted = sluice_json(server, "action", "invoke", "cli-slow", "-p", "ms", "4000")
    activation_id = accepted["activationId"]

    live = sluice_json(server, "activation", "get", activation_id)
    assert live["state"] in ("queued", "running")
    assert live["activationId"] == activation_id
    assert live["action"] == "guest/cli-slow"
    assert live["completed"] is None

    not_yet = sluice(server, "activation", "result", activation_id, ok=False)
    assert not_yet.returncode == 148
    assert "has not finished" in not_yet.stderr
    assert f"sluice activation get {activation_id} --wait" in not_yet.stderr

    short = sluice(server, "activation", "get", activation_id, "--wait", "0.5")
    assert json.loads(short.stdout)["state"] in ("queued", "running")
    assert "still " in short.stderr

    # the same call through its other spellings, with no limit on the wait
    uuid = live["uuid"]
    record = sluice_json(server, "activation", "get", uuid, "--wait")
    assert record["activationId"] == activation_id
    assert record["response"]["result"] == {"slept": 4000}
    assert record["duration"] >= 3900
    assert sluice_json(server, "activation", "get", live["id"])["activationId"] == activation_id


def test_blocking_invoke_past_the_wait_cap(
    new_server: Callable[..., SluiceServer], source: Callable[[str, str], Path]
) -> None:
    server = new_server(SLUICE_BLOCKING_WAIT_MS="300").start()
    sluice(server, "action", "create", "slow", str(source("slow.js", SLEEPER_JS)))
    for flag in ("--blocking", "--result"):
        still = sluice(server, "action", "invoke", "slow", flag, "-p", "ms", "2000")
        activation_id = json.loads(still.stdout)["activationId"]
        assert f"sluice activation get {activation_id} --wait" in still.stderr
        record = sluice_json(server, "activation", "get", activation_id, "--wait", "60")
        assert record["response"]["result"] == {"slept": 2000}


def test_errors_and_the_environment(server: SluiceServer, tmp_path: Path) -> None:
    bad = sluice(server, "--auth", "nobody:nothing", "action", "list", ok=False)
    assert bad.returncode == 145
    assert bad.stderr.startswith("error: ")
    assert bad.stderr.endswith("(401 Unauthorized)\n")

    bare = {"PATH": server.cli_env["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    missing = sluice(server, "action", "list", env=bare, ok=False)
    assert missing.returncode == 1
    assert "sluice serve" in missing.stderr

    aio = {
        **bare,
        "AIO_RUNTIME_APIHOST": server.url,
        "AIO_RUNTIME_AUTH": server.auth,
        "AIO_RUNTIME_NAMESPACE": server.namespace,
    }
    assert sluice(server, "action", "list", "--count", env=aio).stdout.startswith("You have ")
    no_such = sluice(server, "activation", "get", "0" * 32, env=aio, ok=False)
    assert no_such.returncode == 148
    assert no_such.stderr.endswith("(404 Not Found)\n")
    short_id = sluice(server, "activation", "get", "abc", env=aio, ok=False)
    assert short_id.stderr == "error: Activation id length is 3 but must be 32. (400 Bad Request)\n"
