"""OpenAPI 3.1 documents of the routes the app mounts, made from its route table at start
(so a route added is documented, and one removed is gone): every path and method of every
dialect, its path parameters, and the error shape its dialect answers in; the parameters,
bodies and answers that `openapi_specs.py` says more about for the routes clients use most.

`/openapi.json` has every dialect; `/api/v1/api-docs` (where OpenWhisk serves its Swagger)
has OpenWhisk's routes alone; `/docs` shows either in Swagger UI, from the files of the
openapi-ui-bundles package (nothing is fetched from elsewhere)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from typing import Any

from starlette.routing import BaseRoute

from sluice.http.openapi_specs import OPEN, SPECS, Spec, error_shape
from sluice.http.route_table import MountedRoute, walk

_PARAM = re.compile(r"{(\w+)}")
#: documented once, under GET (Starlette answers HEAD wherever GET is served)
_UNDOCUMENTED = frozenset({"HEAD"})


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
    return f"{method.lower()}_{words}"


def _operation(dialect: str, route: MountedRoute, method: str) -> dict[str, Any]:
    spec = SPECS.get((method, route.path), Spec())
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(route.path)
    ]
    for parameter in parameters:
        if parameter["name"] == "ns":  # OpenWhisk's name for the key's own namespace
            parameter["example"] = "_"
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in spec.query.items()
    ]
    responses: dict[str, Any] = {
        str(status): {"description": description} for status, description in spec.ok.items()
    }
    for status, body in spec.bodies.items():
        responses[str(status)]["content"] = {"application/json": {"schema": body}}
    error = error_shape(dialect, route.path)
    responses["default"] = {
        "description": f"an error, in {dialect}'s shape" if error else "any other answer"
    }
    if error is not None and not spec.own_answers:
        media, schema = error
        responses["default"]["content"] = {media: {"schema": schema}}
    operation: dict[str, Any] = {
        "operationId": _operation_id(method, route.path),
        "tags": [dialect],
        "summary": spec.summary or f"{method} {route.path}",
        "parameters": parameters,
        "responses": responses,
    }
    if spec.body is not None:
        operation["requestBody"] = {
            "required": spec.body_required,
            "content": {"application/json": {"schema": spec.body}},
        }
    if (method, route.path) in OPEN or route.path in OPEN:
        operation["security"] = []
    return operation


def document(groups: Mapping[str, Sequence[BaseRoute]], title: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `groups` (dialect name -> its routes)."""
    paths: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for dialect, routes in groups.items():
        for route in walk(routes):
            item = paths.setdefault(route.path, {})
            for method in sorted(route.methods - _UNDOCUMENTED):
                if method.lower() in item:
                    continue
                operation = _operation(dialect, route, method)
                # two paths may spell the same words (/x/{a-b} and /x/{a_b}): ids stay unique
                base, n = operation["operationId"], 1
                while operation["operationId"] in taken:
                    n += 1
                    operation["operationId"] = f"{base}_{n}"
                taken.add(operation["operationId"])
                item[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version("sluice"),
            "description": "Generated from the routes Sluice serves.",
        },
        "components": {
            "securitySchemes": {
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "A namespace key (uuid:secret) as user and password",
                }
            }
        },
        "security": [{"basic": []}],
        "tags": [{"name": name} for name in groups],
        "paths": paths,
    }


SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sluice API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/assets/sluice-docs.js"></script>
</body></html>
"""

#: the page's own script (a file: the page sets no inline script)
SWAGGER_START = """window.ui = SwaggerUIBundle({
  urls: [{url: "/openapi.json", name: "Sluice (every dialect)"},
         {url: "/api/v1/api-docs", name: "OpenWhisk"}],
  dom_id: "#ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
"""
