"""The routes that serve the OpenAPI documents (http/openapi.py) and Swagger UI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from sluice.http.openapi import SWAGGER_PAGE, SWAGGER_START, document

#: the dialect whose routes /api/v1/api-docs shows (where OpenWhisk serves its own)
OPENWHISK = "openwhisk"


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


async def swagger_start(request: Request) -> Response:
    return Response(SWAGGER_START, media_type="text/javascript; charset=utf-8")


def docs_routes() -> list[BaseRoute]:
    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/api/v1/api-docs", openwhisk_json, methods=["GET"]),
        Route("/docs", swagger_page, methods=["GET"]),
        Route("/docs/assets/sluice-docs.js", swagger_start, methods=["GET"]),
        Mount("/docs/assets", app=StaticFiles(directory=str(swagger_ui_path))),
    ]
