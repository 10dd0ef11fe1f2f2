"""The REST API's CORS headers, as OpenWhisk sends them on every answer: on OPTIONS, on
answers and errors; a function's answer keeps its own. (Web actions set theirs:
tests/dialects/openwhisk/test_web_actions.py.)"""

from __future__ import annotations

import httpx
from tests.dialects.fn.helpers import fn_client
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

ALLOW_METHODS = "GET, DELETE, POST, PUT, HEAD"

#: a Fn `json` function that answers with an Access-Control-Allow-Origin of its own
OWN_ORIGIN_PY = """import json, sys
for line in sys.stdin:
    if line.strip():
        print(json.dumps({"body": "{}", "content_type": "application/json",
            "protocol": {"status_code": 200,
                         "headers": {"Access-Control-Allow-Origin": ["https://mine.example"]}}}),
            flush=True)
"""


def _cors(answer: httpx.Response) -> dict[str, list[str]]:
    return {
        name: answer.headers.get_list(name)
        for name in ("access-control-allow-origin", "access-control-allow-methods")
    }


def test_api_answers_and_preflight(server: SluiceServer) -> None:
    expected = {
        "access-control-allow-origin": ["*"],
        "access-control-allow-methods": [ALLOW_METHODS],
    }
    with server.client() as c:
        assert _cors(c.get("/api/v1/namespaces")) == expected
        missing = c.get(server.ns_path("actions/no-such-action"))
        assert missing.status_code == 404
        assert _cors(missing) == expected
        preflight = c.options(server.ns_path("actions/anything"))
        assert preflight.status_code == 200
        assert _cors(preflight) == expected
        assert "Authorization" in preflight.headers["access-control-allow-headers"]
    assert _cors(httpx.get(server.url + "/api/v1/namespaces")) == expected  # 401 too


def test_functions_own_headers_win(server: SluiceServer) -> None:
    with fn_client(server) as client:
        route = {"path": "/own", "format": "json", "runtime": "python"}
        route["code"] = zip_b64({"func.py": OWN_ORIGIN_PY})
        assert client.put("/v1/apps/corsapp/routes/own", json={"route": route}).status_code == 200
        answer = client.post("/r/corsapp/own", json={})
        assert answer.status_code == 200, answer.text
        assert _cors(answer) == {
            "access-control-allow-origin": ["https://mine.example"],
            "access-control-allow-methods": [ALLOW_METHODS],
        }
