"""Template directories laid out as OpenFaaS's node18 and node20 are (of-watchdog's http
mode: index.js, an express app on `http_port` or 3000, hands each request to
function/handler.js; a package.json for the template's express and one in function/ for the
handler's own packages) deploy with `sluice function deploy NAME --dir DIR`: both
package.json files are installed from npm, the port is the Dockerfile's upstream_url's, and
a server that dies before listening answers with its own error in the 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.dialects.openfaas.helpers import deploy_dir, died_saying, open_client
from tests.support.server import SluiceServer

DOCKERFILE = """FROM node:%(version)s-alpine AS ship
ENV NPM_CONFIG_LOGLEVEL warn
WORKDIR /home/app
COPY package.json ./
RUN npm i
COPY index.js ./
WORKDIR /home/app/function
COPY function/*.json ./
RUN npm i
COPY function/ ./
WORKDIR /home/app/
ENV cgi_headers="true"
ENV fprocess="node index.js"
ENV mode="http"
ENV upstream_url="http://127.0.0.1:3000"
ENV exec_timeout="10s"
ENV prefix_logs="false"
CMD ["fwatchdog"]
"""

# the template's entry point: the event and the context (status, headers, succeed, fail)
# its handlers are written against
INDEX_JS = """"use strict"
const express = require("express")
const bodyParser = require("body-parser")
const handler = require("./function/handler")

const app = express()
app.use(bodyParser.text({type: "text/*"}))
app.use(bodyParser.json())

class Context {
  constructor(done) { this.code = 200; this.values = {}; this.done = done; this.called = false }
  status(code) { if (!code) return this.code; this.code = code; return this }
  headers(values) { if (!values) return this.values; this.values = values; return this }
  succeed(value) { this.called = true; this.done(undefined, value) }
  fail(error) { if (this.code === 200) this.code = 500; this.called = true; this.done(error) }
}

app.all("/*", (req, res) => {
  const event = {body: req.body, headers: req.headers, method: req.method,
                 query: req.query, path: req.path}
  const context = new Context((error, value) => {
    if (error) return res.status(context.status()).send(String(error))
    const body = (value !== null && typeof value === "object") ? JSON.stringify(value) : value
    res.set(context.headers()).status(context.status()).send(body)
  })
  Promise.resolve(handler(event, context))
    .then(value => { if (!context.called) context.succeed(value) })
    .catch(error => context.fail(error))
})

const port = process.env.http_port || 3000
app.listen(port, () => console.log(`listening on port: ${port}`))
"""

HANDLER_JS = """"use strict"
const isNumber = require("is-number")

module.exports = async (event, context) => {
  return context.status(201).headers({"x-handled": "yes"}).succeed({
    method: event.method, path: event.path, query: event.query,
    number: isNumber(event.body.value), text: event.body.value,
  })
}
"""


def _manifest(name: str, dependencies: dict[str, str]) -> str:
    return json.dumps(
        {"name": name, "version": "1.0.0", "main": "index.js", "dependencies": dependencies}
    )


def _template(root: Path, version: str, handler: str = HANDLER_JS) -> Path:
    (root / "function").mkdir(parents=True)
    (root / "Dockerfile").write_text(DOCKERFILE % {"version": version})
    (root / "template.yml").write_text(f"language: node{version}\nfprocess: node index.js\n")
    (root / "index.js").write_text(INDEX_JS)
    top = {"body-parser": "^1.18.2", "express": "^4.16.2"}
    (root / "package.json").write_text(_manifest(f"openfaas-node{version}", top))
    (root / "function" / "handler.js").write_text(handler)
    inner = _manifest("openfaas-function", {"is-number": "^7.0.0"})
    (root / "function" / "package.json").write_text(inner)
    return root


@pytest.mark.parametrize("version", ["18", "20"])
def test_a_node_template_runs_unchanged(server: SluiceServer, tmp_path: Path, version: str) -> None:
    name = f"of-node{version}"
    folder = _template(tmp_path / name, version)
    deploy_dir(server, name, folder)
    with server.client() as client:
        status = client.get(f"/system/function/{name}").json()
    assert status["envProcess"] == "node index.js"
    assert status["envVars"]["upstream_url"] == "http://127.0.0.1:3000"
    with open_client(server) as anyone:
        answer = anyone.post(
            f"/function/{name}/items?page=2",
            json={"value": "7"},
        )
    assert answer.status_code == 201, answer.text
    assert answer.headers["x-handled"] == "yes"
    assert answer.json() == {
        "method": "POST",
        "path": "/items",
        "query": {"page": "2"},
        "number": True,
        "text": "7",
    }


def test_a_node_server_that_dies_before_listening_says_why(
    server: SluiceServer, tmp_path: Path
) -> None:
    broken = 'require("left-out-of-package-json")\n' + HANDLER_JS
    folder = _template(tmp_path / "node-broken", "20", broken)
    deploy_dir(server, "of-node-broken", folder)
    assert "Cannot find module 'left-out-of-package-json'" in died_saying(server, "of-node-broken")
