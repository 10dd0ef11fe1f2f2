"""API gateway routes through the real clients: `aio rt:api:*` (arguments and a swagger
`--config-file`) and the openwhisk npm client's `ow.routes`, answered as upstream's
`/whisk.system/apimgmt` actions answer, and served under `/api/{namespace uuid}/...`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.aio import AioCli, node_tools_dir
from tests.support.ow_client import ow_call
from tests.support.server import SluiceServer, put_action

WEB = [{"key": "web-export", "value": True}]
ECHO = "function main(args) { return {got: args} }"
HTTP_ECHO = "function main(args) { return {statusCode: 201, body: {isbn: args.isbn}} }"


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What the CLI printed, unwrapped: it folds long error lines behind a `\u203a` mark."""
    return " ".join((result.stdout + result.stderr).replace("\u203a", " ").split())


@pytest.fixture
def aio(server: SluiceServer, tmp_path: Path) -> AioCli:
    return AioCli(node_tools_dir(), server.url, server.namespace, server.auth, tmp_path / "home")


def _uuid(server: SluiceServer) -> str:
    return server.auth.partition(":")[0]


def _actions(server: SluiceServer, *names: str, web: bool = True) -> None:
    with server.client() as c:
        for name in names:
            r = put_action(c, name, ECHO, annotations=WEB if web else [])
            assert r.status_code == 200, r.text


def test_aio_create_serve_list_get_delete(server: SluiceServer, aio: AioCli) -> None:
    _actions(server, "gw-hello")
    url = aio.run_ok(
        "rt:api:create", "--apiname", "Greetings", "/gw1", "/world", "get", "gw-hello"
    ).strip()
    assert url == f"{server.url}/api/{_uuid(server)}/gw1/world"
    preflight = httpx.options(url, timeout=30)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"

    served = httpx.get(url, params={"name": "Ada"}, timeout=30)
    assert served.status_code == 200, served.text
    assert served.json()["got"]["name"] == "Ada"
    assert served.json()["got"]["__ow_method"] == "get"
    wrong_verb = httpx.post(url, timeout=30)
    assert wrong_verb.status_code == 405
    assert wrong_verb.headers["allow"] == "GET"
    assert httpx.get(url + "/deeper", timeout=30).status_code == 404

    doc = aio.run_json("rt:api:get", "/gw1")
    assert doc == aio.run_json("rt:api:get", "Greetings")
    assert doc["basePath"] == "/gw1"
    operation = doc["paths"]["/world"]["get"]
    assert operation["operationId"] == "get_/world"
    assert operation["x-openwhisk"] == {
        "url": f"{server.url}/api/v1/web/guest/default/gw-hello.json",
        "namespace": "guest",
        "package": "",
        "action": "gw-hello",
    }
    table = aio.run_ok("rt:api:list")
    assert re.search(rf"/get_/world\s+get\s+Greetings\s+{re.escape(url)}", table), table

    assert aio.run_ok("rt:api:delete", "/gw1", "/world", "get") == ""
    assert httpx.get(url, timeout=30).status_code == 404
    gone = aio.run("rt:api:delete", "/gw1")
    assert gone.returncode != 0
    assert "api deletion failure: api '/gw1' does not exist. (502 Bad Gateway)" in said(gone)


def test_aio_config_file_swagger_with_a_path_parameter(
    server: SluiceServer, aio: AioCli, tmp_path: Path
) -> None:
    with server.client() as c:
        assert put_action(c, "gw-book", HTTP_ECHO, annotations=WEB).status_code == 200
    swagger = {
        "swagger": "2.0",
        "info": {"title": "Book Club", "version": "1.0.0"},
        "basePath": "/club",
        "paths": {
            "/books/{isbn}": {
                "put": {
                    "operationId": "putBook",
                    "x-openwhisk": {
                        "namespace": "_",
                        "package": "",
                        "action": "gw-book",
                        "url": f"{server.url}/api/v1/web/_/default/gw-book.http",
                    },
                    "responses": {"default": {"description": "Default response"}},
                }
            }
        },
    }
    config = tmp_path / "api.json"
    config.write_text(json.dumps(swagger))
    base = aio.run_ok("rt:api:create", "--config-file", str(config)).strip()
    assert base == f"{server.url}/api/{_uuid(server)}/club"
    put = httpx.put(f"{base}/books/978-0596517748", params={"isbn": "spoofed"}, timeout=30)
    assert put.status_code == 201, put.text
    assert put.json() == {"isbn": "978-0596517748"}
    # the API's title names it too, as upstream's getApi allows
    assert aio.run_json("rt:api:get", "Book Club")["paths"] == swagger["paths"]
    assert aio.run_ok("rt:api:delete", "Book Club") == ""
    assert httpx.put(f"{base}/books/1", timeout=30).status_code == 404

    swagger["securityDefinitions"] = {"key": {"type": "apiKey", "name": "X-Key", "in": "header"}}
    config.write_text(json.dumps(swagger))
    refused = aio.run("rt:api:create", "--config-file", str(config))
    assert refused.returncode != 0
    assert "api keys and oauth" in said(refused).lower()


