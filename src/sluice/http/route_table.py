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
    (the endpoint and the mount's root_path; the path parameters' names only where one
    endpoint serves several paths of a mount): a dict lookup or two."""

    UNMATCHED = "unmatched"

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        by_params: dict[tuple[str, Any], dict[frozenset[str], str]] = {}
        for route in walk(routes):
            paths = by_params.setdefault((route.prefix, route.endpoint), {})
            paths.setdefault(route.params, route.path)
        #: (root_path, endpoint) -> its one template, or its templates by parameter names
        self._by_key: dict[tuple[str, Any], str | dict[frozenset[str], str]] = {
            key: next(iter(paths.values())) if len(paths) == 1 else paths
            for key, paths in by_params.items()
        }

    def of(self, scope: Scope) -> str:
        found = self._by_key.get((scope.get("root_path", ""), scope.get("endpoint")))
        if found is None or isinstance(found, str):
            return found or self.UNMATCHED
        return found.get(frozenset(scope.get("path_params", ())), self.UNMATCHED)
