"""Builds at deploy through the Fn API: Go compiled with the local toolchain, Python
requirements installed into an environment shared by content hash; a redeploy of unchanged
code is a cache hit, a failed build leaves the previous version live."""

from __future__ import annotations

import os
import shutil

import httpx
import pytest
from tests.dialects.fn.helpers import fn_client, wait_call
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

GO_HELLO = """package main

import "fmt"

// %s
func main() { fmt.Println(`{"built":"%s"}`) }
"""

needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="the Go toolchain is missing")


def put(
    client: httpx.Client, app: str, path: str, files: dict[str, str], **fields: object
) -> httpx.Response:
    route = {"path": path, "code": zip_b64(files), **fields}
    return client.put(f"/v1/apps/{app}/routes{path}", json={"route": route})


@needs_go
def test_go_is_built_once_per_source(server: SluiceServer) -> None:
    marker = os.urandom(6).hex()
    files = {"func.go": GO_HELLO % (marker, marker)}
    with fn_client(server) as client:
        first = put(client, "gobuild", "/hello", files, runtime="go")
        assert first.status_code == 200, first.text
        assert first.json()["route"]["build"]["cached"] is False
        assert client.post("/r/gobuild/hello").json() == {"built": marker}
        again = put(client, "gobuild", "/hello", files, runtime="go")
        assert again.json()["route"]["build"]["cached"] is True
        assert client.post("/r/gobuild/hello").json() == {"built": marker}


@needs_go
def test_a_failed_build_keeps_the_previous_version_live(server: SluiceServer) -> None:
    marker = os.urandom(6).hex()
    with fn_client(server) as client:
        good = put(client, "gofail", "/fn", {"func.go": GO_HELLO % (marker, marker)}, runtime="go")
        version = good.json()["route"]["version"]
        broken = put(
            client, "gofail", "/fn", {"func.go": "package main\nfunc main() {"}, runtime="go"
        )
        assert broken.status_code == 400
        message = broken.json()["error"]["message"]
        assert message.startswith("Build failed: go build exited with status 2")
        assert "--- build log ---" in message
        assert "func.go:2" in message  # the compiler's own words
        assert client.get("/v1/apps/gofail/routes/fn").json()["route"]["version"] == version
        assert client.post("/r/gofail/fn").json() == {"built": marker}


@needs_go
def test_go_imports_outside_the_standard_library_fail_clearly(server: SluiceServer) -> None:
    source = 'package main\nimport "github.com/x/y"\nfunc main() { y.Z() }\n'
    with fn_client(server) as client:
        answer = put(client, "gofail", "/imports", {"func.go": source}, runtime="go")
        assert answer.status_code == 400
        assert "github.com/x/y" in answer.json()["error"]["message"]


def test_python_requirements_are_installed_once_and_shared(server: SluiceServer) -> None:
    source = (
        "import iso8601, json\n"
        "print(json.dumps({'year': iso8601.parse_date('2017-10-03T22:31:01Z').year}))\n"
    )
    files = {"func.py": source, "requirements.txt": "iso8601==0.1.12\n"}
    with fn_client(server) as client:
        first = put(client, "pydeps", "/one", files, runtime="python", type="async")
        assert first.status_code == 200, first.text
        second = put(client, "pydeps", "/two", files, runtime="python")
        steps = second.json()["route"]["build"]["steps"]
        assert [(s["name"], s["cached"]) for s in steps] == [("pip install", True)]
        assert steps[0]["key"] == first.json()["route"]["build"]["steps"][0]["key"]
        assert client.post("/r/pydeps/two").json() == {"year": 2017}
        call_id = client.post("/r/pydeps/one").json()["call_id"]
        assert wait_call(client, "pydeps", call_id)["status"] == "success"


def test_a_bad_requirement_fails_the_build_with_pip_s_words(server: SluiceServer) -> None:
    files = {"func.py": "print(1)\n", "requirements.txt": "this-package-does-not-exist-x==9\n"}
    with fn_client(server) as client:
        answer = put(client, "pydeps", "/bad", files, runtime="python")
        assert answer.status_code == 400
        message = answer.json()["error"]["message"]
        assert message.startswith("Build failed: pip install exited with status 1")
        assert "this-package-does-not-exist-x" in message
        assert client.get("/v1/apps/pydeps/routes/bad").status_code == 404