def test_openwhisk_client_routes_as_its_own_integration_test(server: SluiceServer) -> None:
    # upstream's own integration test routes to an action that is not a web action: the
    # route is made (upstream's apimgmt does not check), and calling it answers as the web
    # URL of such an action answers: 404
    _actions(server, "gw-route-action", web=False)
    outcome = ow_call(
        """
        const made = await ow.routes.create({action: 'gw-route-action', basepath: '/testing',
                                             relpath: '/foo/bar', operation: 'POST'})
        const listed = await ow.routes.list({basepath: '/testing'})
        const got = await ow.routes.get({basepath: '/testing'})
        await ow.routes.delete({basepath: '/testing'})
        const after = await ow.routes.list({basepath: '/testing'})
        return {made, listed, got, after}
        """,
        apihost=server.url,
        api_key=server.auth,
        namespace="guest",
    )
    assert outcome.ok, outcome.error
    made, listed = outcome.value["made"], outcome.value["listed"]
    assert made["gwApiUrl"] == f"{server.url}/api/{_uuid(server)}/testing"
    assert made["gwApiActivated"] is True
    assert listed["apis"][0]["id"] == "Not Used"
    apidoc = listed["apis"][0]["value"]["apidoc"]
    assert apidoc["basePath"] == "/testing"
    assert apidoc["paths"]["/foo/bar"]["post"]["x-openwhisk"]["action"] == "gw-route-action"
    assert outcome.value["got"] == listed
    assert outcome.value["after"] == {"apis": []}


def test_a_route_to_a_non_web_action_is_refused_when_called(server: SluiceServer) -> None:
    _actions(server, "gw-private", web=False)
    outcome = ow_call(
        "return ow.routes.create({action: 'gw-private', basepath: '/priv', relpath: '/x',"
        " operation: 'GET'})",
        apihost=server.url,
        api_key=server.auth,
        namespace="guest",
    )
    assert outcome.ok, outcome.error
    r = httpx.get(outcome.value["gwApiUrl"] + "/x", timeout=30)
    assert r.status_code == 404
    assert r.json()["error"] == "The requested resource does not exist."


def test_apimgmt_errors_and_the_action_route(server: SluiceServer) -> None:
    _actions(server, "gw-act")
    web = f"{server.url}/api/v1/web/whisk.system/apimgmt"
    assert httpx.post(f"{web}/createApi", json={}, timeout=30).status_code == 401
    with server.client() as c:
        missing = c.post(f"{web}/createApi", json={})
        assert missing.status_code == 502
        assert missing.json() == {"error": "API creation failure: apidoc is required."}
        half = c.post(f"{web}/createApi.http", json={"apidoc": {"namespace": "_"}})
        assert half.json() == {
            "error": "API creation failure: apidoc is missing the gatewayBasePath field."
        }
        bad_json = c.post(f"{web}/createApi", json={"apidoc": "{not json"})
        assert "cannot be parsed" in bad_json.json()["error"]
        assert c.post(f"{web}/nosuchApi", json={}).status_code == 404
        no_base = c.delete(f"{web}/deleteApi")
        assert no_base.json() == {"error": "API deletion failure: basepath is required."}

        apidoc = {
            "namespace": "_",
            "gatewayBasePath": "/act",
            "gatewayPath": "/run",
            "gatewayMethod": "post",
            "action": {
                "name": "gw-act",
                "namespace": "_",
                "backendMethod": "GET",
                "backendUrl": f"{server.url}/api/v1/web/_/default/gw-act.http",
                "authkey": server.auth,
            },
        }
        invoked = c.post(
            "/api/v1/namespaces/whisk.system/actions/apimgmt/createApi?blocking=true",
            json={"apidoc": apidoc},
        )
        assert invoked.status_code == 200, invoked.text
        activation = invoked.json()
        assert activation["response"]["success"] is True
        created = activation["response"]["result"]
        assert created["gwApiUrl"] == f"{server.url}/api/{_uuid(server)}/act"
        ran = httpx.post(created["gwApiUrl"] + "/run", json={"n": 1}, timeout=30)
        assert ran.json()["got"]["n"] == 1
        reserved = dict(apidoc, gatewayPath="/{__ow_user}")
        refused = c.post(f"{web}/createApi", json={"apidoc": reserved})
        assert refused.status_code == 502
        assert "reserved parameter" in refused.json()["error"]
        deleted = c.post(
            "/api/v1/namespaces/whisk.system/actions/apimgmt/deleteApi?blocking=true&result=true",
            json={"basepath": "/act"},
        )
        assert deleted.status_code == 200
        assert deleted.json() == {}
    assert httpx.get(f"{server.url}/api/not-a-namespace/act/run", timeout=30).status_code == 404
    other = "00000000-0000-4000-8000-000000000000"
    assert httpx.get(f"{server.url}/api/{other}/act/run", timeout=30).status_code == 404


