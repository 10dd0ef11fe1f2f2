"""The rest of the gateway's /system API: logs (with follow), namespaces, scale-function
(replicas as the warm processes kept), alert, memory quantities as faas-netes takes them,
/healthz."""

from __future__ import annotations

import json
import secrets as random
import threading
from typing import Any

import httpx
import pytest
from tests.dialects.openfaas.helpers import make_function, open_client
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer, wait_for

LOG_SH = """#!/bin/sh
echo "log line $(cat)" >&2
echo done
"""

NODE_JS = "function main(args) { return {pid: process.pid}; }"


def _deploy(client: httpx.Client, spec: dict[str, Any]) -> None:
    client.request("DELETE", "/system/functions", json={"functionName": spec["service"]})
    made = client.post("/system/functions", json=spec)
    assert made.status_code == 202, made.text


def _ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


@pytest.fixture(scope="module")
def logger(server: SluiceServer) -> str:
    spec = {
        "service": "of-logger",
        "envProcess": "sh log.sh",
        "envVars": {"combine_output": "false"},
        "code": zip_b64({"log.sh": LOG_SH}),
    }
    with server.client() as client, open_client(server) as anyone:
        _deploy(client, spec)
        for word in ("one", "two"):
            assert anyone.post("/function/of-logger", content=word.encode()).text == "done\n"
    return "of-logger"


def test_logs_are_the_calls_log_lines(server: SluiceServer, logger: str) -> None:
    with server.client() as client:
        answer = client.get("/system/logs", params={"name": logger})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/x-ndjson"
        found = _ndjson(answer.text)
        # each call's line, and the watchdog's line after it
        texts = [item["text"] for item in found]
        assert texts[-4::2] == ["log line one", "log line two"]
        assert texts[-1].startswith("Wrote 5 Bytes - Duration: ")
        last = found[-1]
        assert set(last) == {"name", "namespace", "instance", "timestamp", "text"}
        assert last["name"] == logger
        assert last["namespace"] == server.namespace
        tailed = _ndjson(client.get("/system/logs", params={"name": logger, "tail": 2}).text)
        assert [item["text"] for item in tailed] == texts[-2:]
        one = client.get("/system/logs", params={"name": logger, "instance": found[0]["instance"]})
        assert [item["text"] for item in _ndjson(one.text)] == texts[:2]
        later = client.get("/system/logs", params={"name": logger, "since": "2999-01-01T00:00:00Z"})
        assert later.status_code == 200
        assert later.text == ""
        assert client.get("/system/logs", params={"name": logger, "tail": "x"}).status_code == 422
        bad_since = client.get("/system/logs", params={"name": logger, "since": "yesterday"})
        assert bad_since.status_code == 422
        assert client.get("/system/logs", params={"name": "of-never"}).status_code == 404
    with open_client(server) as anyone:
        assert anyone.get("/system/logs", params={"name": logger}).status_code == 401


def test_follow_streams_the_lines_of_calls_as_they_end(server: SluiceServer, logger: str) -> None:
    word = random.token_hex(4)
    got: list[dict[str, Any]] = []

    def read() -> None:
        with (
            server.client() as client,
            client.stream(
                "GET", "/system/logs", params={"name": logger, "follow": "true", "tail": 2}
            ) as stream,
        ):
            assert stream.status_code == 200
            for line in stream.iter_lines():
                if line:
                    got.append(json.loads(line))
                if len(got) == 4:  # the tail's two lines, then the new call's two
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: got or None, 30, "the tail line before the new call")
    with open_client(server) as anyone:
        assert anyone.post("/function/of-logger", content=word.encode()).status_code == 200
    reader.join(timeout=30)
    assert not reader.is_alive(), got
    assert got[0]["text"] == "log line two"
    assert [item["text"] for item in got[2:3]] == [f"log line {word}"]


def test_namespaces(server: SluiceServer) -> None:
    with server.client() as client:
        answer = client.get("/system/namespaces")
    assert answer.status_code == 200
    assert answer.json() == [server.namespace]


def _status(client: httpx.Client, name: str) -> dict[str, Any]:
    answer = client.get(f"/system/function/{name}")
    assert answer.status_code == 200, answer.text
    status: dict[str, Any] = answer.json()
    return status


def _pid(anyone: httpx.Client, name: str) -> int:
    answer = anyone.post(f"/function/{name}")
    assert answer.status_code == 200, answer.text
    pid: int = answer.json()["pid"]
    return pid


