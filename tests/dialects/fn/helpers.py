"""Fn API helpers for tests: clients with the Fn namespace's key, routes deployed from
source."""

from __future__ import annotations

import re
from typing import Any

import httpx
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

GREET_PY = """import json, sys
body = sys.stdin.read()
name = json.loads(body or "{}").get("name", "World") if body.strip() else "World"
print("hello from stderr", file=sys.stderr)
print(json.dumps({"message": f"Hello {name}"}))
"""

SLEEP_PY = """import sys, time
seconds = float(sys.stdin.read() or "0")
time.sleep(seconds)
print("slept", seconds)
"""


def fn_client(server: SluiceServer) -> httpx.Client:
    """Fn clients send the key as a Bearer token (FN_TOKEN)."""
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.auth}"}, timeout=90
    )


def deploy(
    client: httpx.Client, app: str, path: str, source: str = GREET_PY, **fields: Any
) -> dict[str, Any]:
    route = {"path": path, "image": f"{path[1:]}:0.0.1", "runtime": "python", **fields}
    route["code"] = zip_b64({"func.py": source})
    answer = client.put(f"/v1/apps/{app}/routes{path}", json={"route": route})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["route"]
    return found


def wait_call(client: httpx.Client, app: str, call_id: str) -> dict[str, Any]:
    """The call once it has ended (long-polled with `?wait=`)."""
    answer = client.get(f"/v1/apps/{app}/calls/{call_id}", params={"wait": 60})
    assert answer.status_code == 200, answer.text
    call: dict[str, Any] = answer.json()["call"]
    assert call["status"] not in ("queued", "running"), call
    return call


FDK_PY = """import io, json, os
from fdk import response

def handler(ctx, data: io.BytesIO = None):
    body = json.loads(data.getvalue() or b"{}")
    if body.get("fail"):
        raise ValueError("asked to fail")
    return response.Response(ctx, response_data=json.dumps({
        "hi": body.get("name", "world"), "fn": ctx.FnName(), "method": ctx.Method(),
        "greeting": os.environ.get("GREETING"),
    }), headers={"Content-Type": "application/json"})
"""


def v2_app(client: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    answer = client.post("/v2/apps", json={"name": name, **fields})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def v2_fn(
    client: httpx.Client, app_id: str, name: str, source: str = FDK_PY, **fields: Any
) -> dict[str, Any]:
    """A v2 function from the Python FDK's source, as `sluice fn deploy` sends it."""
    body = {"name": name, "app_id": app_id, "image": f"{name}:0.0.1", "runtime": "python"}
    body["code"] = zip_b64({"func.py": source, "requirements.txt": "fdk>=0.1.128\n"})
    answer = client.post("/v2/fns", json={**body, **fields})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found
