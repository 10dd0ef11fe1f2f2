"""`sluice fn` as a user runs it (`alias fn="sluice fn"`), in a function's directory, against
a real server: init, deploy (version bump), call, calls get/list, logs get; func.yaml errors."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from tests.support.cli import sluice
from tests.support.server import SluiceServer

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"


def fn(
    server: SluiceServer, cwd: Path, *args: str, ok: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`fn ARGS` in `cwd`, with `alias fn="sluice fn"`."""
    return sluice(server, "fn", *args, ok=ok, cwd=cwd, stdin=stdin)


def wait_block(server: SluiceServer, cwd: Path, app: str, call_id: str) -> dict[str, str]:
    """`fn calls get` once the call has ended, as field -> value."""
    import httpx

    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.auth}"}) as c:
        c.get(f"/v1/apps/{app}/calls/{call_id}", params={"wait": 60}, timeout=90)
    out = fn(server, cwd, "calls", "get", app, call_id).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def make_async(func_dir: Path) -> None:
    """What the seed asks: add `type: async` to func.yaml."""
    text = (func_dir / "func.yaml").read_text()
    (func_dir / "func.yaml").write_text(
        re.sub(r"^version:", "type: async\nversion:", text, count=1, flags=re.M)
    )


def walk(server: SluiceServer, tmp_path: Path, runtime: str, *init_args: str) -> None:
    """The seed's walk, for one runtime: init, type: async, deploy, call, calls get, logs get."""
    format_ = init_args[-1] if init_args else ""
    suffix = runtime + {"http-stream": "fdk"}.get(format_, format_)
    name = "asyncfn" if suffix == "go" else f"async{suffix}"
    app = "myapp" if suffix == "go" else f"myapp{suffix}"
    fn(server, tmp_path, "init", "--runtime", runtime, *init_args, name)
    func_dir = tmp_path / name
    make_async(func_dir)
    deployed = fn(server, func_dir, "deploy", "--local", "--app", app).stdout
    # today's func.yaml deploys as a v2 function (no path), the seed era's as a route
    assert f"Deploying {name} to app: {app}" in deployed
    assert "Bumped to version 0.0.2" in deployed
    assert "version: 0.0.2\n" in (func_dir / "func.yaml").read_text()
    called = fn(server, func_dir, "call", app, f"/{name}").stdout
    match = re.fullmatch(r'\{"call_id":"([0-9A-Z]{26})"\}\n', called)
    assert match, called
    call_id = match.group(1)
    fields = wait_block(server, func_dir, app, call_id)
    assert fields["ID"] == call_id
    assert fields["App"] == app
    assert fields["Route"] == f"/{name}"
    for key in ("Created At", "Started At", "Completed At"):
        assert re.fullmatch(TIME, fields[key]), fields
    assert fields["Created At"] <= fields["Started At"] <= fields["Completed At"]
    assert fields["Status"] == "success"
    logs = fn(server, func_dir, "logs", "get", app, call_id).stdout
    assert logs == '{"message":"Hello World"}\n'


def test_seed_walk_go(server: SluiceServer, tmp_path: Path) -> None:
    """The seed verbatim: `fn init --runtime go asyncfn`, add `type: async`, deploy, ..."""
    walk(server, tmp_path, "go")
    # deploying again bumps the version in func.yaml but builds nothing: the Go source is as it was
    again = fn(server, tmp_path / "asyncfn", "deploy", "--local", "--app", "myapp").stdout
    assert "Bumped to version 0.0.3" in again
    assert "Build cache hit: unchanged since the last build" in again


def test_seed_walk_python(server: SluiceServer, tmp_path: Path) -> None:
    walk(server, tmp_path, "python", "--format", "default")


def test_seed_walk_python_fdk(server: SluiceServer, tmp_path: Path) -> None:
    """An unchanged function for Fn's Python FDK (the `fdk` package from PyPI)."""
    walk(server, tmp_path, "python", "--format", "http-stream")


