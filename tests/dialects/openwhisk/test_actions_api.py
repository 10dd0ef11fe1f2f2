"""The actions REST API against a real server: records, merge on update, lists, errors."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Callable

from tests.support.ow_client import ow_call
from tests.support.server import SluiceServer, put_action

INDEX = "exports.main = () => ({zipped: true})"
HELLO = "function main(p) { return {payload: 'Hello ' + (p.name || 'world')} }"


def test_create_get_update_list_delete(server: SluiceServer) -> None:
    with server.client() as c:
        body = {"exec": {"kind": "nodejs:default", "code": HELLO}, "limits": {"timeout": 120000}}
        created = c.put(server.ns_path("actions/crud-hello"), json=body)
        assert created.status_code == 200, created.text
        record = created.json()
        assert record["namespace"] == "guest"
        assert record["name"] == "crud-hello"
        assert record["version"] == "0.0.1"
        assert record["exec"] == {"kind": "nodejs:20", "code": HELLO, "binary": False}
        assert record["limits"] == {"timeout": 120000, "memory": 256, "logs": 10, "concurrency": 1}
        assert {"key": "exec", "value": "nodejs:20"} in record["annotations"]

        again = c.put(server.ns_path("actions/crud-hello"), json=body)
        assert again.status_code == 409
        assert again.json()["error"] == "resource already exists"
        assert len(again.json()["code"]) == 32

        # update merges: exec and limits.timeout kept, memory changed, version bumped
        updated = c.put(
            server.ns_path("actions/crud-hello?overwrite=true"), json={"limits": {"memory": 512}}
        ).json()
        assert updated["version"] == "0.0.2"
        assert updated["exec"]["code"] == HELLO
        assert updated["limits"]["timeout"] == 120000
        assert updated["limits"]["memory"] == 512

        got = c.get(server.ns_path("actions/crud-hello?code=false")).json()
        assert "code" not in got["exec"]
        assert c.get(server.ns_path("actions/crud-hello")).json()["exec"]["code"] == HELLO

        listed = c.get(server.ns_path("actions")).json()
        item = next(a for a in listed if a["name"] == "crud-hello")
        assert item["exec"] == {"binary": False}
        assert {"namespace", "version", "publish", "annotations", "limits", "updated"} <= set(item)
        count = c.get(server.ns_path("actions?count=true")).json()
        assert count["actions"] == len(c.get(server.ns_path("actions?limit=200")).json())

        deleted = c.delete(server.ns_path("actions/crud-hello"))
        assert deleted.status_code == 200
        assert deleted.json()["name"] == "crud-hello"
        assert c.get(server.ns_path("actions/crud-hello")).status_code == 404


def test_zip_code_is_detected_as_binary(server: SluiceServer) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("__main__.py", "def main(args):\n    return {'ok': True}\n")
    code = base64.b64encode(buf.getvalue()).decode()
    with server.client() as c:
        record = put_action(c, "zipped", code, kind="python:3").json()
        assert record["exec"]["binary"] is True
        assert record["exec"]["kind"] == "python:3.11"


def test_limits_are_checked_with_openwhisk_messages(server: SluiceServer) -> None:
    with server.client() as c:
        too_long = put_action(c, "limits", HELLO, limits={"timeout": 10_800_001})
        assert too_long.status_code == 400
        assert too_long.json()["error"] == (
            "timeout 10800001 milliseconds exceeds allowed threshold of 10800000 milliseconds"
        )
        assert put_action(c, "limits", HELLO, limits={"timeout": 10_800_000}).status_code == 200
        too_small = put_action(c, "limits", HELLO, limits={"memory": 64})
        assert too_small.status_code == 400
        assert "memory 64 MB below allowed threshold of 128 MB" in too_small.json()["error"]
        assert put_action(c, "limits", HELLO, limits={"timeout": "soon"}).status_code == 400


def test_concurrency_limit_is_checked_with_openwhisk_messages(server: SluiceServer) -> None:
    with server.client() as c:
        for value, message in (
            (0, "concurrency 0 below allowed threshold of 1"),
            (501, "concurrency 501 exceeds allowed threshold of 500"),
            (2.5, "concurrency limit must be whole number"),
            ("ten", "concurrency limit malformed"),
            (True, "concurrency limit malformed"),
        ):
            bad = put_action(c, "conc", HELLO, limits={"concurrency": value})
            assert bad.status_code == 400, value
            assert bad.json()["error"] == message
            assert "code" in bad.json()
        assert c.get(server.ns_path("actions/conc")).status_code == 404
        made = put_action(c, "conc", HELLO, limits={"concurrency": 500.0})
        assert made.status_code == 200
        assert made.json()["limits"]["concurrency"] == 500


def test_the_largest_concurrency_is_a_setting(new_server: Callable[..., SluiceServer]) -> None:
    srv = new_server(SLUICE_CONCURRENCY_MAX="8").start()
    with srv.client() as c:
        bad = put_action(c, "conc", HELLO, limits={"concurrency": 9})
        assert bad.status_code == 400
        assert bad.json()["error"] == "concurrency 9 exceeds allowed threshold of 8"
        assert put_action(c, "conc", HELLO, limits={"concurrency": 8}).status_code == 200


def test_list_paging(server: SluiceServer) -> None:
    with server.client() as c:
        for i in range(3):
            assert put_action(c, f"page-{i}", HELLO).status_code == 200
        first = c.get(server.ns_path("actions?limit=2")).json()
        second = c.get(server.ns_path("actions?limit=2&skip=2")).json()
        assert len(first) == 2
        assert {a["name"] for a in first}.isdisjoint({a["name"] for a in second})
        assert c.get(server.ns_path("actions?limit=201")).status_code == 400


def test_empty_code_is_stored_and_fails_when_run(server: SluiceServer) -> None:
    """Upstream takes `exec.code: ""`: the action is made; a call of it ends as the
    developer's error, not the platform's."""
    created = ow_call(
        "return ow.actions.create("
        "{name: 'empty-code', action: {exec: {kind: 'nodejs:default', code: ''}}})",
        apihost=server.url,
        api_key=server.auth,
        namespace="_",
    )
    assert created.ok, created.error
    assert created.value["exec"]["code"] == ""
    with server.client() as c:
        ran = c.post(server.ns_path("actions/empty-code?blocking=true"))
        assert ran.status_code == 502
        assert ran.json()["response"]["status"] == "action developer error"
        # a blackbox still needs its zip, and the code must be a string
        for exec_ in ({"kind": "blackbox", "code": ""}, {"kind": "nodejs:default", "code": 7}):
            refused = c.put(server.ns_path("actions/empty-bad"), json={"exec": exec_})
            assert refused.status_code == 400
            assert set(refused.json()) == {"error", "code"}


def test_a_zip_of_owner_only_files_runs(server: SluiceServer) -> None:
    """Python's zipfile writes owner-only files by default and JSZip no modes at all: the
    function's (other) user still reads its code, as the client's own suite needs."""
    for name, mode in (("zip-owner-only", 0o600), ("zip-no-modes", 0)):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for path, text in (("package.json", '{"main": "index.js"}'), ("index.js", INDEX)):
                info = zipfile.ZipInfo(path)
                info.external_attr = mode << 16
                z.writestr(info, text)
        code = base64.b64encode(buf.getvalue()).decode()
        with server.client() as c:
            assert put_action(c, name, code).status_code == 200
            ran = c.post(server.ns_path(f"actions/{name}?blocking=true&result=true"), json={})
            assert ran.status_code == 200, ran.text
            assert ran.json() == {"zipped": True}
