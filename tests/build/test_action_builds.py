"""The deploy build serves OpenWhisk zip actions too, through the OpenWhisk REST API: a
python zip with requirements.txt, or a nodejs zip with package.json, gets its dependencies
installed once per content hash and the runner imports them; a failed build answers
OpenWhisk's error and leaves the previous version live."""

from __future__ import annotations

from typing import Any

import httpx
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

from sluice.runtime.bundle import namespace_dir

PY_MAIN = """import iso8601

def main(args):
    return {"year": iso8601.parse_date(args.get("when", "2017-10-03T22:31:01Z")).year,
            "mark": %r}
"""

NODE_MAIN = """const isNumber = require('is-number');
exports.main = (args) => ({ number: isNumber(args.value), mark: 'node' });
"""

REQUIREMENTS = "iso8601==0.1.12\n"
PACKAGE_JSON = '{"name": "owdeps", "version": "1.0.0", "dependencies": {"is-number": "7.0.0"}}\n'


def put(
    client: httpx.Client,
    server: SluiceServer,
    name: str,
    kind: str,
    files: dict[str, str],
    overwrite: bool = False,
) -> httpx.Response:
    body = {"exec": {"kind": kind, "code": zip_b64(files), "binary": True}}
    flag = "?overwrite=true" if overwrite else ""
    return client.put(server.ns_path(f"actions/{name}{flag}"), json=body, timeout=600)


def put_python(
    client: httpx.Client,
    server: SluiceServer,
    name: str,
    mark: str,
    requirements: str = REQUIREMENTS,
    overwrite: bool = False,
) -> httpx.Response:
    files = {"__main__.py": PY_MAIN % mark, "requirements.txt": requirements}
    return put(client, server, name, "python:3", files, overwrite)


def invoke(client: httpx.Client, server: SluiceServer, name: str, **params: Any) -> Any:
    answer = client.post(
        server.ns_path(f"actions/{name}?blocking=true&result=true"), json=params, timeout=120
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def envs(server: SluiceServer, family: str, namespace: str = "guest") -> dict[str, int]:
    """The environments built for `family` in `namespace`, each with its inode (unchanged =
    not rebuilt)."""
    root = namespace_dir(server.data_dir / "builds", namespace) / family
    if not root.is_dir():
        return {}
    return {p.name: p.stat().st_ino for p in root.iterdir() if not p.name.startswith(".")}


def test_python_zip_requirements_are_installed_cached_and_imported(server: SluiceServer) -> None:
    with server.client() as client:
        first = put_python(client, server, "owdeps-a", "a")
        assert first.status_code == 200, first.text
        assert invoke(client, server, "owdeps-a") == {"year": 2017, "mark": "a"}
        built = envs(server, "python")
        assert built
        second = put_python(client, server, "owdeps-b", "b")
        assert second.status_code == 200, second.text
        assert envs(server, "python") == built  # the same environment, not built again
        assert invoke(client, server, "owdeps-b", when="1999-01-01T00:00:00Z") == {
            "year": 1999,
            "mark": "b",
        }


def test_a_failed_build_is_an_openwhisk_error_and_keeps_the_old_version(
    server: SluiceServer,
) -> None:
    with server.client() as client:
        good = put_python(client, server, "owdeps-keep", "old")
        assert good.status_code == 200, good.text
        version = good.json()["version"]
        missing = "this-package-does-not-exist-x==9\n"
        bad = put_python(client, server, "owdeps-keep", "new", missing, overwrite=True)
        assert bad.status_code == 400, bad.text
        error = bad.json()
        assert set(error) == {"error", "code"}
        assert error["error"].startswith("Build failed: pip install exited with status 1")
        assert "--- build log ---" in error["error"]
        assert "this-package-does-not-exist-x" in error["error"]
        kept = client.get(server.ns_path("actions/owdeps-keep")).json()
        assert kept["version"] == version
        assert invoke(client, server, "owdeps-keep") == {"year": 2017, "mark": "old"}


def test_nodejs_zip_package_json_is_installed_and_required(server: SluiceServer) -> None:
    files = {"index.js": NODE_MAIN, "package.json": PACKAGE_JSON}
    with server.client() as client:
        created = put(client, server, "owdeps-node", "nodejs:20", files)
        assert created.status_code == 200, created.text
        assert invoke(client, server, "owdeps-node", value=5) == {"number": True, "mark": "node"}
        built = envs(server, "node")
        assert built
        again = put(client, server, "owdeps-node", "nodejs:20", files, overwrite=True)
        assert again.status_code == 200, again.text
        assert envs(server, "node") == built
        assert invoke(client, server, "owdeps-node", value="x") == {"number": False, "mark": "node"}


def test_zips_without_dependency_files_are_stored_as_sent(server: SluiceServer) -> None:
    code = zip_b64({"__main__.py": "def main(args):\n    return {'ok': True}\n"})
    with server.client() as client:
        body = {"exec": {"kind": "python:3", "code": code, "binary": True}}
        created = client.put(server.ns_path("actions/owdeps-plain"), json=body)
        assert created.status_code == 200, created.text
        assert client.get(server.ns_path("actions/owdeps-plain")).json()["exec"]["code"] == code