def test_seed_walk_node_fdk(server: SluiceServer, tmp_path: Path) -> None:
    """An unchanged function for Fn's Node FDK (`@fnproject/fdk` from npm)."""
    walk(server, tmp_path, "node", "--format", "http-stream")


def test_seed_walk_node(server: SluiceServer, tmp_path: Path) -> None:
    walk(server, tmp_path, "node", "--format", "default")


@pytest.mark.parametrize("runtime", ["go", "python", "node"])
def test_seed_walk_json_format(server: SluiceServer, tmp_path: Path, runtime: str) -> None:
    """`fn init --format json`: Fn's JSON frames on stdin and stdout, a warm process."""
    walk(server, tmp_path, runtime, "--format", "json")


@pytest.mark.parametrize(
    ("runtime", "format_"),
    [
        ("go", "default"),
        ("python", "default"),
        ("node", "default"),
        ("go", "json"),
        ("python", "json"),
        ("node", "json"),
        ("python", "http-stream"),
        ("node", "http-stream"),
    ],
)
def test_init_templates_greet_the_name_in_the_body(
    server: SluiceServer, tmp_path: Path, runtime: str, format_: str
) -> None:
    name = f"hello{runtime}{format_.replace('-', '')}"
    fn(server, tmp_path, "init", "--runtime", runtime, "--format", format_, name)
    fn(server, tmp_path / name, "deploy", "--app", "syncs")
    out = fn(server, tmp_path, "call", "syncs", f"/{name}", stdin='{"name": "Ada"}').stdout
    assert json.loads(out) == {"message": "Hello Ada"}


def test_sync_call_greets_the_name_in_the_body(server: SluiceServer, tmp_path: Path) -> None:
    fn(server, tmp_path, "init", "--runtime", "python", "--format", "default", "hello")
    fn(server, tmp_path / "hello", "deploy", "--app", "syncs")
    out = fn(server, tmp_path, "call", "syncs", "/hello", stdin='{"name": "Ada"}').stdout
    assert out == '{"message":"Hello Ada"}\n'
    shown = fn(server, tmp_path, "call", "--display-call-id", "syncs", "/hello", stdin="")
    assert ULID.match(shown.stderr.strip().removeprefix("Call ID: "))


def test_calls_list_and_logs_last(server: SluiceServer, tmp_path: Path) -> None:
    fn(server, tmp_path, "init", "--runtime", "python", "--format", "default", "lister")
    func_dir = tmp_path / "lister"
    make_async(func_dir)
    fn(server, func_dir, "deploy", "--app", "lists")
    ids = [fn(server, func_dir, "call", "lists", "/lister").stdout[12:38] for _ in range(2)]
    for call_id in ids:
        wait_block(server, func_dir, "lists", call_id)
    listed = fn(server, func_dir, "calls", "list", "lists").stdout
    assert re.findall(r"^ID: (\S+)$", listed, re.M) == ids[::-1]
    assert fn(server, func_dir, "logs", "get", "lists", "last").stdout == (
        '{"message":"Hello World"}\n'
    )
    newest = fn(server, func_dir, "calls", "get", "lists", "last").stdout
    assert newest.startswith(f"ID: {ids[-1]}\nApp: lists\n")


