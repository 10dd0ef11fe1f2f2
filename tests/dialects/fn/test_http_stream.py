"""http-stream with the real Python FDK (`fdk` from PyPI): sync answers, the handler's
headers, its exceptions, and a warm process serving the next call."""

from __future__ import annotations

from tests.dialects.fn.helpers import fn_client
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

HANDLER = """import io, json, os
from fdk import response

def handler(ctx, data: io.BytesIO = None):
    body = json.loads(data.getvalue() or b"{}")
    if body.get("fail"):
        raise ValueError("asked to fail")
    return response.Response(
        ctx,
        response_data=json.dumps({"hi": body.get("name", "world"), "pid": os.getpid(),
                                  "app": ctx.AppName(), "method": ctx.Method()}),
        headers={"Content-Type": "application/json", "X-Mine": "1"},
    )
"""


def test_fdk_function_sync_calls(server: SluiceServer) -> None:
    files = {"func.py": HANDLER, "requirements.txt": "fdk>=0.1.128\n"}
    route = {"path": "/fdk", "runtime": "python", "format": "http-stream", "code": zip_b64(files)}
    with fn_client(server) as client:
        put = client.put("/v1/apps/fdkapp/routes/fdk", json={"route": route})
        assert put.status_code == 200, put.text
        first = client.post("/r/fdkapp/fdk", json={"name": "Ada"})
        assert first.status_code == 200, first.text
        assert first.headers["content-type"] == "application/json"
        assert first.headers["x-mine"] == "1"
        body = first.json()
        assert body["hi"] == "Ada"
        assert body["app"] == "fdkapp"
        assert body["method"] == "POST"
        again = client.post("/r/fdkapp/fdk", json={})
        assert again.json()["pid"] == body["pid"]  # the same warm process
        failed = client.post("/r/fdkapp/fdk", json={"fail": True})
        assert failed.status_code == 502
        assert failed.json() == {"error": {"message": "function failed: asked to fail"}}
        call_id = failed.headers["fn_call_id"]
        call = client.get(f"/v1/apps/fdkapp/calls/{call_id}").json()["call"]
        assert call["status"] == "error"
        assert call["error"] == "asked to fail"
