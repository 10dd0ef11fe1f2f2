"""Today's `fn` commands over Fn's v2 API, as `sluice fn` (`alias fn="sluice fn"`), against a
real server: deploy of today's func.yaml with its trigger, list, inspect, invoke (detached
too), config, create and delete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from tests.cli.test_fn_cli import fn
from tests.support.server import SluiceServer


def _rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


def test_deploy_list_inspect_invoke_config_delete(server: SluiceServer, tmp_path: Path) -> None:
    fn(server, tmp_path, "init", "--runtime", "python", "--trigger", "http", "greeter")
    func_dir = tmp_path / "greeter"
    assert (
        (func_dir / "func.yaml")
        .read_text()
        .endswith("triggers:\n- name: greeter\n  type: http\n  source: /greeter\n")
    )
    deployed = fn(server, func_dir, "deploy", "--app", "v2cli").stdout
    assert "Deploying greeter to app: v2cli\n" in deployed
    assert "Successfully created function: greeter with greeter:0.0.2" in deployed
    assert "Successfully created trigger: greeter" in deployed
    assert f"Trigger Endpoint: {server.url}/t/v2cli/greeter" in deployed
    again = fn(server, func_dir, "deploy", "--app", "v2cli").stdout
    assert "Updating function greeter using image greeter:0.0.3..." in again

    apps = _rows(fn(server, tmp_path, "list", "apps").stdout)
    assert apps[0] == ["NAME", "ID"]
    app_id = dict(apps[1:])["v2cli"]
    fns = _rows(fn(server, tmp_path, "list", "fns", "v2cli").stdout)
    assert fns[0] == ["NAME", "IMAGE", "ID"]
    assert fns[1][:2] == ["greeter", "greeter:0.0.3"]
    fn_id = fns[1][2]
    triggers = _rows(fn(server, tmp_path, "list", "triggers", "v2cli").stdout)
    assert triggers[0] == ["FUNCTION", "NAME", "ID", "TYPE", "SOURCE", "ENDPOINT"]
    assert triggers[1][:2] == ["greeter", "greeter"]
    assert triggers[1][3:] == ["http", "/greeter", f"{server.url}/t/v2cli/greeter"]

    app = json.loads(fn(server, tmp_path, "inspect", "app", "v2cli").stdout)
    assert app["id"] == app_id
    found = json.loads(fn(server, tmp_path, "inspect", "fn", "v2cli", "greeter").stdout)
    assert (found["id"], found["app_id"], found["memory"]) == (fn_id, app_id, 256)
    endpoint = fn(server, tmp_path, "inspect", "fn", "v2cli", "greeter", "--endpoint").stdout
    assert endpoint == f"{server.url}/invoke/{fn_id}\n"

    out = fn(server, tmp_path, "invoke", "v2cli", "greeter", stdin='{"name": "Ada"}').stdout
    assert json.loads(out) == {"message": "Hello Ada"}
    shown = fn(server, tmp_path, "invoke", "--display-call-id", "v2cli", "greeter", stdin="{}")
    call_line, body = shown.stdout.split("\n", 1)
    assert re.fullmatch(r"Call ID: [0-9A-Z]{26}", call_line)
    assert json.loads(body) == {"message": "Hello World"}
    detached = fn(server, tmp_path, "invoke", "detached", "--display-call-id", "v2cli", "greeter")
    call_id = detached.stdout.strip().removeprefix("Call ID: ")
    # the detached call is kept: v1's calls and logs see it
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.auth}"}) as c:
        call = c.get(f"/v1/apps/v2cli/calls/{call_id}", params={"wait": 60}, timeout=90).json()
    assert call["call"]["status"] == "success"
    block = fn(server, tmp_path, "calls", "get", "v2cli", call_id).stdout
    assert "Route: /greeter" in block

    assert fn(server, tmp_path, "config", "app", "v2cli", "LEVEL", "1").stdout == (
        "v2cli updated LEVEL with 1\n"
    )
    fn(server, tmp_path, "config", "fn", "v2cli", "greeter", "MODE", "x")
    found = json.loads(fn(server, tmp_path, "inspect", "fn", "v2cli", "greeter").stdout)
    assert found["config"] == {"MODE": "x"}
    assert fn(server, tmp_path, "inspect", "app", "v2cli", "config").stdout.strip() == (
        '{\n  "LEVEL": "1"\n}'
    )

    made = fn(server, tmp_path, "create", "trigger", "v2cli", "greeter", "other").stdout
    assert f"Trigger Endpoint: {server.url}/t/v2cli/other" in made
    assert (
        httpx.post(
            f"{server.url}/t/v2cli/other",
            content=b"{}",
            headers={"Authorization": f"Bearer {server.auth}"},
        ).status_code
        == 200
    )
    assert fn(server, tmp_path, "delete", "trigger", "v2cli", "greeter", "other").stdout == (
        "v2cli greeter other deleted\n"
    )
    assert fn(server, tmp_path, "delete", "fn", "v2cli", "greeter").stdout == (
        "Function greeter deleted\n"
    )
    missing = fn(server, tmp_path, "invoke", "v2cli", "greeter", ok=False)
    assert missing.returncode != 0
    assert "function greeter not found" in missing.stderr
    assert fn(server, tmp_path, "delete", "app", "v2cli").stdout == "App v2cli deleted\n"
    assert "app v2cli not found" in fn(server, tmp_path, "list", "fns", "v2cli", ok=False).stderr


def test_invoke_prints_fns_error(server: SluiceServer, tmp_path: Path) -> None:
    func_dir = tmp_path / "failer"
    func_dir.mkdir()
    (func_dir / "func.yaml").write_text(
        "schema_version: 20180708\nname: failer\nversion: 0.0.1\nruntime: python\n"
        "entrypoint: /python/bin/fdk /function/func.py handler\n"
    )
    (func_dir / "func.py").write_text("def handler(ctx, data=None):\n    raise ValueError('no')\n")
    (func_dir / "requirements.txt").write_text("fdk>=0.1.128\n")
    fn(server, func_dir, "deploy", "--app", "v2fail")
    done = fn(server, tmp_path, "invoke", "v2fail", "failer", ok=False)
    assert done.returncode == 1
    assert done.stdout == "Error invoking function. status: 502 message: function failed: no\n"


def test_create_app_and_list(server: SluiceServer, tmp_path: Path) -> None:
    out = fn(server, tmp_path, "create", "app", "v2made", "--config", "A=1").stdout
    assert out == "Successfully created app:  v2made\n"
    assert json.loads(fn(server, tmp_path, "inspect", "app", "v2made", "config").stdout) == {
        "A": "1"
    }
    assert (
        "No functions found for app: v2made" in fn(server, tmp_path, "list", "fns", "v2made").stderr
    )
