"""/system/functions: OpenFaaS's deploy API over actions, always behind the namespace's key."""

from __future__ import annotations

import shutil

import httpx
import pytest
from tests.dialects.openfaas.helpers import open_client
from tests.support.server import SluiceServer

WORDCOUNT = {
    "service": "wordcount",
    "image": "local/wordcount:1",
    "envProcess": "wc -w",
    "envVars": {"write_debug": "true", "exec_timeout": "90s"},
    "labels": {"team": "a"},
    "annotations": {"com.openfaas.queue": "slow"},
    "limits": {"memory": "256Mi"},
}


def test_create_get_update_delete(server: SluiceServer) -> None:
    with server.client() as client, open_client(server) as anyone:
        client.request("DELETE", "/system/functions", json={"functionName": "wordcount"})
        created = client.post("/system/functions", json=WORDCOUNT)
        assert created.status_code == 202, created.text
        got = client.get("/system/function/wordcount").json()
        assert got["name"] == "wordcount"
        assert got["image"] == "local/wordcount:1"
        assert got["envProcess"] == "wc -w"
        assert got["envVars"] == {"write_debug": "true", "exec_timeout": "90s"}
        assert got["labels"] == {"team": "a"}
        assert got["annotations"]["com.openfaas.queue"] == "slow"
        assert got["limits"]["memory"] == "256Mi"
        assert got["replicas"] == 1
        action = client.get("/api/v1/namespaces/_/actions/wordcount").json()
        assert action["limits"]["timeout"] == 90_000
        assert action["limits"]["memory"] == 256
        counted = anyone.post("/function/wordcount", content=b"one two three")
        assert counted.text.strip() == "3"

        again = client.post("/system/functions", json=WORDCOUNT)
        assert again.status_code == 409
        updated = client.put("/system/functions", json={**WORDCOUNT, "envProcess": "wc -c"})
        assert updated.status_code == 202, updated.text
        assert anyone.post("/function/wordcount", content=b"abcd").text.strip() == "4"

        listed = client.get("/system/functions").json()
        (entry,) = [f for f in listed if f["name"] == "wordcount"]
        assert entry["invocationCount"] == 2.0

        removed = client.request("DELETE", "/system/functions", json={"functionName": "wordcount"})
        assert removed.status_code == 202
        assert client.get("/system/function/wordcount").status_code == 404
        gone = client.post("/function/wordcount")
        unnamed = anyone.post("/function/wordcount")
    assert gone.status_code == 404
    assert unnamed.status_code == 401  # without the key no name is told


def test_an_image_alone_is_refused_clearly(server: SluiceServer) -> None:
    with server.client() as client:
        answer = client.post(
            "/system/functions", json={"service": "nginx", "image": "nginx:latest"}
        )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/plain")
    assert "without a container engine" in answer.text
    assert "envProcess" in answer.text


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"envProcess": "cat"}, "'service'"),
        ({"service": "Bad_Name", "envProcess": "cat"}, "DNS label"),
        ({"service": "ok", "envProcess": "cat", "envVars": {"a": 1}}, "'envVars'"),
        ({"service": "ok", "envProcess": "cat", "limits": {"memory": "lots"}}, "memory"),
        ({"service": "ok", "envProcess": "cat", "envVars": {"exec_timeout": "soon"}}, "30s"),
    ],
)
def test_bad_deployments_are_400(
    server: SluiceServer, spec: dict[str, object], message: str
) -> None:
    with server.client() as client:
        answer = client.post("/system/functions", json=spec)
    assert answer.status_code == 400
    assert message in answer.text


def test_a_function_may_run_up_to_three_hours(server: SluiceServer) -> None:
    spec = {"service": "of-long", "envProcess": "cat", "envVars": {"exec_timeout": "180m"}}
    with server.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": "of-long"})
        made = client.post("/system/functions", json=spec)
        assert made.status_code == 202, made.text
        action = client.get("/api/v1/namespaces/_/actions/of-long").json()
        assert action["limits"]["timeout"] == 180 * 60_000
        longer = {**spec, "envVars": {"exec_timeout": "3h1s"}}
        refused = client.put("/system/functions", json=longer)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/plain")
    assert "exceeds allowed threshold of 10800000 milliseconds" in refused.text


def test_unknown_functions_are_404(server: SluiceServer) -> None:
    spec = {"service": "of-never", "envProcess": "cat"}
    with server.client() as client:
        assert client.put("/system/functions", json=spec).status_code == 404
        gone = client.request("DELETE", "/system/functions", json={"functionName": "of-never"})
        assert gone.status_code == 404
        assert client.get("/system/function/of-never").status_code == 404


SOME_ID = "01a207fc-aa51-e464-487d-9fc5cdc3ddb8"
SYSTEM_ROUTES = [
    ("GET", "/system/functions"),
    ("POST", "/system/functions"),
    ("PUT", "/system/functions"),
    ("DELETE", "/system/functions"),
    ("GET", "/system/function/wordcount"),
    ("GET", "/system/info"),
    ("GET", "/system/dead-letters"),
    ("POST", f"/system/dead-letters/{SOME_ID}/redrive"),
    ("DELETE", f"/system/dead-letters/{SOME_ID}"),
    ("DELETE", "/system/queue/wordcount"),
]


def test_system_routes_need_the_key(server: SluiceServer) -> None:
    """Every /system route, while invoking stays open (the default)."""
    user, _, _ = server.auth.partition(":")
    wrong = httpx.BasicAuth(user, "not-the-secret")
    with open_client(server) as client:
        for method, path in SYSTEM_ROUTES:
            for auth in (None, wrong):
                answer = client.request(method, path, json=WORDCOUNT, auth=auth)
                assert answer.status_code == 401, (method, path, auth)
                assert answer.text == "invalid credentials\n"
                assert answer.headers["www-authenticate"] == 'Basic realm="Restricted"'
        assert client.get("/healthz").text == "OK"
    with server.client() as client:
        assert client.get("/system/info").json()["provider"]["provider"] == "sluice"


@pytest.mark.skipif(shutil.which("figlet") is None, reason="figlet is not installed")
def test_the_listing_shows_deployed_functions(server: SluiceServer) -> None:
    with server.client() as client:
        client.post("/system/functions", json={"service": "figlet", "envProcess": "figlet"})
        names = [f["name"] for f in client.get("/system/functions").json()]
    assert "figlet" in names
