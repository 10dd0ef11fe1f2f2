"""The routes that serve the OpenAPI documents (http/openapi.py) and Swagger UI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import orjson
from openapi_ui_bundles.swagger_ui import static_path
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sluice.http.openapi import SWAGGER_PAGE, SWAGGER_START, document

#: the dialect whose routes /api/v1/api-docs shows (where OpenWhisk serves its own)
OPENWHISK = "openwhisk"
#: Swagger UI's files the page loads (by name: nothing else of the package is served)
_ASSETS = {
    name: static_path / name
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")
}


class Documents:
    """The app's documents, made once from its routes (on first request)."""

    def __init__(self, groups: Mapping[str, Sequence[BaseRoute]]) -> None:
        self.groups = groups

    @cached_property
    def everything(self) -> bytes:
        return orjson.dumps(document(self.groups, "Sluice"))

    @cached_property
    def openwhisk(self) -> bytes:
        only = {OPENWHISK: self.groups[OPENWHISK]}
        return orjson.dumps(document(only, "Sluice: the OpenWhisk API"))


def _documents(request: Request) -> Documents:
    documents: Documents = request.app.state.openapi
    return documents


async def openapi_json(request: Request) -> Response:
    return Response(_documents(request).everything, media_type="application/json")


async def openwhisk_json(request: Request) -> Response:
    return Response(_documents(request).openwhisk, media_type="application/json")


async def swagger_page(request: Request) -> Response:
    return Response(SWAGGER_PAGE, media_type="text/html; charset=utf-8")


async def swagger_asset(request: Request) -> Response:
    name = request.path_params["file"]
    if name == "sluice-docs.js":
        return Response(SWAGGER_START, media_type="text/javascript; charset=utf-8")
    path = _ASSETS.get(name)
    if path is None:
        return PlainTextResponse("Not Found", status_code=404)
    return FileResponse(path)


def docs_routes() -> list[BaseRoute]:
    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/api/v1/api-docs", openwhisk_json, methods=["GET"]),
        Route("/docs", swagger_page, methods=["GET"]),
        Route("/docs/assets/{file}", swagger_asset, methods=["GET"]),
    ]
