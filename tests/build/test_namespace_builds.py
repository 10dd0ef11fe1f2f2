"""Builds are per namespace: two namespaces asking for the same dependencies each get an
environment of their own, and a function (in the bubblewrap sandbox the server picks) sees
its own code's environments and nothing else of the builds dir: not another namespace's
environments, not the Go binaries compiled for Fn functions. A build of the old layout,
shared by all namespaces, becomes the deploying namespace's own."""

from __future__ import annotations

import os
import sys
from typing import Any

import httpx
from tests.build.test_action_builds import REQUIREMENTS, envs
from tests.build.test_builds import GO_HELLO, needs_go
from tests.build.test_builds import put as put_route
from tests.dialects.fn.helpers import fn_client
from tests.runtime.helpers import zip_b64
from tests.support.bwrap import needs_bwrap
from tests.support.server import SluiceServer

from sluice.build.cache import digest
from sluice.runtime.bundle import PYTHON, env_dir, legacy_env_dir, namespace_dir

#: imports its environment and reports what it can see of the paths it is given
LOOK_PY = """import os
import iso8601

def look(path):
    try:
        if os.path.isdir(path):
            return sorted(os.listdir(path))
        with open(path, "rb") as f:
            return len(f.read())
    except OSError as exc:
        return type(exc).__name__

def main(args):
    return {"module": iso8601.__file__,
            "seen": {name: look(path) for name, path in args.get("paths", {}).items()}}
"""


def deploy(
    client: httpx.Client,
    namespace: str,
    name: str,
    main: str = LOOK_PY,
    requirements: str = REQUIREMENTS,
) -> None:
    files = {"__main__.py": main, "requirements.txt": requirements}
    body = {"exec": {"kind": "python:3", "code": zip_b64(files), "binary": True}}
    answer = client.put(
        f"/api/v1/namespaces/{namespace}/actions/{name}?overwrite=true", json=body, timeout=600
    )
    assert answer.status_code == 200, answer.text


def look(client: httpx.Client, namespace: str, name: str, **paths: str) -> dict[str, Any]:
    answer = client.post(
        f"/api/v1/namespaces/{namespace}/actions/{name}?blocking=true&result=true",
        json={"paths": paths},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@needs_bwrap
def test_each_namespace_gets_its_own_environment_and_sees_no_other(server: SluiceServer) -> None:
    other = f"builds-{os.urandom(4).hex()}"
    builds = server.data_dir / "builds"
    with server.client() as mine, server.client(server.admin("namespace", "create", other)) as b:
        deploy(mine, "guest", "look-a")
        deploy(b, other, "look-b")
        own, theirs = envs(server, "python"), envs(server, "python", other)
        # the same requirements, the same content hash: built once for each namespace
        assert set(theirs) & set(own)
        digest = next(iter(set(theirs) & set(own)))
        assert theirs[digest] != own[digest]
        guest_env = namespace_dir(builds, "guest") / "python" / digest
        their_env = namespace_dir(builds, other) / "python" / digest
        seen = look(
            b,
            other,
            "look-b",
            root=str(builds),
            guest=str(namespace_dir(builds, "guest")),
            guest_env=str(guest_env),
            guest_module=str(guest_env / "iso8601" / "__init__.py"),
        )
        assert seen["module"].startswith(str(their_env) + "/")
        assert seen["seen"] == {
            # the way down to its own environment, and nothing beside it
            "root": [namespace_dir(builds, other).name],
            "guest": "FileNotFoundError",
            "guest_env": "FileNotFoundError",
            "guest_module": "FileNotFoundError",
        }
        # the owner's side is the same, the other way round
        mine_seen = look(mine, "guest", "look-a", theirs=str(their_env))
        assert mine_seen["module"].startswith(str(guest_env) + "/")
        assert mine_seen["seen"] == {"theirs": "FileNotFoundError"}


@needs_bwrap
@needs_go
def test_a_go_binary_built_for_a_function_is_out_of_other_functions_reach(
    server: SluiceServer,
) -> None:
    marker = os.urandom(6).hex()
    with fn_client(server) as fn:
        route = put_route(
            fn, "gohidden", "/hello", {"func.go": GO_HELLO % (marker, marker)}, runtime="go"
        )
        assert route.status_code == 200, route.text
        (step,) = route.json()["route"]["build"]["steps"]
    binary = namespace_dir(server.data_dir / "builds", "guest") / "go" / step["key"] / "func"
    assert binary.is_file()
    other = f"gocurious-{os.urandom(4).hex()}"
    with server.client(server.admin("namespace", "create", other)) as b:
        deploy(b, other, "look")
        seen = look(b, other, "look", binary=str(binary), go=str(binary.parent.parent))
    assert seen["seen"] == {"binary": "FileNotFoundError", "go": "FileNotFoundError"}


def test_an_environment_of_the_old_shared_layout_is_adopted_at_deploy(
    server: SluiceServer,
) -> None:
    # a requirement no index has: the deploy succeeds only by finding the environment built
    requirements = f"sluice-only-built-long-ago-{os.urandom(4).hex()}==1.0\n"
    # as the server's builds key it (the server runs this same interpreter)
    key = digest(PYTHON, sys.version, requirements.encode())
    builds = server.data_dir / "builds"
    legacy = legacy_env_dir(builds, PYTHON, key)
    legacy.mkdir(parents=True)
    (legacy / "oldmod.py").write_text("MARK = 'built before namespaces'\n")
    main = "import oldmod\n\ndef main(args):\n    return {'mark': oldmod.MARK}\n"
    with server.client() as client:
        deploy(client, "guest", "old-env", main, requirements)
        assert look(client, "guest", "old-env") == {"mark": "built before namespaces"}
    adopted = env_dir(builds, "guest", PYTHON, key) / "oldmod.py"
    assert adopted.stat().st_ino == (legacy / "oldmod.py").stat().st_ino
