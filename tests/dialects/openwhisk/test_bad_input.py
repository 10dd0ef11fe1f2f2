"""Bad input of every kind gets a 4xx in OpenWhisk's shape, never a 500 or a half record."""

from __future__ import annotations

import httpx
import pytest
from tests.support.server import SluiceServer, put_action

HELLO = "function main() { return {} }"


def _is_ow_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str)
    assert body["error"]
    assert isinstance(body["code"], str)
    assert len(body["code"]) == 32


def test_malformed_json(server: SluiceServer) -> None:
    with server.client() as c:
        r = c.put(
            server.ns_path("actions/broken"),
            content=b'{"exec": {',
            headers={"content-type": "application/json"},
        )
        _is_ow_error(r, 400)
        assert c.get(server.ns_path("actions/broken")).status_code == 404
        _is_ow_error(c.put(server.ns_path("actions/broken"), content=b"[1, 2]"), 400)


def test_unknown_kind_and_missing_exec(server: SluiceServer) -> None:
    with server.client() as c:
        r = put_action(c, "weird", HELLO, kind="cobol:85")
        _is_ow_error(r, 400)
        assert "cobol:85" in r.json()["error"]
        _is_ow_error(c.put(server.ns_path("actions/noexec"), json={"limits": {}}), 400)
        _is_ow_error(
            c.put(server.ns_path("actions/nocode"), json={"exec": {"kind": "python:3"}}), 400
        )


@pytest.mark.parametrize("name", ["-starts-with-dash", "has space at end ", "a" * 257, "x%2Fy%2Fz"])
def test_bad_names(server: SluiceServer, name: str) -> None:
    with server.client() as c:
        _is_ow_error(put_action(c, name, HELLO), 400)


def test_oversized_bodies(server: SluiceServer) -> None:
    with server.client() as c:
        assert put_action(c, "big-params", HELLO).status_code == 200
        big = {"blob": "x" * 1_100_000}
        _is_ow_error(c.post(server.ns_path("actions/big-params"), json=big), 413)


def test_wrong_auth(server: SluiceServer) -> None:
    anonymous = httpx.get(server.url + server.ns_path("actions"))
    _is_ow_error(anonymous, 401)
    fake = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:" + "x" * 64
    with server.client(auth=fake) as c:
        _is_ow_error(c.get(server.ns_path("actions")), 401)
    with server.client() as c:
        r = c.get(server.ns_path("actions"), headers={"Authorization": "Basic !!!"})
        _is_ow_error(r, 401)


def test_unknown_routes_and_methods(server: SluiceServer) -> None:
    with server.client() as c:
        _is_ow_error(c.get("/api/v1/nothing/here"), 404)
        not_allowed = c.patch(server.ns_path("actions/x"))
        _is_ow_error(not_allowed, 405)
        allowed = sorted(not_allowed.headers["allow"].split(", "))
        assert allowed == ["DELETE", "GET", "HEAD", "POST", "PUT"]
        _is_ow_error(c.get(server.ns_path("activations/abc")), 400)
        assert (
            "length is 3 but must be 32" in c.get(server.ns_path("activations/abc")).json()["error"]
        )
        _is_ow_error(c.get(server.ns_path("activations/" + "0" * 32)), 404)
        _is_ow_error(c.get(server.ns_path("actions?limit=abc")), 400)