def test_scale_sets_the_warm_processes_kept(server: SluiceServer) -> None:
    make_function(server, "of-scaled", NODE_JS)
    with server.client() as client, open_client(server) as anyone:
        client.post("/system/scale-function/of-scaled", json={"replicas": 1})
        fresh = _status(client, "of-scaled")
        assert (fresh["replicas"], fresh["availableReplicas"]) == (1, 1)
        first = _pid(anyone, "of-scaled")
        assert _pid(anyone, "of-scaled") == first  # kept warm

        zero = client.post(
            "/system/scale-function/of-scaled",
            json={"serviceName": "of-scaled", "replicas": 0, "namespace": ""},
        )
        assert zero.status_code == 202, zero.text
        status = _status(client, "of-scaled")
        # zero values are left out, as Go's omitempty does
        assert "replicas" not in status
        assert "availableReplicas" not in status
        _pid(anyone, "of-scaled")
        assert "availableReplicas" not in _status(client, "of-scaled")  # none kept

        two = client.post("/system/scale-function/of-scaled", json={"replicas": 2})
        assert two.status_code == 202
        _pid(anyone, "of-scaled")
        status = _status(client, "of-scaled")
        assert status["replicas"] == 2
        assert status["availableReplicas"] == 1  # one call so far: one warm process
        listed = {f["name"]: f for f in client.get("/system/functions").json()}
        assert listed["of-scaled"]["replicas"] == 2

        # scaling makes a new version: its first process stops the old version's kept one
        client.post("/system/scale-function/of-scaled", json={"replicas": 3})
        _pid(anyone, "of-scaled")
        assert _status(client, "of-scaled")["availableReplicas"] == 1

        missing = client.post("/system/scale-function/of-never", json={"replicas": 1})
        assert missing.status_code == 404
        for body in (b"{oops", b'{"replicas": -1}', b'{"replicas": "two"}'):
            bad = client.post("/system/scale-function/of-scaled", content=body)
            assert bad.status_code == 400, body
            assert bad.text == "Cannot parse request. Please pass valid JSON.\n"
        other = client.post(
            "/system/scale-function/of-scaled", params={"namespace": "x"}, json={"replicas": 1}
        )
        assert other.status_code == 400


def test_an_alert_scales_as_the_gateway_does(server: SluiceServer) -> None:
    spec = {"service": "of-alerted", "envProcess": "cat", "labels": {"com.openfaas.scale.max": "3"}}

    def alert(status: str, name: str = "of-alerted") -> httpx.Response:
        body = {
            "receiver": "scale-up",
            "status": status,
            "alerts": [{"status": status, "labels": {"alertname": "x", "function_name": name}}],
        }
        with server.client() as client:
            return client.post("/system/alert", json=body)

    with server.client() as client:
        _deploy(client, spec)
        assert alert("firing").status_code == 200
        assert _status(client, "of-alerted")["replicas"] == 2  # 1 + ceil(3 / 100 * 10)
        alert("firing")
        alert("firing")
        assert _status(client, "of-alerted")["replicas"] == 3  # its maximum
        alert("resolved")
        assert _status(client, "of-alerted")["replicas"] == 1  # its minimum
        assert alert("firing", name="of-never").status_code == 200  # skipped, as upstream
        assert client.post("/system/alert", content=b"not json").status_code == 400


@pytest.mark.parametrize(
    ("quantity", "limit_mb"),
    [("128M", 128), ("64Mi", 128), ("256Mi", 256), ("1G", 954), ("1Gi", 1024)],
)
def test_memory_quantities_as_kubernetes_takes_them(
    server: SluiceServer, quantity: str, limit_mb: int
) -> None:
    """No 128 MiB minimum: a smaller limit is taken (and the process gets the server's
    least, 128 MB); the quantity reads back as it was given."""
    spec = {"service": "of-memory", "envProcess": "cat", "limits": {"memory": quantity}}
    with server.client() as client:
        _deploy(client, spec)
        assert _status(client, "of-memory")["limits"]["memory"] == quantity
        action = client.get("/api/v1/namespaces/_/actions/of-memory").json()
    assert action["limits"]["memory"] == limit_mb


def test_healthz_answers_get_and_head(server: SluiceServer) -> None:
    with open_client(server) as anyone:
        assert anyone.get("/healthz").text == "OK"
        head = anyone.head("/healthz")
    assert head.status_code == 200


def test_what_upstream_refuses_is_refused_the_same_way(server: SluiceServer) -> None:
    """Names no gateway route matches are 404; another namespace is a 400; an alert Go
    cannot decode is a 400 (each as faas-netes and the gateway answer)."""
    with server.client() as client:
        for path in ("/system/function/b%C3%A4d", "/function/b%C3%A4d", "/async-function/b%C3%A4d"):
            assert client.post(path).status_code in (404, 405), path
        assert client.get("/system/function/b%C3%A4d").status_code == 404
        assert client.get("/system/logs", params={"name": "bäd"}).status_code == 404
        spec = {"service": "of-elsewhere", "envProcess": "cat", "namespace": "openfaas-fn"}
        elsewhere = client.post("/system/functions", json=spec)
        assert elsewhere.status_code == 400
        assert elsewhere.text == f"namespace must be: {server.namespace}\n"
        listed = client.get("/system/functions", params={"namespace": "openfaas-fn"})
        assert listed.status_code == 400
        for alert in (
            {"status": "firing", "alerts": [{"status": "firing", "labels": {"function_name": {}}}]},
            {"status": 1, "alerts": []},
            {"status": "firing", "alerts": "none"},
        ):
            answer = client.post("/system/alert", json=alert)
            assert answer.status_code == 400, alert
            assert answer.text == "Unable to parse alert, bad format.\n"
