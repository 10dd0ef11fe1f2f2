"""/system/secrets and the files a function reads them from: a process function, an `http`
function and a Node.js action read their namespace's secrets at /var/openfaas/secrets, never
another namespace's; values are stored sealed and never told back."""

from __future__ import annotations

import base64
import secrets as random

import httpx
from tests.dialects.openfaas.helpers import open_client
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer, put_action, wait_for

READ_SH = """#!/bin/sh
cat /var/openfaas/secrets/api-key
echo " dir=$SLUICE_SECRETS"
ls /var/openfaas/secrets | tr '\\n' ' '
(echo overwritten > /var/openfaas/secrets/api-key) 2>/dev/null && echo WRITABLE || echo read-only
"""

WEB_PY = """
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with open("/var/openfaas/secrets/" + self.path.strip("/"), "rb") as f:
            out = f.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format, *args):
        pass

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

READ_JS = """
const fs = require('fs');
function main(args) {
  const name = args.name || 'db-pass';
  try {
    return {value: fs.readFileSync('/var/openfaas/secrets/' + name, 'utf8')};
  } catch (e) {
    return {missing: e.code};
  }
}
"""


def _remove(client: httpx.Client, name: str) -> None:
    client.request("DELETE", "/system/secrets", json={"name": name})


def _create(client: httpx.Client, name: str, value: str) -> None:
    _remove(client, name)
    made = client.post("/system/secrets", json={"name": name, "value": value})
    assert made.status_code == 202, made.text


def _deploy(client: httpx.Client, spec: dict[str, object]) -> None:
    client.request("DELETE", "/system/functions", json={"functionName": spec["service"]})
    made = client.post("/system/functions", json=spec)
    assert made.status_code == 202, made.text


def test_create_list_update_remove(server: SluiceServer) -> None:
    """faas-netes' statuses: 202 for each change, 409 and 404 as Kubernetes gives them."""
    value = random.token_hex(16)
    with server.client() as client:
        _remove(client, "of-key")
        created = client.post("/system/secrets", json={"name": "of-key", "value": value})
        assert created.status_code == 202, created.text
        again = client.post("/system/secrets", json={"name": "of-key", "value": "x"})
        assert again.status_code == 409
        listed = client.get("/system/secrets")
        assert listed.status_code == 200
        assert {"name": "of-key", "namespace": server.namespace} in listed.json()
        assert value not in listed.text
        assert all(set(item) == {"name", "namespace"} for item in listed.json())
        raw = base64.b64encode(b"\x00\xffbinary").decode()
        replaced = client.put("/system/secrets", json={"name": "of-key", "rawValue": raw})
        assert replaced.status_code == 202, replaced.text
        unknown = client.put("/system/secrets", json={"name": "of-never", "value": "x"})
        assert unknown.status_code == 404
        removed = client.request("DELETE", "/system/secrets", json={"name": "of-key"})
        assert removed.status_code == 202
        gone = client.request("DELETE", "/system/secrets", json={"name": "of-key"})
        assert gone.status_code == 404
        assert "of-key" not in [item["name"] for item in client.get("/system/secrets").json()]


