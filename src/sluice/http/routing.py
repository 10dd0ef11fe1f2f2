"""A router that tries only the routes under a request's first path segment.

Starlette's router tries every route in turn. With four dialects on one app (some 80
routes), an async call of an OpenFaaS function was matched against 56 OpenWhisk, Fn and
Sluice routes before its own: a sixth of what accepting it cost."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, ExceptionHandler, Lifespan, Receive, Scope, Send


def first_segment(path: str) -> str:
    """`/api/v1/x` -> `api`; `/` -> ``."""
    return path.split("/", 2)[1] if path.startswith("/") else ""


def _route_path(scope: Scope) -> str:
    """The path the routes see: below the root path the app is mounted at, if any."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _route_prefix(route: BaseRoute) -> str | None:
    """The first segment every path of `route` starts with; None when it is a parameter."""
    path: str | None = getattr(route, "path", None)
    if path is None:
        return None
    segment = first_segment(path)
    return None if "{" in segment else segment


def mounted_routes(app: object) -> Sequence[BaseRoute]:
    """The routes of a mounted app, looking through the middleware it is wrapped in
    (`dialect_routes`); none for an app without routes (static files)."""
    while app is not None:
        routes = getattr(app, "routes", None)
        if routes is not None:
            return list(routes)
        app = getattr(app, "app", None)
    return []


def match_any_character(routes: Iterable[BaseRoute]) -> None:
    """Let `.*` in the routes' patterns (a mount's rest, a {path:path}) match a newline too:
    Starlette compiles them without DOTALL, so a path holding an encoded newline (%0A) fell
    past every mount to the top-level 404, in OpenWhisk's shape whatever the dialect."""
    for route in routes:
        if isinstance(route, Mount | Route):
            route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
        if isinstance(route, Mount):
            match_any_character(mounted_routes(route.app))


def _literal_prefix(route: BaseRoute) -> str:
    """What every path `route` matches starts with: its path up to its first parameter
    ("" when it has no path, so that it is always tried)."""
    path: str | None = getattr(route, "path", None)
    return "" if path is None else path.split("{", 1)[0]


class PrefixRouter(Router):
    """Starlette's Router, but a route is tried only when the request's path starts with
    the literal part of the route's (each failed try is a regex match and a route path
    worked out, 5,000 instructions: an OpenWhisk invoke tried eight routes before its own).
    The first route in order that matches in full answers, as in Starlette; when none does,
    Starlette's own loop runs (a 405, a slash redirect, the 404)."""

    def __init__(self, routes: Sequence[BaseRoute], lifespan: Lifespan[Any] | None = None) -> None:
        super().__init__(routes, lifespan=lifespan)
        self._prefixed = [(route, _literal_prefix(route)) for route in self.routes]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = get_route_path(scope)
            for route, prefix in self._prefixed:
                if not path.startswith(prefix):
                    continue
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    if "router" not in scope:
                        scope["router"] = self
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


class SegmentRouter(Router):
    """Same routes, same order and same answers (405, slash redirects, 404) as Starlette's
    Router, but each request is matched only against its first segment's group. A route
    whose first segment is a parameter would belong to every group: such routes are matched
    by the plain Router's way, trying them all."""

    def __init__(self, routes: Sequence[BaseRoute], lifespan: Lifespan[Any] | None = None) -> None:
        super().__init__(routes, lifespan=lifespan)
        match_any_character(self.routes)
        prefixes = [_route_prefix(route) for route in self.routes]
        grouped: dict[str, list[BaseRoute]] = {}
        if None not in prefixes:  # else no groups: every request tries every route
            for prefix, route in zip(prefixes, self.routes, strict=True):
                grouped.setdefault(str(prefix), []).append(route)
        self._groups = {prefix: PrefixRouter(group) for prefix, group in grouped.items()}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            group = self._groups.get(first_segment(_route_path(scope)))
            if group is not None:
                # url_for looks routes up on the router in the scope: let it see them all
                scope.setdefault("router", self)
                await group.app(scope, receive, send)
                return
        await super().app(scope, receive, send)


def dialect_routes(
    routes: Sequence[BaseRoute], handlers: Mapping[Any, ExceptionHandler]
) -> ASGIApp:
    """Routes to mount whose errors, unknown paths included, a dialect writes in its own
    shape: a router inside Starlette's exception middleware. (A whole Starlette app per
    mount added its own error middleware to every request, and logged an unexpected error
    twice: once in its handler, once when it re-raised it.)"""
    return ExceptionMiddleware(PrefixRouter(list(routes)), handlers=dict(handlers))


Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(path: str, endpoints: Mapping[str, Endpoint]) -> Route:
    """One route for a path whose methods each have an endpoint: the path is matched once
    per request instead of once per method, and a 405 lists every method it allows (HEAD
    goes where GET does)."""
    handlers = dict(endpoints)
    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])

    async def endpoint(request: Request) -> Response:
        return await handlers[request.method](request)

    return Route(path, endpoint, methods=list(handlers))
