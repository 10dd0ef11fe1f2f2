"""The core story with the real aio CLI: create, invoke non-blocking, get the record later,
and a blocking invoke past the wait cap."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support.aio import AioCli
from tests.support.calls import wait_call
from tests.support.seed import worker_with_delay
from tests.support.server import SluiceServer


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What the CLI printed, unwrapped: it folds long error lines behind a `\u203a` mark."""
    return " ".join((result.stdout + result.stderr).replace("\u203a", " ").split())


def test_the_seed_worker_story(
    new_server: Callable[..., SluiceServer], aio_for: Callable[..., AioCli], tmp_path: Path
) -> None:
    # a 2 s blocking cap stands for the 60 s one; the worker sleeps 4 s instead of 100 s
    srv = new_server(SLUICE_BLOCKING_WAIT_MS="2000").start()
    aio = aio_for(srv)
    worker = tmp_path / "worker.js"
    worker.write_text(worker_with_delay(4000))

    assert aio.run_ok("rt:action:create", "my-worker", str(worker), "-t", "120000") == ""
    again = aio.run("rt:action:create", "my-worker", str(worker), "-t", "120000")
    assert again.returncode != 0
    assert "failed to create the action: resource already exists (409 Conflict)" in said(again)

    started = aio.run_json("rt:action:invoke", "my-worker")
    aid = started["activationId"]
    assert len(aid) == 32
    running = aio.run("rt:activation:get", aid)
    assert "the requested resource does not exist. (404 Not Found)" in said(running)

    with srv.client() as c:
        assert wait_call(c, aid, timeout=60)["state"] == "success"
    record = aio.run_json("rt:activation:get", aid)
    assert record["activationId"] == aid
    assert record["response"]["result"]["body"] == {"payload": "Hello from the long running job!"}
    assert record["duration"] >= 4000
    assert aio.run_json("rt:activation:result", aid)["result"]["statusCode"] == 200

    late = aio.run_ok("rt:action:invoke", "my-worker", "--blocking", "--result")
    assert "activation took too long, use activation id" in late
    late_id = late.split("activation id ")[1].split()[0]
    with srv.client() as c:
        assert wait_call(c, late_id, timeout=60)["state"] == "success"

    table = aio.run_ok("rt:action:list")
    assert "my-worker" in table
    assert "nodejs:20" in table
    activations = aio.run_ok("rt:activation:list")
    assert aid in activations
    assert "success" in activations


def test_update_get_list_logs_delete(
    server: SluiceServer, aio_for: Callable[..., AioCli], tmp_path: Path
) -> None:
    aio = aio_for(server)
    hello = tmp_path / "hello.js"
    hello.write_text(
        "function main(p) { console.log('hello called'); return {payload: 'Hello ' + p.name} }"
    )
    aio.run_ok("rt:action:create", "aio-hello", str(hello))
    aio.run_ok("rt:action:update", "aio-hello", "-m", "512")
    got = aio.run_ok("rt:action:get", "aio-hello")
    record = json.loads(got[got.index("{") :])
    assert record["limits"]["memory"] == 512
    assert record["version"] == "0.0.2"

    result = aio.run_json(
        "rt:action:invoke", "aio-hello", "-p", "name", "Ada", "--blocking", "--result"
    )
    assert result == {"payload": "Hello Ada"}
    blocking = aio.run_json("rt:action:invoke", "aio-hello", "-p", "name", "Bo", "--blocking")
    logs = aio.run_ok("rt:activation:logs", blocking["activationId"])
    assert f"=== activation logs {blocking['activationId']}" in logs
    assert "stdout: hello called" in logs
    assert "You have" in aio.run_ok("rt:action:list", "--count")
    aio.run_ok("rt:action:delete", "aio-hello")
    gone = aio.run("rt:action:get", "aio-hello")
    assert "(404 Not Found)" in said(gone)


def test_python_action_from_aio(
    server: SluiceServer, aio_for: Callable[..., AioCli], tmp_path: Path
) -> None:
    aio = aio_for(server)
    code = tmp_path / "adder.py"
    code.write_text("def main(args):\n    return {'sum': args.get('a', 0) + args.get('b', 0)}\n")
    aio.run_ok("rt:action:create", "aio-adder", str(code))
    params = tmp_path / "params.json"
    params.write_text('{"a": 2, "b": 3}')  # aio sends -p values as strings; a file keeps types
    assert aio.run_json("rt:action:invoke", "aio-adder", "-P", str(params), "--result") == {
        "sum": 5
    }


def test_deploy_service_route_with_a_bearer_key(
    server: SluiceServer, aio_for: Callable[..., AioCli], tmp_path: Path
) -> None:
    # the CLI's default route for create/update/delete, pointed at Sluice, the key as token
    aio = aio_for(server, deploy_service_url=server.url, ims_token=server.auth)
    code = tmp_path / "bearer.js"
    code.write_text("function main() { return {via: 'bearer'} }")
    aio.run_ok("rt:action:create", "via-bearer", str(code))
    assert aio.run_json("rt:action:invoke", "via-bearer", "--result") == {"via": "bearer"}
    aio.run_ok("rt:action:delete", "via-bearer")
    wrong = aio_for(server, deploy_service_url=server.url, ims_token="not-a-key")
    refused = wrong.run("rt:action:create", "never", str(code))
    assert refused.returncode != 0