def test_other_namespaces_see_none_of_the_apis(server: SluiceServer) -> None:
    _actions(server, "gw-mine")
    mine = ow_call(
        "return ow.routes.create({action: 'gw-mine', basepath: '/mine', relpath: '/a',"
        " operation: 'GET'})",
        apihost=server.url,
        api_key=server.auth,
        namespace="guest",
    )
    assert mine.ok, mine.error
    other_key = server.admin("namespace", "create", "gw-other")
    theirs = ow_call(
        "return ow.routes.list({})",
        apihost=server.url,
        api_key=other_key,
        namespace="gw-other",
    )
    assert theirs.ok, theirs.error
    assert theirs.value == {"apis": []}
    gone = ow_call(
        "return ow.routes.delete({basepath: '/mine'})",
        apihost=server.url,
        api_key=other_key,
        namespace="gw-other",
    )
    assert not gone.ok
    assert httpx.get(mine.value["gwApiUrl"] + "/a", timeout=30).status_code == 200


def test_routes_added_at_once_to_one_api_are_all_kept(server: SluiceServer) -> None:
    _actions(server, "gw-many")
    outcome = ow_call(
        """
        const verbs = ['get', 'post', 'put', 'delete', 'patch']
        await Promise.all(verbs.map(operation => ow.routes.create(
          {action: 'gw-many', basepath: '/many', relpath: '/x', operation})))
        return ow.routes.get({basepath: '/many'})
        """,
        apihost=server.url,
        api_key=server.auth,
        namespace="guest",
    )
    assert outcome.ok, outcome.error
    paths = outcome.value["apis"][0]["value"]["apidoc"]["paths"]
    assert set(paths["/x"]) == {"get", "post", "put", "delete", "patch"}


@pytest.mark.parametrize(
    ("swagger", "message"),
    [
        ({"basePath": "/b", "paths": {}, "info": {"title": "t"}}, "missing the paths field"),
        ({"basePath": "/b", "paths": {"/x": {}}, "info": "t"}, "paths and info objects"),
        ({"basePath": "b", "paths": {"/x": {}}, "info": {}}, "missing the info field"),
        ({"basePath": "b", "paths": {"/x": {}}, "info": {"t": 1}}, "plain path from '/'"),
        ({"basePath": "/b", "paths": {"x": {}}, "info": {"t": 1}}, "must start with '/'"),
        ({"basePath": "/b", "paths": {"/x": {"get": {}}}, "info": {"t": 1}}, "names no action"),
        ({"basePath": "/b", "paths": {"/x": {"fetch": {}}}, "info": {"t": 1}}, "unknown"),
        ("[" * 200 + "]" * 200, "cannot be parsed"),
    ],
)
def test_bad_swagger_documents_are_refused(
    server: SluiceServer, swagger: Any, message: str
) -> None:
    body = {"apidoc": {"namespace": "_", "swagger": swagger}}
    with server.client() as c:
        r = c.post("/api/v1/web/whisk.system/apimgmt/createApi", json=body)
    assert r.status_code == 502, r.text
    assert r.json()["error"].startswith("API creation failure: ")
    assert message in r.json()["error"]


def test_aio_on_its_deploy_service_route(server: SluiceServer, tmp_path: Path) -> None:
    # without USE_RUNTIME_AUTH, aio sends create and delete to {deploy service}/runtime/...
    # with the key as a Bearer token
    aio = AioCli(
        node_tools_dir(),
        server.url,
        server.namespace,
        server.auth,
        tmp_path / "home",
        deploy_service_url=server.url,
        ims_token=server.auth,
    )
    _actions(server, "gw-ds")
    url = aio.run_ok("rt:api:create", "/ds", "/x", "get", "gw-ds").strip()
    assert url == f"{server.url}/api/{_uuid(server)}/ds/x"
    assert httpx.get(url, timeout=30).json()["got"]["__ow_method"] == "get"
    assert aio.run_ok("rt:api:delete", "/ds") == ""
    assert httpx.get(url, timeout=30).status_code == 404
