"""OpenWhisk's REST routes, served under /api/v1 and mirrored under /runtime/api/v1 (where
the aio CLI sends create, update and delete on its deploy-service path, with a Bearer key)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from sluice.dialects.openwhisk import (
    actions,
    activations,
    apimgmt,
    entities,
    gateway,
    limits,
    namespaces,
    platform,
    web,
)
from sluice.http.routing import by_method

_NS = "/namespaces/{ns}"


def _api_routes(prefix: str) -> list[BaseRoute]:
    return [
        *apimgmt.routes(prefix),
        Route(f"{prefix}", namespaces.api_info, methods=["GET"]),
        Route(f"{prefix}/namespaces", namespaces.list_namespaces, methods=["GET"]),
        Route(f"{prefix}{_NS}/actions", actions.list_actions, methods=["GET"]),
        by_method(
            f"{prefix}{_NS}/actions/{{name:path}}",
            {
                "POST": actions.invoke_action,
                "GET": actions.get_action,
                "PUT": actions.put_action,
                "DELETE": actions.delete_action,
            },
        ),
        Route(f"{prefix}{_NS}/activations", activations.list_activations, methods=["GET"]),
        Route(f"{prefix}{_NS}/activations/{{id}}", activations.get_activation, methods=["GET"]),
        Route(f"{prefix}{_NS}/activations/{{id}}/result", activations.get_result, methods=["GET"]),
        Route(f"{prefix}{_NS}/activations/{{id}}/logs", activations.get_logs, methods=["GET"]),
        *entities.routes(prefix),
        *limits.routes(f"{prefix}{_NS}"),
    ]


def routes() -> list[BaseRoute]:
    return [
        Route("/", platform.root, methods=["GET"]),
        *apimgmt.routes("/api/v1"),
        *web.routes(),
        *_api_routes("/api/v1"),
        *_api_routes("/runtime/api/v1"),
        Route("/runtime/namespaces/{ns}/logForwarding", namespaces.log_forwarding, methods=["GET"]),
        *gateway.routes(),
    ]