def test_unknown_call_is_an_error(server: SluiceServer, tmp_path: Path) -> None:
    fn(server, tmp_path, "init", "--runtime", "python", "lonely")
    fn(server, tmp_path / "lonely", "deploy", "--app", "lonely")
    done = fn(server, tmp_path, "calls", "get", "lonely", "01BVJ5T7CA07WGE00000000000", ok=False)
    assert done.returncode == 148
    assert "Call not found" in done.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: f\nruntime: go\nmemroy: 128\n", "func.yaml:3: unknown field 'memroy'"),
        ("name: f\nruntime: cobol\n", "func.yaml:2: field 'runtime' is 'cobol'"),
        ("name: f\nruntime: go\ntype: later\n", "func.yaml:3: field 'type' is 'later'"),
        ("name: f\nruntime: go\ntimeout: -1\n", "func.yaml:3: field 'timeout' must be a positive"),
        ("name: f\nruntime: go\nversion: one\n", "func.yaml:3: field 'version' must look like"),
        ("name: f\nruntime: go\nconfig: [1]\n", "func.yaml:3: field 'config' must be a map"),
        ("name: f\nruntime: go\nruntime: go\n", "func.yaml:3: field 'runtime' appears twice"),
        ("name: f\nruntime: [go\n", "func.yaml:3: not valid YAML"),
        ("runtime: go\n", "field 'name' is missing"),
    ],
)
def test_func_yaml_errors_name_field_and_line(
    server: SluiceServer, tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "func.yaml").write_text(text)
    done = fn(server, tmp_path, "deploy", "--app", "bad", ok=False)
    assert done.returncode == 1
    assert message in done.stderr, done.stderr
    assert (tmp_path / "func.yaml").read_text() == text


def test_func_yaml_fields_reach_the_route_and_the_function(
    server: SluiceServer, tmp_path: Path
) -> None:
    """config (env vars), memory, timeout, idle_timeout, format and path as func.yaml says."""
    func_dir = tmp_path / "fields"
    func_dir.mkdir()
    (func_dir / "func.py").write_text(
        "import json, os\n"
        "names = ('GREETING', 'FN_MEMORY', 'FN_FORMAT')\n"
        "print(json.dumps({k: os.environ.get(k) for k in names}))\n"
    )
    (func_dir / "func.yaml").write_text(
        "name: fields\nversion: 0.0.1\nruntime: python\nentrypoint: python3 func.py\n"
        "memory: 256\ntimeout: 12\nidle_timeout: 7\npath: /custom\n"
        "config:\n  GREETING: hi\n"
    )
    fn(server, func_dir, "deploy", "--app", "fieldsapp")
    out = fn(server, func_dir, "call", "fieldsapp", "/custom", stdin="").stdout
    assert json.loads(out) == {"GREETING": "hi", "FN_MEMORY": "256", "FN_FORMAT": "default"}
    route = json.loads(fn(server, func_dir, "routes", "inspect", "fieldsapp", "/custom").stdout)
    assert (route["memory"], route["timeout"], route["idle_timeout"]) == (256, 12, 7)
    assert route["config"] == {"GREETING": "hi"}
    assert route["version"] == "0.0.1"


def test_a_failed_build_prints_its_log_and_keeps_func_yaml(
    server: SluiceServer, tmp_path: Path
) -> None:
    fn(server, tmp_path, "init", "--runtime", "python", "broken")
    func_dir = tmp_path / "broken"
    (func_dir / "requirements.txt").write_text("this-package-does-not-exist-x==9\n")
    before = (func_dir / "func.yaml").read_text()
    done = fn(server, func_dir, "deploy", "--app", "brokenapp", ok=False)
    assert done.returncode != 0
    assert "Build failed: pip install exited with status 1" in done.stderr
    assert "--- build log ---" in done.stderr
    assert "this-package-does-not-exist-x" in done.stderr
    assert (func_dir / "func.yaml").read_text() == before  # no version bump
    assert "Bumped to version" not in done.stdout


def test_cancel_an_ended_call_is_refused(server: SluiceServer, tmp_path: Path) -> None:
    fn(server, tmp_path, "init", "--runtime", "python", "ender")
    func_dir = tmp_path / "ender"
    make_async(func_dir)
    fn(server, func_dir, "deploy", "--app", "enders")
    call_id = fn(server, func_dir, "call", "enders", "/ender").stdout[12:38]
    wait_block(server, func_dir, "enders", call_id)
    done = fn(server, func_dir, "calls", "cancel", "enders", call_id, ok=False)
    assert done.returncode != 0
    assert "The call has ended already (success)." in done.stderr
