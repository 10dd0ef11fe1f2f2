"""The `http` kind (of-watchdog's http mode): a warm HTTP server per function, started on
$PORT, sent each request, restarted when it dies."""

from __future__ import annotations

from typing import Any

import pytest
from tests.dialects.openfaas.helpers import open_client, wait_status
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

SERVER_PY = """
import json, os, time
from http.server import BaseHTTPRequestHandler, HTTPServer

INSTANCE = os.urandom(8).hex()  # pids repeat inside a sandbox's pid namespace
STOPPING = False

class Handler(BaseHTTPRequestHandler):
    def answer(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        if self.path.startswith("/die"):
            os._exit(3)
        if self.path.startswith("/shutdown"):  # stops listening, answers, exits in 1 s
            global STOPPING
            STOPPING = True
            self.server.socket.close()
        out = json.dumps({"instance": INSTANCE, "method": self.command, "path": self.path,
                          "tenant": self.headers.get("x-tenant"), "body": body}).encode()
        self.send_response(500 if self.path.startswith("/fail") else 201)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Served-By", "py")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = answer

    def log_message(self, format, *args):
        print("served", self.path, flush=True)

httpd = HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
while not STOPPING:
    httpd.handle_request()
time.sleep(1)  # on its way out: no longer listening, not yet exited
"""


@pytest.fixture(scope="module")
def web(server: SluiceServer) -> SluiceServer:
    spec = {
        "service": "pyweb",
        "envProcess": "python3 server.py",
        "envVars": {"mode": "http"},
        "code": zip_b64({"server.py": SERVER_PY}),
    }
    with server.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": "pyweb"})
        made = client.post("/system/functions", json=spec)
    assert made.status_code == 202, made.text
    return server


def _call(server: SluiceServer, method: str, path: str, **kwargs: Any) -> Any:
    with open_client(server) as client:
        return client.request(method, f"/function/pyweb{path}", **kwargs)


def test_the_request_is_forwarded_and_the_answer_returned(web: SluiceServer) -> None:
    answer = _call(web, "PUT", "/items/7?x=1", content=b"hello", headers={"X-Tenant": "t1"})
    assert answer.status_code == 201, answer.text
    assert answer.headers["x-served-by"] == "py"
    assert answer.headers["content-type"] == "application/json"
    sent = answer.json()
    assert sent["method"] == "PUT"
    assert sent["path"] == "/items/7?x=1"
    assert sent["tenant"] == "t1"
    assert sent["body"] == "hello"


def test_the_server_stays_warm(web: SluiceServer) -> None:
    instances = {_call(web, "GET", "/").json()["instance"] for _ in range(3)}
    assert len(instances) == 1


def test_a_server_that_died_is_started_again(web: SluiceServer) -> None:
    before = _call(web, "GET", "/").json()["instance"]
    died = _call(web, "POST", "/die")
    assert died.status_code == 500
    assert "gave no valid answer" in died.text
    after = _call(web, "GET", "/").json()["instance"]
    assert after != before


def test_a_server_that_stopped_between_calls_costs_no_call(web: SluiceServer) -> None:
    """The server stops listening, then exits: the next call, refused before Sluice has seen
    the exit, goes to a server started in its place."""
    before = _call(web, "GET", "/shutdown").json()["instance"]
    answer = _call(web, "GET", "/after")
    assert answer.status_code == 201, answer.text
    assert answer.json()["instance"] != before


def test_a_server_error_is_the_function_failing(web: SluiceServer) -> None:
    with web.client() as client:
        accepted = client.post("/async-function/pyweb/fail")
        status = wait_status(client, accepted.headers["x-call-id"])
    assert status["status"] == "application_error"
    assert status["functionStatus"] == 500
    assert '"path": "/fail"' in status["body"]


UNIX_PY = """
import os, socketserver
from http.server import BaseHTTPRequestHandler

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        where = os.environ["SOCKET"].rpartition("/")[2]
        out = f"{self.path} over {where}, PORT={os.environ.get('PORT')}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format, *args):
        return

socketserver.UnixStreamServer(os.environ["SOCKET"], Handler).serve_forever()
"""


def _unix_function(server: SluiceServer, name: str, listen: str) -> None:
    spec = {
        "service": name,
        "envProcess": "python3 server.py",
        "envVars": {"mode": "http", "listen": listen},
        "code": zip_b64({"server.py": UNIX_PY}),
    }
    with server.client() as client:
        client.request("DELETE", "/system/functions", json={"functionName": name})
        made = client.post("/system/functions", json=spec)
    assert made.status_code == 202, made.text


def test_a_server_may_listen_on_a_unix_socket(server: SluiceServer) -> None:
    _unix_function(server, "unixweb", "unix")
    _unix_function(server, "pipeweb", "pipe")
    with open_client(server) as client:
        answer = client.get("/function/unixweb/hello?x=1")
        unknown = client.get("/function/pipeweb/hello")
    assert answer.status_code == 200, answer.text
    assert answer.text == "/hello?x=1 over http.sock, PORT=None"
    assert unknown.status_code == 500
    assert "listen=pipe is not known: use listen=port or listen=unix" in unknown.text