def test_bad_requests_are_400_and_keys_are_needed(server: SluiceServer) -> None:
    with server.client() as client:
        for body in (
            {"name": "Bad_Name", "value": "x"},
            {"name": "", "value": "x"},
            {"name": "ok", "value": 7},
            {"name": "ok", "rawValue": "not base64!"},
            {"name": "ok", "value": "x", "namespace": "someone-else"},
        ):
            answer = client.post("/system/secrets", json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.headers["content-type"].startswith("text/plain")
        other = client.get("/system/secrets", params={"namespace": "someone-else"})
        assert other.status_code == 400
        malformed = client.post("/system/secrets", content=b"{not json")
        assert malformed.status_code == 400
    with open_client(server) as anyone:
        assert anyone.get("/system/secrets").status_code == 401
        refused = anyone.post("/system/secrets", json={"name": "x", "value": "y"})
        assert refused.status_code == 401


def test_a_process_function_reads_its_secret(server: SluiceServer) -> None:
    value = random.token_hex(16)
    spec = {
        "service": "of-secret-reader",
        "envProcess": "sh read.sh",
        "code": zip_b64({"read.sh": READ_SH}),
        "secrets": ["api-key"],
    }
    with server.client() as client, open_client(server) as anyone:
        _create(client, "api-key", value)
        _deploy(client, spec)
        assert client.get("/system/function/of-secret-reader").json()["secrets"] == ["api-key"]
        answer = anyone.post("/function/of-secret-reader")
        assert answer.status_code == 200, answer.text
        assert answer.text.split() == [value, "dir=/var/openfaas/secrets", "api-key", "read-only"]

        # a new value reaches the next call
        newer = random.token_hex(16)
        client.put("/system/secrets", json={"name": "api-key", "value": newer})
        assert anyone.post("/function/of-secret-reader").text.split()[0] == newer

        # removed, the function fails clearly rather than running without it
        _remove(client, "api-key")
        failed = anyone.post("/function/of-secret-reader")
    assert failed.status_code == 500
    assert 'secret "api-key" not found' in failed.text
    log = server.log_path.read_text()
    assert value not in log
    assert newer not in log


def test_a_deployment_naming_a_missing_secret_is_400(server: SluiceServer) -> None:
    spec = {"service": "of-no-secret", "envProcess": "cat", "secrets": ["of-never-made"]}
    with server.client() as client:
        answer = client.post("/system/functions", json=spec)
        bad = client.post("/system/functions", json={**spec, "secrets": ["Not Valid"]})
    assert answer.status_code == 400
    assert 'unable to fetch secrets: secret "of-never-made" not found' in answer.text
    assert bad.status_code == 400


def test_an_http_function_reads_its_secret(server: SluiceServer) -> None:
    value = random.token_hex(16)
    spec = {
        "service": "of-secret-web",
        "envProcess": "python3 web.py",
        "envVars": {"mode": "http"},
        "code": zip_b64({"web.py": WEB_PY}),
        "secrets": ["web-token"],
    }
    with server.client() as client, open_client(server) as anyone:
        _create(client, "web-token", value)
        _deploy(client, spec)
        answer = anyone.get("/function/of-secret-web/web-token")
        other = anyone.get("/function/of-secret-web/api-key")
    assert answer.status_code == 200, answer.text
    assert answer.text == value
    assert other.status_code == 500  # only the secrets it names are there


def test_actions_read_their_own_namespaces_secrets_only(server: SluiceServer) -> None:
    """Two namespaces with a secret of the same name: each action reads its own; an action
    that names none sees none; a call of a shared action from another namespace gets none."""
    mine, theirs = random.token_hex(16), random.token_hex(16)
    other_key = server.admin("namespace", "create", "secret-team")
    wants = [{"key": "secrets", "value": ["db-pass"]}]
    with server.client() as client, server.client(auth=other_key) as other:
        _create(client, "db-pass", mine)
        _create(other, "db-pass", theirs)
        assert put_action(client, "read-secret", READ_JS, annotations=wants).status_code == 200
        assert put_action(other, "read-secret", READ_JS, annotations=wants).status_code == 200
        assert put_action(other, "read-nothing", READ_JS).status_code == 200
        path = "actions/read-secret?blocking=true&result=true"
        assert client.post(f"/api/v1/namespaces/_/{path}").json() == {"value": mine}
        assert other.post(f"/api/v1/namespaces/_/{path}").json() == {"value": theirs}
        nothing = other.post("/api/v1/namespaces/_/actions/read-nothing?blocking=true&result=true")
        assert nothing.json() == {"missing": "ENOENT"}
        names = [item["name"] for item in other.get("/system/secrets").json()]
        assert names == ["db-pass"]

        # the owner's secret is not handed to another namespace's call of its shared action
        made = client.put(
            "/api/v1/namespaces/_/packages/secret-shared?overwrite=true", json={"publish": True}
        )
        assert made.status_code == 200, made.text
        shared = put_action(client, "secret-shared/read", READ_JS, annotations=wants)
        assert shared.status_code == 200, shared.text
        owner_call = client.post(
            "/api/v1/namespaces/_/actions/secret-shared/read?blocking=true&result=true"
        )
        assert owner_call.json() == {"value": mine}
        foreign = other.post(
            f"/api/v1/namespaces/{server.namespace}/actions/secret-shared/read"
            "?blocking=true&result=true"
        )
        assert foreign.json() == {"missing": "ENOENT"}


def test_the_store_holds_no_clear_value(server: SluiceServer) -> None:
    """Only the sealed form is stored (PostgreSQL's dump shows a BYTEA column as hex)."""
    value = "clear-" + random.token_hex(16)
    sealed = b'"sealed":"v1:'
    with server.client() as client:
        _create(client, "at-rest", value)
        wait_for(
            lambda: sealed in (raw := server.stored_bytes()) or sealed.hex().encode() in raw,
            10,
            "the sealed value stored",
        )
    raw = server.stored_bytes()
    for form in (value.encode(), base64.b64encode(value.encode()), value.encode().hex().encode()):
        assert form not in raw
