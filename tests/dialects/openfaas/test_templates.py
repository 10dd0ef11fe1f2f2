"""Template directories laid out as OpenFaaS's python3-http and python3-flask are (index.py
serving function/handler.py on the port its Dockerfile's upstream_url names, a
requirements.txt beside each) deploy with `sluice function deploy NAME --dir DIR` alone: the
command, mode and port come from the Dockerfile's ENV lines, the requirements are
installed, and a server that dies before listening answers with its own error in the 500."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.dialects.openfaas.helpers import deploy_dir, died_saying, open_client
from tests.support.server import SluiceServer, free_port

DOCKERFILE = """FROM python:3.12-alpine AS ship
WORKDIR /home/app/
COPY index.py requirements.txt ./
RUN pip install -r requirements.txt
COPY function/ ./function/
RUN pip install --user -r function/requirements.txt
ENV fprocess="python index.py"
ENV cgi_headers="true" mode="http"
ENV upstream_url="http://127.0.0.1:5000"
CMD ["fwatchdog"]
"""

# the template's entry point: a Flask app handing each request to function/handler.py
INDEX_PY = """from flask import Flask, request
from function import handler

app = Flask(__name__)

class Event:
    def __init__(self):
        self.body, self.method, self.path = request.get_data(), request.method, request.path
        self.headers, self.query = request.headers, request.args

@app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT"])
@app.route("/<path:path>", methods=["GET", "POST", "PUT"])
def call(path):
    out = handler.handle(Event(), None)
    return out.get("body", ""), out.get("statusCode", 200), out.get("headers", {})

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
"""

HANDLER_PY = """import iso8601

def handle(event, context):
    when = iso8601.parse_date(event.body.decode()).year
    return {"statusCode": 201, "body": f"{event.method} {event.path} year={when}",
            "headers": {"X-Handled": "yes"}}
"""


def _template(root: Path, index: str = INDEX_PY) -> Path:
    (root / "function").mkdir(parents=True)
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "index.py").write_text(index)
    (root / "requirements.txt").write_text("flask\n")
    (root / "function" / "__init__.py").write_text("")
    (root / "function" / "handler.py").write_text(HANDLER_PY)
    (root / "function" / "requirements.txt").write_text("iso8601==0.1.12\n")
    return root


def test_a_python3_http_template_runs_unchanged(server: SluiceServer, tmp_path: Path) -> None:
    folder = _template(tmp_path / "py-http")
    deploy_dir(server, "of-template", folder)
    with server.client() as client:
        status = client.get("/system/function/of-template").json()
    assert status["envProcess"] == "python index.py"
    assert status["envVars"]["upstream_url"] == "http://127.0.0.1:5000"
    with open_client(server) as anyone:
        answer = anyone.post("/function/of-template/items", content=b"2026-12-06T10:00:00Z")
    assert answer.status_code == 201, answer.text
    assert answer.text == "POST /items year=2026"
    assert answer.headers["x-handled"] == "yes"


def test_a_server_that_dies_before_listening_says_why(server: SluiceServer, tmp_path: Path) -> None:
    folder = _template(tmp_path / "py-broken", "import not_installed_anywhere\n" + INDEX_PY)
    deploy_dir(server, "of-broken", folder)
    said = died_saying(server, "of-broken")
    assert "ModuleNotFoundError: No module named 'not_installed_anywhere'" in said


# python3-flask: the same Dockerfile ENV lines; its index.py serves with waitress and hands
# the handler the body alone (text), the handler's return value being the answer
FLASK_INDEX_PY = """from flask import Flask, request
from waitress import serve
from function import handler

app = Flask(__name__)

@app.route("/", defaults={"path": ""}, methods=["POST", "GET"])
@app.route("/<path:path>", methods=["POST", "GET"])
def main_route(path):
    return handler.handle(request.get_data(as_text=True))

if __name__ == "__main__":
    serve(app, host="0.0.0.0", port=5000)
"""

FLASK_HANDLER_PY = """import iso8601

def handle(req):
    return "year=%d" % iso8601.parse_date(req).year
"""


def _flask_template(root: Path, handler: str = FLASK_HANDLER_PY) -> Path:
    _template(root, FLASK_INDEX_PY)
    (root / "requirements.txt").write_text("flask\nwaitress\n")
    (root / "function" / "handler.py").write_text(handler)
    return root


def test_a_python3_flask_template_runs_unchanged(server: SluiceServer, tmp_path: Path) -> None:
    folder = _flask_template(tmp_path / "py-flask")
    deploy_dir(server, "of-flask", folder)
    with open_client(server) as anyone:
        answer = anyone.post("/function/of-flask", content=b"2027-01-02T03:04:05Z")
    assert answer.status_code == 200, answer.text
    assert answer.text == "year=2027"


def test_a_flask_handler_that_fails_to_import_says_why(
    server: SluiceServer, tmp_path: Path
) -> None:
    broken = "raise RuntimeError('DATABASE_URL is not set')\n" + FLASK_HANDLER_PY
    folder = _flask_template(tmp_path / "py-flask-broken", broken)
    deploy_dir(server, "of-flask-broken", folder)
    assert "RuntimeError: DATABASE_URL is not set" in died_saying(server, "of-flask-broken")


# a template's server of the standard library alone, on the port its Dockerfile names
PLAIN_INDEX_PY = """import http.server

class Answer(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = open("function/name.txt", "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("127.0.0.1", %(port)d), Answer).serve_forever()
"""


def test_two_servers_of_one_port_without_a_network_of_their_own(
    new_server: Callable[..., SluiceServer], tmp_path: Path
) -> None:
    """Unsandboxed, the second of two templates of one port would be reached at the first's
    server: it answers 500 saying the port was taken instead."""
    server = new_server(SLUICE_SANDBOX="none").start()
    port = free_port()  # a template's fixed port, one that nothing else here listens on
    for name in ("first", "second"):
        folder = tmp_path / name
        (folder / "function").mkdir(parents=True)
        (folder / "Dockerfile").write_text(DOCKERFILE.replace(":5000", f":{port}"))
        (folder / "index.py").write_text(PLAIN_INDEX_PY % {"port": port})
        (folder / "function" / "name.txt").write_text(name)
        deploy_dir(server, f"of-{name}", folder)
    with open_client(server) as anyone:
        assert anyone.post("/function/of-first").text == "first"
        second = anyone.post("/function/of-second")
    assert second.status_code == 500
    assert f"port {port} (the function's upstream_url) was in use" in second.text
