"""Web actions: the seed's Option 1 over plain HTTP, and OpenWhisk's web rules."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
from tests.support.calls import wait_call
from tests.support.seed import WEB_ACTION_JS, worker_with_delay
from tests.support.server import SluiceServer, put_action

WEB = [{"key": "web-export", "value": True}, {"key": "final", "value": True}]
ECHO = "function main(args) { return args }"


def _web(
    c: httpx.Client, name: str, code: str, *extra: dict[str, object], **fields: object
) -> None:
    r = put_action(c, name, code, annotations=[*WEB, *extra], **fields)
    assert r.status_code == 200, r.text


def test_seed_option_1_as_written_names_the_missing_action(server: SluiceServer) -> None:
    with server.client() as c:
        assert (
            put_action(
                c, "my-worker", worker_with_delay(1500), limits={"timeout": 120000}
            ).status_code
            == 200
        )
        _web(c, "test", WEB_ACTION_JS)
    r = httpx.get(f"{server.url}/api/v1/web/guest/default/test.json", timeout=30)
    assert r.status_code == 200
    error = r.json()
    assert error["statusCode"] == 404
    assert "/actions/worker" in error["message"]
    assert "The requested resource does not exist." in error["message"]


def test_seed_option_1_with_consistent_names_returns_the_worker_id(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "worker", worker_with_delay(1500), limits={"timeout": 120000})
        _web(c, "test", WEB_ACTION_JS)
        r = httpx.get(f"{server.url}/api/v1/web/guest/default/test.json", timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"activationId"}
        assert r.headers["x-openwhisk-activation-id"] != body["activationId"]
        assert wait_call(c, body["activationId"])["state"] == "success"
        result = c.get(server.ns_path(f"activations/{body['activationId']}/result")).json()
        assert result["result"]["body"] == {"payload": "Hello from the long running job!"}


def test_request_becomes_params(server: SluiceServer) -> None:
    with server.client() as c:
        _web(c, "echo", ECHO)
        _web(c, "echo-body", "function main(args) { return {body: args} }")
    r = httpx.post(
        f"{server.url}/api/v1/web/guest/default/echo-body.http/some/path?q=1",
        json={"name": "Ada"},
        headers={"X-Custom": "yes"},
    )
    params = r.json()
    assert params["name"] == "Ada"
    assert params["q"] == "1"
    assert params["__ow_method"] == "post"
    assert params["__ow_path"] == "/some/path"
    assert params["__ow_headers"]["x-custom"] == "yes"
    form = httpx.post(f"{server.url}/api/v1/web/guest/default/echo.json", data={"a": "b"}).json()
    assert form["a"] == "b"
    text = httpx.post(
        f"{server.url}/api/v1/web/guest/default/echo.json",
        content=b"plain words",
        headers={"content-type": "text/plain"},
    ).json()
    assert text["__ow_body"] == "plain words"
    reserved = httpx.get(f"{server.url}/api/v1/web/guest/default/echo.json?__ow_method=x")
    assert reserved.status_code == 400


def test_extensions(server: SluiceServer) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    image_code = "function main() { return {headers: {'Content-Type': 'image/png'}, body: PNG} }"
    with server.client() as c:
        _web(c, "page", "function main() { return {body: '<h1>hi</h1>'} }")
        _web(
            c,
            "status",
            "function main() { return {statusCode: 201, headers: {'X-A': 'b'}, body: {ok: true}} }",
        )
        _web(
            c,
            "image",
            image_code.replace("PNG", repr(png)),
        )
        _web(c, "nested", "function main() { return {body: {payload: 'deep'}} }")
    base = f"{server.url}/api/v1/web/guest/default"
    html = httpx.get(f"{base}/page.html")
    assert html.status_code == 200
    assert html.text == "<h1>hi</h1>"
    assert html.headers["content-type"].startswith("text/html")
    assert httpx.get(f"{base}/page.text").text == "<h1>hi</h1>"
    assert httpx.get(f"{base}/page.svg").headers["content-type"].startswith("image/svg+xml")
    http = httpx.get(f"{base}/status")  # no extension: .http
    assert http.status_code == 201
    assert http.headers["x-a"] == "b"
    assert http.json() == {"ok": True}
    image = httpx.get(f"{base}/image.http")
    assert image.content == b"\x89PNG\r\n\x1a\nfake"
    assert httpx.get(f"{base}/nested.json/body/payload").json() == "deep"
    assert httpx.get(f"{base}/nested.json/body/missing").status_code == 404
    assert httpx.get(f"{base}/nested.html").status_code == 400


def test_only_web_exported_actions_answer(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "private-fn", ECHO)
    assert httpx.get(f"{server.url}/api/v1/web/guest/default/private-fn.json").status_code == 404
    assert httpx.get(f"{server.url}/api/v1/web/guest/default/nothing.json").status_code == 404


def test_final_parameters_cannot_be_overridden(server: SluiceServer) -> None:
    with server.client() as c:
        _web(c, "fixed", ECHO, parameters=[{"key": "mode", "value": "safe"}])
    base = f"{server.url}/api/v1/web/guest/default/fixed.json"
    assert httpx.get(base).json()["mode"] == "safe"
    assert httpx.get(f"{base}?mode=unsafe").status_code == 400


def test_require_whisk_auth(server: SluiceServer) -> None:
    with server.client() as c:
        _web(c, "secured", ECHO, {"key": "require-whisk-auth", "value": "s3cret"})
        _web(c, "basic", ECHO, {"key": "require-whisk-auth", "value": True})
    base = f"{server.url}/api/v1/web/guest/default"
    assert httpx.get(f"{base}/secured.json").status_code == 401
    assert (
        httpx.get(f"{base}/secured.json", headers={"X-Require-Whisk-Auth": "nope"}).status_code
        == 401
    )
    assert (
        httpx.get(f"{base}/secured.json", headers={"X-Require-Whisk-Auth": "s3cret"}).status_code
        == 200
    )
    assert httpx.get(f"{base}/basic.json").status_code == 401
    token = base64.b64encode(server.auth.encode()).decode()
    ok = httpx.get(f"{base}/basic.json", headers={"Authorization": f"Basic {token}"})
    assert ok.status_code == 200
    assert ok.json()["__ow_user"] == "guest"


def test_cors_and_options(server: SluiceServer) -> None:
    with server.client() as c:
        _web(c, "cors", ECHO)
        _web(
            c,
            "custom",
            "function main(a) { return {statusCode: 204, headers: {'Allow': 'GET'}} }",
            {"key": "web-custom-options", "value": True},
        )
    base = f"{server.url}/api/v1/web/guest/default"
    pre = httpx.options(f"{base}/cors.json", headers={"Access-Control-Request-Headers": "X-Y"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "*"
    assert pre.headers["access-control-allow-headers"] == "X-Y"
    assert httpx.get(f"{base}/cors.json").headers["access-control-allow-origin"] == "*"
    custom = httpx.options(f"{base}/custom.http")
    assert custom.status_code == 204
    assert custom.headers["allow"] == "GET"
    assert "access-control-allow-origin" not in custom.headers


def test_web_call_past_the_cap_answers_202_and_runs_on(
    new_server: Callable[..., SluiceServer],
) -> None:
    srv = new_server(SLUICE_BLOCKING_WAIT_MS="500").start()
    slow = "function main() { return new Promise(r => setTimeout(() => r({body: 'done'}), 1500)) }"
    with srv.client() as c:
        _web(c, "slow-web", slow)
        r = httpx.get(f"{srv.url}/api/v1/web/guest/default/slow-web.json", timeout=30)
        assert r.status_code == 202
        aid = r.json()["activationId"]
        assert r.headers["x-openwhisk-activation-id"] == aid
        assert wait_call(c, aid)["state"] == "success"
