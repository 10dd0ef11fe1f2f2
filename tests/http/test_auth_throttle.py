"""Wrong keys through a real server: counted per client address, answered 429 in each
dialect's shape with Retry-After past the allowance, while a correct key from the same
address keeps working and another address keeps its own count."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable

import httpx
from tests.support.server import SluiceServer, put_action

ALLOWED = 3
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def _message(count: int) -> str:
    return f"Too many requests in the last minute (count: {count}, allowed: {ALLOWED})."


def _retry_after(answer: httpx.Response) -> int:
    seconds = int(answer.headers["retry-after"])
    assert 1 <= seconds <= 60
    return seconds


def test_wrong_keys_past_the_allowance_are_429_and_a_right_key_still_works(
    new_server: Callable[..., SluiceServer],
) -> None:
    server = new_server(SLUICE_AUTH_FAILURES_PER_MINUTE=str(ALLOWED)).start()
    real_uuid, _, secret = server.auth.partition(":")
    with server.client() as c:
        web = [{"key": "web-export", "value": True}, {"key": "require-whisk-auth", "value": True}]
        made = put_action(c, "guarded", "function main() { return {} }", annotations=web)
        assert made.status_code == 200, made.text
    wrong = [
        f"{uuid.uuid4()}:{secret}",  # nobody's uuid
        f"{real_uuid}:{'x' * 64}",  # guest's uuid, a wrong secret
        f"{real_uuid}:{'é' * 64}",  # any characters are only wrong, never a 500
    ]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        namespaces = "/api/v1/namespaces"
        for text in wrong:
            answer = client.get(namespaces, headers=_basic(text))
            assert answer.status_code == 401, answer.text
        # no key at all is not a guess: not counted, not refused
        assert client.get(namespaces).status_code == 401

        ow = client.get(namespaces, headers=_basic(wrong[1]))
        assert ow.status_code == 429, ow.text
        assert ow.json()["error"] == _message(4)
        assert HEX32.match(ow.json()["code"])
        _retry_after(ow)
        assert client.get(namespaces, headers=_basic(server.auth)).json() == ["guest"]

        faas = client.get("/system/info", headers=_basic(wrong[0]))
        assert faas.status_code == 429
        assert faas.headers["content-type"].startswith("text/plain")
        assert faas.text == _message(5) + "\n"
        _retry_after(faas)
        assert client.get("/system/info", headers=_basic(server.auth)).status_code == 200

        fn = client.get("/v1/apps", headers={"Authorization": f"Bearer {wrong[1]}"})
        assert fn.status_code == 429
        assert fn.json() == {"error": {"message": _message(6)}}
        _retry_after(fn)
        right = client.get("/v1/apps", headers={"Authorization": f"Bearer {server.auth}"})
        assert right.status_code == 200

        guarded = "/api/v1/web/guest/default/guarded.json"
        assert client.get(guarded, headers=_basic(wrong[2])).status_code == 429
        assert client.get(guarded, headers=_basic(server.auth)).status_code == 200
        # aio's deploy-service path with a Bearer key
        deploy = client.get("/runtime/api/v1/namespaces/_/actions", headers=_basic(wrong[0]))
        assert deploy.status_code == 429
        bearer = {"Authorization": f"Bearer {server.auth}"}
        assert client.get("/runtime/api/v1/namespaces/_/actions", headers=bearer).is_success

    # another address (all of 127/8 is this machine's loopback) has a count of its own
    elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=server.url, transport=elsewhere, timeout=30) as client:
        assert client.get("/api/v1/namespaces", headers=_basic(wrong[0])).status_code == 401
