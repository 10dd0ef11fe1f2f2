"""Errors the platform words for a run never name the server's own paths: an anonymous
caller (an OpenFaaS function, a web action) may read them."""

from __future__ import annotations

import httpx

from tests.support.server import REPO, SluiceServer, put_action

MISSING_MODULE = 'const x = require("no-such-module-here"); function main(a) { return {}; }'
MISSING_AT_RUN = 'function main(a) { return require("no-such-module-either"); }'


def test_an_anonymous_caller_sees_no_install_or_work_dir_path(server: SluiceServer) -> None:
    openfaas = [{"key": "openfaas", "value": True}]
    with server.client() as c:
        for name, code in (("paths-init", MISSING_MODULE), ("paths-run", MISSING_AT_RUN)):
            assert put_action(c, name, code, annotations=openfaas).status_code == 200
    for name, module in (("paths-init", "no-such-module-here"), ("paths-run", "either")):
        answer = httpx.post(f"{server.url}/function/{name}", content=b"{}", timeout=60)
        assert answer.status_code == 500
        assert module in answer.text  # the function's own error is still told
        assert "action/index.js" in answer.text
        assert "sluice/runtime/launchers/node_runner.js" in answer.text
        assert str(REPO) not in answer.text
        assert "/proc-" not in answer.text
        assert "sluice-work" not in answer.text
