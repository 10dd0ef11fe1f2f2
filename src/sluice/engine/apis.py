"""API gateway routes: a namespace's APIs, each a swagger 2.0 document under one base path
whose operations name a web action (the `x-openwhisk` extension upstream's gateway keeps),
and the lookup that maps a request's path and verb onto one of them.

One API is one entity of the collection `apis`, named by its base path. The documents are
the ones upstream's API management actions store and hand back; what of upstream's gateway
is served and what is not is in docs/apigw.md."""

from __future__ import annotations

import asyncio
import contextlib
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from sluice.engine import entities
from sluice.errors import BadRequest, Conflict
from sluice.records import Entity
from sluice.store.base import Store
from sluice.timing import now_ms

APIS = "apis"
VERBS = ("get", "post", "put", "patch", "delete", "head", "options")
#: the web action extensions a route may answer with (upstream's --response-type)
RESPONSE_TYPES = ("json", "http", "html", "text", "svg")
_WEB_URL = re.compile(
    r"/api/v\d/web/(?P<ns>[^/]+)/(?P<pkg>[^/]+)/(?P<action>[^/]+?)(?:\.(?P<ext>\w+))?$"
)
_PARAM = re.compile(r"\{([^}/]+)\}")
#: the most APIs (base paths) one namespace may keep
MAX_APIS = 500
#: tries to add a route while other routes are added to the same API
_ATTEMPTS = 5


class ApiFailure(BadRequest):
    """An API management request upstream's actions refuse (their message, as is)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route to add: verb and relative path under a base path, onto an action."""

    basepath: str
    relpath: str
    verb: str
    action_namespace: str
    action: str  # "name" or "package/name"
    response_type: str
    backend_host: str
    api_name: str | None = None


@dataclass(frozen=True, slots=True)
class RouteTarget:
    """What a gateway request runs: a web action, with the extension to answer with."""

    namespace: str
    package: str
    action: str
    response_type: str
    path_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RouteMiss:
    """No route: `allowed` lists the verbs of a path that exists (405 rather than 404)."""

    allowed: tuple[str, ...] = ()


def check_basepath(basepath: str) -> str:
    if not basepath.startswith("/") or "{" in basepath or "//" in basepath:
        raise ApiFailure(f"The base path '{basepath[:256]}' must be a plain path from '/'.")
    return basepath.rstrip("/") or "/"


def _check_relpath(relpath: str) -> str:
    if not relpath.startswith("/") or "//" in relpath:
        raise ApiFailure(f"The path '{relpath[:256]}' must start with '/'.")
    if any(name.startswith("__ow_") for name in _PARAM.findall(relpath)):
        # a path parameter so named would pass for what the platform sets (__ow_user...)
        raise ApiFailure(f"The path '{relpath[:256]}' names a reserved parameter (__ow_).")
    return relpath


def base_swagger(basepath: str, api_name: str | None) -> dict[str, Any]:
    return {
        "swagger": "2.0",
        "info": {"title": api_name or basepath, "version": "1.0.0"},
        "basePath": basepath,
        "paths": {},
    }


def web_url(host: str, namespace: str, action: str, response_type: str) -> str:
    package, _, name = action.rpartition("/")
    return f"{host}/api/v1/web/{namespace}/{package or 'default'}/{name}.{response_type}"


