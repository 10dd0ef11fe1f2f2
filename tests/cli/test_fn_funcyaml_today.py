"""func.yaml as today's `fn init` writes it (fnproject/cli: schema 20180708, the runtime's
build and run images, the FDK's entrypoint, no format): `sluice fn init` writes the same file,
and such a file deploys and runs over http-stream with the real FDKs (`fdk` from PyPI,
`@fnproject/fdk` from npm)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.test_fn_cli import fn
from tests.support.server import SluiceServer

#: what fnproject/cli's `fn init --runtime R NAME` writes, field by field
TODAY = {
    "python": (
        "schema_version: 20180708\nname: {name}\nversion: 0.0.1\nruntime: python\n"
        "build_image: fnproject/python:3.12-dev\nrun_image: fnproject/python:3.12\n"
        "entrypoint: /python/bin/fdk /function/func.py handler\nmemory: 256\n"
    ),
    "python3.11": (
        "schema_version: 20180708\nname: {name}\nversion: 0.0.1\nruntime: python3.11\n"
        "build_image: fnproject/python:3.11-dev\nrun_image: fnproject/python:3.11\n"
        "entrypoint: /python/bin/fdk /function/func.py handler\nmemory: 256\n"
    ),
    "node": (
        "schema_version: 20180708\nname: {name}\nversion: 0.0.1\nruntime: node\n"
        "build_image: fnproject/node:24-dev\nrun_image: fnproject/node:24\n"
        "entrypoint: node func.js\n"
    ),
}

#: a handler as users write it for the Python FDK, reading what Fn's FDK contract gives
PY_HANDLER = """import io, json, os
from fdk import response

def handler(ctx, data: io.BytesIO = None):
    body = json.loads(data.getvalue() or b"{}")
    return response.Response(ctx, response_data=json.dumps({
        "hi": body.get("name", "world"), "format": os.environ.get("FN_FORMAT"),
        "app": ctx.AppName(), "fn": ctx.FnName(), "memory": os.environ.get("FN_MEMORY"),
    }), headers={"Content-Type": "application/json"})
"""

NODE_HANDLER = """const fdk = require('@fnproject/fdk');
fdk.handle(function (input, ctx) {
  return { hi: input.name || 'world', format: process.env.FN_FORMAT, app: ctx.appName };
});
"""


@pytest.mark.parametrize("runtime", sorted(TODAY))
def test_init_writes_what_todays_fn_init_writes(
    server: SluiceServer, tmp_path: Path, runtime: str
) -> None:
    done = fn(server, tmp_path, "init", "--runtime", runtime, "hellofn")
    assert done.stdout.splitlines()[0] == "Creating function at: ./hellofn"
    assert "func.yaml created." in done.stdout
    assert (tmp_path / "hellofn" / "func.yaml").read_text() == TODAY[runtime].format(name="hellofn")


@pytest.mark.parametrize("runtime", sorted(TODAY))
def test_init_then_deploy_and_call_over_http_stream(
    server: SluiceServer, tmp_path: Path, runtime: str
) -> None:
    name = "today" + runtime.replace(".", "")
    fn(server, tmp_path, "init", "--runtime", runtime, name)
    fn(server, tmp_path / name, "deploy", "--app", "todays")
    out = fn(server, tmp_path, "call", "todays", f"/{name}", stdin='{"name": "Ada"}').stdout
    assert json.loads(out) == {"message": "Hello Ada"}
    route = json.loads(fn(server, tmp_path, "routes", "inspect", "todays", f"/{name}").stdout)
    assert route["format"] == "http-stream"
    assert route["memory"] == (256 if runtime.startswith("python") else 128)


def test_a_hand_written_fdk_python_function(server: SluiceServer, tmp_path: Path) -> None:
    """The file exactly as the real CLI writes it, beside the user's own handler."""
    func_dir = tmp_path / "pyfdk"
    func_dir.mkdir()
    (func_dir / "func.yaml").write_text(TODAY["python"].format(name="pyfdk"))
    (func_dir / "func.py").write_text(PY_HANDLER)
    (func_dir / "requirements.txt").write_text("fdk")  # as `fn init` writes it offline
    fn(server, func_dir, "deploy", "--app", "fdks")
    out = fn(server, func_dir, "call", "fdks", "/pyfdk", stdin='{"name": "Ada"}').stdout
    assert json.loads(out) == {
        "hi": "Ada",
        "format": "http-stream",
        "app": "fdks",
        "fn": "pyfdk",
        "memory": "256",
    }


def test_a_hand_written_fdk_node_function(server: SluiceServer, tmp_path: Path) -> None:
    func_dir = tmp_path / "nodefdk"
    func_dir.mkdir()
    (func_dir / "func.yaml").write_text(TODAY["node"].format(name="nodefdk"))
    (func_dir / "func.js").write_text(NODE_HANDLER)
    (func_dir / "package.json").write_text(
        json.dumps({"name": "nodefdk", "main": "func.js", "dependencies": {"@fnproject/fdk": "*"}})
    )
    fn(server, func_dir, "deploy", "--app", "fdks")
    out = fn(server, func_dir, "call", "fdks", "/nodefdk", stdin='{"name": "Ada"}').stdout
    assert json.loads(out) == {"hi": "Ada", "format": "http-stream", "app": "fdks"}


def test_entrypoint_and_cmd_run_as_a_container_runs_them(
    server: SluiceServer, tmp_path: Path
) -> None:
    """cmd gives the entrypoint its arguments (Docker's ENTRYPOINT + CMD)."""
    func_dir = tmp_path / "split"
    func_dir.mkdir()
    (func_dir / "func.yaml").write_text(
        "schema_version: 20180708\nname: split\nversion: 0.0.1\nruntime: python3.12\n"
        "entrypoint: /python/bin/fdk /function/func.py\ncmd: handler\n"
    )
    (func_dir / "func.py").write_text(PY_HANDLER)
    (func_dir / "requirements.txt").write_text("fdk>=0.1.128\n")
    fn(server, func_dir, "deploy", "--app", "fdks")
    out = fn(server, func_dir, "call", "fdks", "/split", stdin="{}").stdout
    assert json.loads(out)["format"] == "http-stream"
