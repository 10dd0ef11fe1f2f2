"""Every route the app serves, with its full path template: for the request metrics (which
name a request by its route, not its path) and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Scope

from sluice.http.routing import mounted_routes

#: a parameter's converter in a Starlette path ({name:path}): not part of the template
_CONVERTER = re.compile(r"{(\w+):\w+}")


@dataclass(frozen=True, slots=True)
class MountedRoute:
    #: the full path template, e.g. /function/{name} (OpenAPI's form: no converters)
    path: str
    methods: frozenset[str]
    endpoint: Callable[..., Any]
    #: the path the enclosing mount matched (a request's root_path below it)
    prefix: str
    params: frozenset[str]


def walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[MountedRoute]:
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(mounted_routes(route.app), prefix + route.path)
        elif isinstance(route, Route):
            yield MountedRoute(
                path=_CONVERTER.sub(r"{\1}", prefix + route.path),
                methods=frozenset(route.methods or ()),
                endpoint=route.endpoint,
                prefix=prefix,
                params=frozenset(route.param_convertors),
            )


class Templates:
    """The route template of a request once routed, from what the routers left in its scope
    (the endpoint, the mount's root_path, the path parameters' names): a dict lookup."""

    UNMATCHED = "unmatched"

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._by_key: dict[tuple[str, Any, frozenset[str]], str] = {}
        for route in walk(routes):
            self._by_key.setdefault((route.prefix, route.endpoint, route.params), route.path)

    def of(self, scope: Scope) -> str:
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return self.UNMATCHED
        key = (scope.get("root_path", ""), endpoint, frozenset(scope.get("path_params", ())))
        return self._by_key.get(key, self.UNMATCHED)
