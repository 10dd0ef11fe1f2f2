"""The `process` kind (OpenFaaS's classic watchdog): figlet and friends as functions, with
stdin, stdout, Http_* variables, exit statuses and limits."""

from __future__ import annotations

import shutil

import pytest
from tests.dialects.openfaas.helpers import OPENFAAS_ANNOTATION, open_client, wait_status
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

ENV_SH = """#!/bin/sh
echo "method=$Http_Method path=$Http_Path query=$Http_Query"
echo "type=$Http_Content_Type tenant=$Http_X_Tenant call=$Http_X_Call_Id"
echo "length=$Http_Content_Length"
cat
"""


def process(
    server: SluiceServer, name: str, code: str, main: str | None = None, **fields: object
) -> None:
    """A process function: `code` is the command, or a zip of files run with `main`;
    annotated as an OpenFaaS function."""
    body = {
        "exec": {"kind": "process", "code": code, **({"main": main} if main else {})},
        "annotations": [OPENFAAS_ANNOTATION],
    }
    with server.client() as client:
        made = client.put(f"/api/v1/namespaces/_/actions/{name}?overwrite=true", json=body | fields)
    assert made.status_code == 200, made.text


@pytest.mark.skipif(shutil.which("figlet") is None, reason="figlet is not installed")
def test_figlet_is_a_function(server: SluiceServer) -> None:
    process(server, "figlet", "figlet")
    with open_client(server) as client:
        # as `curl --data Hi` sends it
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = client.post("/function/figlet", content=b"Hi", headers=form)
    assert answer.status_code == 200, answer.text
    assert answer.text == " _   _ _ \n| | | (_)\n| |_| | |\n|  _  | |\n|_| |_|_|\n         \n"
    assert answer.headers["content-type"] == "application/x-www-form-urlencoded"


def test_the_request_reaches_the_process(server: SluiceServer) -> None:
    code = zip_b64({"env.sh": ENV_SH})
    process(server, "envdump", code, main="sh env.sh")
    with open_client(server) as client:
        answer = client.patch(
            "/function/envdump/items/3?x=1",
            content=b"body text",
            headers={"Content-Type": "text/plain", "X-Tenant": "a"},
        )
    assert answer.status_code == 200, answer.text
    lines = answer.text.splitlines()
    assert lines[0] == "method=PATCH path=/items/3 query=x=1"
    assert lines[1] == f"type=text/plain tenant=a call={answer.headers['x-call-id']}"
    assert lines[2] == "length=9"
    assert lines[3] == "body text"


def test_every_method_reaches_the_process(server: SluiceServer) -> None:
    process(server, "envdump", zip_b64({"env.sh": ENV_SH}), main="sh env.sh")
    route = "/envdump/a/b.txt?x=1&y=two%20words"
    with server.client() as client:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            answer = client.request(method, "/function" + route)
            assert answer.status_code == 200, (method, answer.text)
            first = answer.text.splitlines()[0]
            assert first == f"method={method} path=/a/b.txt query=x=1&y=two%20words"
        head = client.head("/function" + route)
        accepted = {
            method: client.request(method, "/async-function" + route).headers["x-call-id"]
            for method in ("GET", "DELETE", "PUT")
        }
        ran = {method: wait_status(client, i)["body"] for method, i in accepted.items()}
    assert head.status_code == 200
    assert head.content == b""
    for method, body in ran.items():
        assert body.startswith(f"method={method} path=/a/b.txt query=x=1&y=two%20words\n")


def test_a_failing_command_answers_500_with_its_exit_status(server: SluiceServer) -> None:
    process(server, "cat-missing", "cat /no/such/file")
    with server.client() as client:
        answer = client.post("/function/cat-missing")
        assert answer.status_code == 500
        assert answer.text.startswith("exit status 1\ncat: /no/such/file")
        accepted = client.post("/async-function/cat-missing")
        status = wait_status(client, accepted.headers["x-call-id"])
    assert status["status"] == "application_error"
    assert status["functionStatus"] == 500


def test_content_type_and_combine_output_from_env_vars(server: SluiceServer) -> None:
    params = [
        {"key": "content_type", "value": "application/json", "init": True},
        {"key": "combine_output", "value": "false", "init": True},
    ]
    code = zip_b64({"run.sh": "echo '{\"ok\": true}'; echo oops >&2\n"})
    process(server, "json-fn", code, main="sh run.sh", parameters=params)
    with open_client(server) as client:
        answer = client.post("/function/json-fn")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"ok": True}


def test_a_process_past_its_time_is_killed(server: SluiceServer) -> None:
    process(server, "sleepy", "sleep 30", limits={"timeout": 500})
    with open_client(server) as client:
        answer = client.post("/function/sleepy")
    assert answer.status_code == 504
    assert "exceeded its time limits of 500 milliseconds" in answer.text


def test_binary_output_is_kept_byte_for_byte(server: SluiceServer) -> None:
    process(server, "bytes-fn", "head -c 256 /dev/urandom")
    process(server, "cat-fn", "cat")
    data = bytes(range(256))
    with open_client(server) as client:
        answer = client.post(
            "/function/cat-fn", content=data, headers={"Content-Type": "application/octet-stream"}
        )
        random = client.post("/function/bytes-fn")
    assert answer.content == data
    assert len(random.content) == 256
