"""The OpenAPI 3.1 documents a real server serves: every route it mounts, of every dialect,
is in /openapi.json; OpenWhisk's alone in /api/v1/api-docs; Swagger UI at /docs with its
files served by Sluice itself."""

from __future__ import annotations

import re

import httpx
from tests.support.server import SluiceServer

from sluice.asgi import all_routes
from sluice.http.route_table import walk


def _operations(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_every_mounted_route_is_documented(server: SluiceServer) -> None:
    answer = httpx.get(server.url + "/openapi.json", timeout=10)
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"] == "3.1.0"
    documented = _operations(document)
    mounted = {
        (method, route.path)
        for route in walk(all_routes())
        for method in route.methods
        if method != "HEAD"
    }
    assert len(mounted) > 80
    assert mounted - documented == set()
    assert documented - mounted == set()
    # what each dialect's clients call most, by name (the walk above could miss a group)
    for operation in [
        ("PUT", "/api/v1/namespaces/{ns}/actions/{name}"),
        ("POST", "/api/v1/namespaces/{ns}/actions/{name}"),
        ("GET", "/api/v1/namespaces/{ns}/activations/{id}"),
        ("POST", "/function/{name}"),
        ("POST", "/async-function/{name}"),
        ("GET", "/system/functions"),
        ("POST", "/v1/apps"),
        ("POST", "/r/{app}/{path}"),
        ("GET", "/sluice/v1/namespaces/{ns}/calls/{id}"),
        ("GET", "/metrics"),
        ("GET", "/ready"),
        ("GET", "/openapi.json"),
    ]:
        assert operation in documented
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for path, item in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == names, path


def test_openwhisk_has_its_own_document(server: SluiceServer) -> None:
    document = httpx.get(server.url + "/api/v1/api-docs", timeout=10).json()
    paths = set(document["paths"])
    assert "/api/v1/namespaces/{ns}/actions/{name}" in paths
    assert "/api/v1/web/{ns}/{pkg}/{rest}" in paths
    assert not {p for p in paths if p.startswith(("/function", "/v1/", "/system", "/r/"))}
    assert {tag["name"] for tag in document["tags"]} == {"openwhisk"}


def test_swagger_ui_is_served_from_sluice(server: SluiceServer) -> None:
    page = httpx.get(server.url + "/docs", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    for source in sources:
        assert source.startswith("/docs/assets/"), source  # nothing from elsewhere
        asset = httpx.get(server.url + source, timeout=10)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100
    assert "/openapi.json" in httpx.get(server.url + "/docs/assets/sluice-docs.js").text
