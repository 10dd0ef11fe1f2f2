"""Keys never leak: a server logging at DEBUG (and write_debug on) serves calls made with two
namespaces' keys every way clients send them (Basic, Bearer on the deploy-service path,
OpenFaaS and Fn routes, wrong and forbidden keys too) to Node.js and Python functions that
answer with their whole environment. Then each namespace's key and its derived
`__OW_API_KEY` are looked for in the server's log and output, in the command line of every
process of the server's tree (the functions still warm) and in every function's
environment: a function key is found only in its own namespace's functions, a user key
nowhere."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import psutil
from tests.dialects.fn.helpers import deploy as fn_deploy
from tests.support.listener import LOOPBACK_CALLBACKS, Listener
from tests.support.server import SluiceServer, put_action

from sluice.engine.keys import function_key
from sluice.records import Namespace

ENV_JS = "function main() { return {env: Object.assign({}, process.env)}; }"
ENV_PY = "import os\n\ndef main(args):\n    return {'env': dict(os.environ)}\n"
ENV_FN = "import json, os\nprint(json.dumps({'env': dict(os.environ)}))\n"
#: answers with the request's headers: write_debug logs the call's parameters and the
#: callback's body, so the log shows all a function is given of a request
HEADERS_JS = "function main(a) { return {headers: a.__ow_headers}; }"
OTHER = "leak-other"


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _env(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    env: dict[str, str] = body["env"]
    return env


def _run(server: SluiceServer, key: str, listener: Listener) -> list[dict[str, str]]:
    """Each function of the key's namespace, called every way a client sends a key."""
    blocking = {"blocking": "true", "result": "true"}
    with (
        server.client(key) as basic,
        httpx.Client(base_url=server.url, headers=_bearer(key), timeout=90) as bearer,
    ):
        for name, code, kind in (
            ("env-js", ENV_JS, "nodejs:default"),
            ("env-py", ENV_PY, "python:3"),
            ("headers", HEADERS_JS, "nodejs:default"),
        ):
            made = put_action(basic, name, code, kind=kind)
            assert made.status_code == 200, made.text
        envs = []
        for client, prefix in ((basic, "/api/v1"), (bearer, "/runtime/api/v1")):
            for name in ("env-js", "env-py"):
                path = f"{prefix}/namespaces/_/actions/{name}"
                envs.append(_env(client.post(path, params=blocking)))
        # OpenFaaS and Fn serve guest: its key runs any of its actions there, another
        # namespace's key is refused
        faas = basic.post("/function/env-py")
        if key != server.auth:
            assert faas.status_code == 403
            assert bearer.get("/v1/apps").status_code == 403
            return envs
        envs.append(_env(faas))
        callback = {"X-Callback-Url": listener.url}
        assert basic.post("/async-function/headers", headers=callback).status_code == 202
        fn_deploy(bearer, "leaks", "/env", ENV_FN)
        envs.append(_env(bearer.post("/r/leaks/env")))
    return envs


def _tree_cmdlines(server: SluiceServer) -> str:
    assert server.process is not None
    root = psutil.Process(server.process.pid)
    lines = []
    for process in [root, *root.children(recursive=True)]:
        try:
            lines.append("\0".join(process.cmdline()))
        except psutil.NoSuchProcess:
            continue
    assert len(lines) > 2, lines  # the server and its warm function processes at least
    return "\n".join(lines)


def _forms(key: str) -> list[str]:
    """The ways a key could be written down: whole, its secret half, as Basic's base64."""
    return [key, key.partition(":")[2], base64.b64encode(key.encode()).decode()]


def test_keys_stay_out_of_logs_arguments_and_other_namespaces(
    new_server: Callable[..., SluiceServer],
) -> None:
    env = {"SLUICE_LOG_LEVEL": "DEBUG", "SLUICE_WRITE_DEBUG": "true", **LOOPBACK_CALLBACKS}
    server = new_server(**env).start()
    keys = {"guest": server.auth, OTHER: server.admin("namespace", "create", OTHER)}
    with Listener() as listener:
        envs = {name: _run(server, key, listener) for name, key in keys.items()}
        listener.wait(1)  # the callback of guest's async call was sent (and logged)
    with httpx.Client(base_url=server.url) as client:
        guest_uuid = server.auth.partition(":")[0]
        crossed = f"{guest_uuid}:{keys[OTHER].partition(':')[2]}"
        assert client.get("/api/v1/namespaces", headers=_basic(crossed)).status_code == 401
        assert client.get("/v1/apps", headers=_bearer(crossed)).status_code == 401

    platform = (server.data_dir / "secret").read_text().strip().encode()
    derived = {}
    for name, key in keys.items():
        record = Namespace(name, key.partition(":")[0], "", 1, 0)
        derived[name] = str(function_key(record, platform))
        assert {env.get("__OW_API_KEY") for env in envs[name]} == {derived[name]}
        assert {env.get("__OW_NAMESPACE") for env in envs[name]} == {name}

    log = server.log_path.read_text()
    assert " DEBUG " in log  # the level took: what is searched is the most verbose log
    output = server.stdout_path.read_text()
    cmdlines = _tree_cmdlines(server)
    for name, key in keys.items():
        for form in _forms(key) + _forms(derived[name]):
            assert form not in log, (name, form)
            assert form not in cmdlines, (name, form)
        for owner, found in envs.items():
            text = json.dumps(found)
            for form in _forms(key):  # a user key reaches no function at all
                assert form not in text, (name, owner)
            if owner != name:
                for form in _forms(derived[name]):
                    assert form not in text, (name, owner)
    # the first start shows guest's key once, in its two export lines, and nothing else
    assert output.count(server.auth) == 2
    for form in [*_forms(keys[OTHER]), *_forms(derived["guest"]), *_forms(derived[OTHER])]:
        assert form not in output
