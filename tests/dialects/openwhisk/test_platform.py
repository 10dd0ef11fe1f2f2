"""`GET /`: upstream's platform info, whose `runtimes` the aio CLI's deploy reads."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.support.aio import AioCli, node_tools_dir
from tests.support.server import SluiceServer

PY_MAIN = "def main(args):\n    return {'py': args.get('x', 0) + 1}\n"


def test_root_answers_platform_info_with_the_runtimes_that_run(server: SluiceServer) -> None:
    info = httpx.get(server.url + "/").json()  # no key needed, as upstream
    assert {"description", "api_paths", "limits", "runtimes"} <= set(info)
    assert info["api_paths"] == ["/api/v1"]
    assert info["limits"]["max_action_duration"] >= info["limits"]["min_action_duration"]
    assert info["limits"]["sequence_length"] == 50  # SLUICE_SEQUENCE_MAX_ACTIONS
    runtimes = info["runtimes"]
    node = runtimes["nodejs"]
    assert node, "Node.js runs the tests' own actions, so it is listed"
    for entry in (e for family in runtimes.values() for e in family):
        assert set(entry) == {"kind", "image", "deprecated", "default", "attached", "requireMain"}
        family = entry["kind"].partition(":")[0]
        assert entry in runtimes[family]
    # one default per family, and it is what `family:default` makes
    with server.client() as c:
        for family, entries in runtimes.items():
            defaults = [e["kind"] for e in entries if e["default"]]
            assert len(defaults) == 1, family
            made = c.put(
                server.ns_path(f"actions/default-of-{family}"),
                json={"exec": {"kind": f"{family}:default", "code": PY_MAIN}},
            )
            assert made.json()["exec"]["kind"] == defaults[0]
    # kinds of the other dialects and blackbox are not OpenWhisk runtimes
    kinds = {e["kind"] for family in runtimes.values() for e in family}
    assert not any(k.startswith("fn:") or k in ("blackbox", "process", "http") for k in kinds)


def test_aio_deploy_checks_a_python_kind_against_the_servers_runtimes(
    server: SluiceServer, tmp_path: Path
) -> None:
    """aio's deploy asks `GET /` about a kind it does not know itself (any Python one) and
    refuses it by the server's list: it no longer crashes on a missing `runtimes`."""
    project = tmp_path / "home"
    project.mkdir()
    (project / "hello.py").write_text(PY_MAIN)
    (project / "manifest.yml").write_text(
        "packages:\n"
        "  pyproj:\n"
        "    actions:\n"
        "      hello:\n"
        "        function: hello.py\n"
        "        runtime: python:3.11\n"
    )
    aio = AioCli(node_tools_dir(), server.url, server.namespace, server.auth, project)
    result = aio.run("rt:deploy", "-m", "manifest.yml")
    assert "Cannot read properties of undefined" not in result.stderr
    assert "Supported runtimes on" in result.stderr, result.stderr
    nodes = httpx.get(server.url + "/").json()["runtimes"]["nodejs"]
    for entry in nodes:
        assert entry["kind"] in result.stderr