def add_endpoint(swagger: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    """`swagger` with the endpoint's operation added (or replaced), as upstream adds it."""
    verb = endpoint.verb.lower()
    package, _, name = endpoint.action.rpartition("/")
    paths: dict[str, Any] = swagger.setdefault("paths", {})
    operation_id = f"{verb}_{endpoint.relpath}"
    paths.setdefault(endpoint.relpath, {})[verb] = {
        "operationId": operation_id,
        "x-openwhisk": {
            "url": web_url(
                endpoint.backend_host,
                endpoint.action_namespace,
                endpoint.action,
                endpoint.response_type,
            ),
            "namespace": endpoint.action_namespace,
            "package": package,
            "action": name,
        },
        "responses": {"default": {"description": "Default response"}},
    }
    return swagger


def remove_endpoint(swagger: dict[str, Any], relpath: str, verb: str | None) -> dict[str, Any]:
    """`swagger` without the relative path (or only its verb); refused as upstream refuses
    a path or verb the API lacks."""
    paths: dict[str, Any] = swagger.get("paths", {})
    if relpath not in paths:
        raise ApiFailure(f"path {relpath} does not exist in the API")
    if verb is None:
        del paths[relpath]
        return swagger
    if verb.lower() not in paths[relpath]:
        raise ApiFailure(f"path {relpath} with operation {verb.lower()} does not exist in the API")
    del paths[relpath][verb.lower()]
    if not paths[relpath]:
        del paths[relpath]
    return swagger


def operation_target(operation: Any, owner: str) -> RouteTarget | None:
    """The web action an operation names (`x-openwhisk`: namespace, package, action, or its
    url); `_` is the API owner's namespace. None when it names none."""
    if not isinstance(operation, dict) or not isinstance(operation.get("x-openwhisk"), dict):
        return None
    ext: dict[str, Any] = operation["x-openwhisk"]
    url = ext.get("url") if isinstance(ext.get("url"), str) else ""
    parsed = _WEB_URL.search(url or "")
    namespace, package, action = ext.get("namespace"), ext.get("package"), ext.get("action")
    response_type = (parsed.group("ext") if parsed else None) or "json"
    if not (isinstance(namespace, str) and isinstance(action, str) and namespace and action):
        if parsed is None:
            return None
        namespace, package, action = parsed.group("ns"), parsed.group("pkg"), parsed.group("action")
    if response_type not in RESPONSE_TYPES:
        response_type = "json"
    return RouteTarget(
        owner if namespace == "_" else namespace,
        package if isinstance(package, str) and package else "default",
        action,
        response_type,
    )


def check_swagger(swagger: Any) -> dict[str, Any]:
    """A swagger document given whole (`--config-file`): the fields upstream requires, each
    operation onto an action, and no access control this gateway would not enforce."""
    if not isinstance(swagger, dict):
        raise ApiFailure("swagger field cannot be parsed. Ensure it is valid JSON.")
    for key, message in (
        ("basePath", "swagger is missing the basePath field."),
        ("paths", "swagger is missing the paths field."),
        ("info", "swagger is missing the info field."),
    ):
        if not swagger.get(key):
            raise ApiFailure(message)
    if (
        not isinstance(swagger["basePath"], str)
        or not isinstance(swagger["paths"], dict)
        or not isinstance(swagger["info"], dict)
    ):
        raise ApiFailure("swagger basePath must be a string, paths and info objects.")
    if swagger.get("security") or swagger.get("securityDefinitions"):
        # served open, an API its author meant to protect would be exposed: refuse instead
        raise ApiFailure(
            "API keys and OAuth (security, securityDefinitions) are not supported by this"
            " gateway; remove them, or protect the action with require-whisk-auth."
        )
    check_basepath(swagger["basePath"])
    for relpath, operations in swagger["paths"].items():
        _check_relpath(relpath)
        if not isinstance(operations, dict):
            raise ApiFailure(f"path {relpath} must map verbs to operations.")
        for verb, operation in operations.items():
            if verb not in VERBS:
                raise ApiFailure(f"path {relpath} has an unknown operation '{verb}'.")
            if operation_target(operation, "_") is None:
                raise ApiFailure(f"path {relpath} operation {verb} names no action (x-openwhisk).")
    return swagger


def _template(relpath: str) -> re.Pattern[str]:
    parts = _PARAM.split(relpath)
    pattern = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<p{i // 2}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(pattern + "$")


def match_path(paths: dict[str, Any], rest: str) -> tuple[str, dict[str, str]] | None:
    """The swagger path `rest` falls under, with its path parameters; a plain path wins over
    a template."""
    if rest in paths:
        return rest, {}
    for relpath in sorted(paths, key=len, reverse=True):
        names = _PARAM.findall(relpath)
        if not names:
            continue
        found = _template(relpath).match(rest)
        if found:
            return relpath, {name: found.group(f"p{i}") for i, name in enumerate(names)}
    return None


class Apis:
    def __init__(self, store: Store) -> None:
        self.store = store
        #: weak: a lock lives only while some add holds or awaits it
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def _save(self, namespace: str, basepath: str, swagger: dict[str, Any]) -> Entity:
        old = await self.store.get_entity(namespace, APIS, basepath)
        if old is None and await self.store.count_entities(namespace, APIS) >= MAX_APIS:
            raise ApiFailure(f"A namespace may keep at most {MAX_APIS} APIs.")
        entity = Entity(
            namespace=namespace,
            collection=APIS,
            name=basepath,
            version=entities.bump(old.version) if old else "0.0.1",
            updated=now_ms(),
            doc={"swagger": swagger},
        )
        await self.store.put_entity(entity, replaces=old.version if old else None)
        return entity

    async def add(self, namespace: str, endpoint: Endpoint) -> Entity:
        """Add a route to the API at its base path (made when it is the first)."""
        basepath = check_basepath(endpoint.basepath)
        if endpoint.verb.lower() not in VERBS:
            raise ApiFailure(f"The operation '{endpoint.verb}' is not one of {', '.join(VERBS)}.")
        if endpoint.response_type not in RESPONSE_TYPES:
            raise ApiFailure(
                f"The response type '{endpoint.response_type}' is not one of"
                f" {', '.join(RESPONSE_TYPES)}."
            )
        _check_relpath(endpoint.relpath)
        # routes added at once to one API (a deploy's, a script's) take turns here; another
        # API server's meanwhile shows as a Conflict, and the route is added again
        lock = self._locks.setdefault((namespace, basepath), asyncio.Lock())
        async with lock:
            for _ in range(_ATTEMPTS - 1):
                with contextlib.suppress(Conflict):
                    return await self._add_once(namespace, basepath, endpoint)
            return await self._add_once(namespace, basepath, endpoint)

    async def _add_once(self, namespace: str, basepath: str, endpoint: Endpoint) -> Entity:
        old = await self.store.get_entity(namespace, APIS, basepath)
        swagger = old.doc["swagger"] if old else base_swagger(basepath, endpoint.api_name)
        return await self._save(namespace, basepath, add_endpoint(swagger, endpoint))

    async def replace(self, namespace: str, swagger: Any) -> Entity:
        """The whole API from a swagger document, replacing any at its base path."""
        checked = check_swagger(swagger)
        basepath = check_basepath(checked["basePath"])
        checked["basePath"] = basepath
        return await self._save(namespace, basepath, checked)

    async def find(self, namespace: str, base_or_name: str | None) -> list[Entity]:
        """The namespace's APIs: all, the one at a base path (`/...`), or those so titled."""
        if base_or_name and base_or_name.startswith("/"):
            found = await self.store.get_entity(namespace, APIS, base_or_name.rstrip("/") or "/")
            return [found] if found else []
        every = await self.store.list_entities(namespace, APIS, 0, MAX_APIS)
        if not base_or_name:
            return sorted(every, key=lambda e: e.name)
        return [e for e in every if e.doc["swagger"].get("info", {}).get("title") == base_or_name]

    async def remove(
        self, namespace: str, base_or_name: str, relpath: str | None, verb: str | None
    ) -> None:
        """Delete an API, one of its paths, or one verb of a path; an API left with no paths
        goes too."""
        if verb and not relpath:
            raise ApiFailure("When specifying an operation, the path is required.")
        found = await self.find(namespace, base_or_name)
        if not found:
            raise ApiFailure(f"API '{base_or_name}' does not exist.")
        entity = found[0]
        if not relpath:
            await entities.delete(self.store, namespace, APIS, entity.name)
            return
        swagger = remove_endpoint(entity.doc["swagger"], relpath, verb)
        if swagger.get("paths"):
            await self._save(namespace, entity.name, swagger)
        else:
            await entities.delete(self.store, namespace, APIS, entity.name)

    async def route(self, namespace: str, path: str, verb: str) -> RouteTarget | RouteMiss:
        """The web action a request to `path` (below the namespace's gateway URL) runs."""
        bases = await self.store.list_entities(namespace, APIS, 0, MAX_APIS)
        for entity in sorted(bases, key=lambda e: len(e.name), reverse=True):
            base = entity.name
            if base == "/":
                rest = path
            elif path == base or path.startswith(base + "/"):
                rest = path[len(base) :]
            else:
                continue
            paths: dict[str, Any] = entity.doc["swagger"].get("paths", {})
            matched = match_path(paths, rest or "/")
            if matched is None:
                continue
            relpath, params = matched
            operations = paths[relpath]
            target = operation_target(operations.get(verb.lower()), namespace)
            if target is None:
                return RouteMiss(tuple(v.upper() for v in operations if v in VERBS))
            return RouteTarget(
                target.namespace, target.package, target.action, target.response_type, params
            )
        return RouteMiss()
