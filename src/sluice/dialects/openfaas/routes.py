"""OpenFaaS's gateway routes, each group mounted with OpenFaaS's error handlers so that its
errors, unknown paths included, come as OpenFaaS writes them: plain text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from sluice.dialects.openfaas import calls, invoke, logs, scaling, secrets, system
from sluice.dialects.openfaas.errors import HANDLERS
from sluice.http.routing import dialect_routes

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
#: the path prefixes whose OPTIONS requests belong to functions, not to the API's CORS
FUNCTION_PREFIXES = ("/function/", "/async-function/")


def _named(endpoint: Callable[[Request], Awaitable[Response]]) -> list[BaseRoute]:
    return [
        Route("/{name}", endpoint, methods=ALL_METHODS),
        Route("/{name}/{path:path}", endpoint, methods=ALL_METHODS),
    ]


def routes() -> list[BaseRoute]:
    return [
        Mount("/function", app=dialect_routes(_named(invoke.call_function), HANDLERS)),
        Mount("/async-function", app=dialect_routes(_named(calls.async_function), HANDLERS)),
        Mount("/system", app=dialect_routes(_system(), HANDLERS)),
        Route("/healthz", system.healthz, methods=["GET"]),
    ]


def _system() -> list[BaseRoute]:
    return [
        Route("/functions", system.list_functions, methods=["GET"]),
        Route("/functions", system.deploy, methods=["POST", "PUT"]),
        Route("/functions", system.remove, methods=["DELETE"]),
        Route("/function/{name}", system.get_function, methods=["GET"]),
        Route("/info", system.info, methods=["GET"]),
        Route("/secrets", secrets.secrets, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/logs", logs.function_logs, methods=["GET"]),
        Route("/namespaces", system.namespaces, methods=["GET"]),
        Route("/scale-function/{name}", scaling.scale_function, methods=["POST"]),
        Route("/alert", scaling.alert, methods=["POST"]),
        Route("/dead-letters", system.list_dead_letters, methods=["GET"]),
        Route("/dead-letters/{id}/redrive", system.redrive, methods=["POST"]),
        Route("/dead-letters/{id}", system.dismiss, methods=["DELETE"]),
        Route("/queue/{name}", calls.cancel_queued, methods=["DELETE"]),
    ]
