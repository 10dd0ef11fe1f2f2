"""The route table the fuzzer covers, read from the app itself: every path template of the
three dialects (and Sluice's own), mounts walked into, with the methods each allows. A
route added to any dialect is fuzzed without a change here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.routing import BaseRoute, Mount, Route

from sluice.asgi import all_routes

_PARAM = re.compile(r"{([a-z_]+)(?::path)?}")


@dataclass(frozen=True)
class Template:
    #: e.g. /api/v1/namespaces/{ns}/actions/{name:path}
    path: str
    methods: tuple[str, ...]

    @property
    def params(self) -> list[tuple[str, bool]]:
        """Each path parameter and whether it may hold slashes (`:path`)."""
        return [(m.group(1), m.group(0).endswith(":path}")) for m in _PARAM.finditer(self.path)]

    def fill(self, values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.path)


def _inner_routes(mount: Mount) -> list[BaseRoute]:
    """A mount's routes, through the middleware a dialect wraps them in."""
    app = mount.app
    while not hasattr(app, "routes"):
        app = app.app
    routes: list[BaseRoute] = app.routes
    return routes


def _walk(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, set[str]]]:
    out: list[tuple[str, set[str]]] = []
    for route in routes:
        if isinstance(route, Mount):
            out += _walk(_inner_routes(route), prefix + route.path)
        elif isinstance(route, Route):
            out.append((prefix + route.path, set(route.methods or ())))
    return out


def templates() -> list[Template]:
    """One template per path, the methods of its routes together, in the app's order."""
    methods: dict[str, set[str]] = {}
    for path, allowed in _walk(all_routes()):
        methods.setdefault(path, set()).update(allowed)
    return [Template(path, tuple(sorted(allowed))) for path, allowed in methods.items()]
