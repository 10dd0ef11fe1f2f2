"""An Fn function reads its namespace's secrets at /var/openfaas/secrets once its action
names them (the `secrets` annotation), and keeps them through a redeploy."""

from __future__ import annotations

import secrets as random

from tests.dialects.fn.helpers import deploy, fn_client
from tests.support.server import SluiceServer

READ_PY = """import sys
sys.stdin.read()
print(open("/var/openfaas/secrets/fn-key").read())
"""


def test_an_fn_function_reads_its_secret(server: SluiceServer) -> None:
    value = random.token_hex(12)
    with server.client() as client, fn_client(server) as fn:
        client.request("DELETE", "/system/secrets", json={"name": "fn-key"})
        made = client.post("/system/secrets", json={"name": "fn-key", "value": value})
        assert made.status_code == 202, made.text
        assert fn.post("/v1/apps", json={"app": {"name": "secretapp"}}).status_code in (200, 409)
        deploy(fn, "secretapp", "/read", READ_PY)
        action = "/api/v1/namespaces/_/actions/secretapp/read"
        annotations = client.get(action).json()["annotations"]
        wants = [*annotations, {"key": "secrets", "value": ["fn-key"]}]
        named = client.put(f"{action}?overwrite=true", json={"annotations": wants})
        assert named.status_code == 200, named.text
        assert fn.post("/r/secretapp/read").text.strip() == value
        deploy(fn, "secretapp", "/read", READ_PY + "print('again')\n")
        again = fn.post("/r/secretapp/read").text.split()
    assert again == [value, "again"]
