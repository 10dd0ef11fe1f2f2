"""Fn apps and routes, kept as packages and actions of one namespace: an app is a package,
a route an action in it. What Fn shows of them lives in the `fn-app` / `fn-route`
annotations; everything else (versions, calls, limits) is the action's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sluice.config import Settings
from sluice.dialects.fn.fields import (
    FORMAT_KINDS,
    RouteFields,
    annotation_map,
    check_app_name,
    config_map,
    merge_route,
    route_from_doc,
    route_name,
    route_path,
)
from sluice.engine.actions import ACTIONS, PACKAGES, Actions, annotation, is_zip
from sluice.engine.functions import FN_ROUTE, IDLE_TIMEOUT, NETWORK, function_of
from sluice.engine.packages import Packages
from sluice.engine.secrets import SECRETS_ANNOTATION
from sluice.errors import BadRequest, Conflict, NotFound
from sluice.records import Entity
from sluice.store.base import Store
from sluice.timing import now_ms

APP_ANNOTATION = "fn-app"
ROUTE_ANNOTATION = FN_ROUTE

#: turns uploaded code into runnable code (compiled, dependencies attached): (runtime, code,
#: namespace) -> (code, build report); raises BadRequest when the build fails
Build = Callable[[str, str, str], Awaitable[tuple[str, dict[str, Any]]]]


@dataclass(frozen=True)
class FnApp:
    name: str
    config: dict[str, str]
    created: int
    updated: int
    annotations: dict[str, Any] = field(default_factory=dict)
    #: Fn v2's machine shape of the app's functions (kept and shown; this host runs them)
    shape: str = ""


@dataclass(frozen=True)
class FnRoute:
    app: str
    fields: RouteFields
    created: int
    updated: int
    version: str
    #: how its code was last built (cached or not, the steps)
    build: dict[str, Any]

    @property
    def action(self) -> str:
        """The action's path in the namespace: `app/name`."""
        return f"{self.app}/{route_name(self.fields.path)}"


def _app(entity: Entity) -> FnApp:
    info = annotation(entity.doc, APP_ANNOTATION) or {}
    return FnApp(
        name=entity.name,
        config=dict(info.get("config") or {}),
        created=int(info.get("created_at") or entity.updated),
        updated=entity.updated,
        annotations=dict(info.get("annotations") or {}),
        shape=str(info.get("shape") or ""),
    )


def _route(entity: Entity) -> FnRoute:
    app, _, name = entity.name.partition("/")
    function = function_of(entity)
    info = function.annotation(ROUTE_ANNOTATION)
    build: dict[str, Any] = {}
    if isinstance(info, dict):
        build = dict(info.get("build") or {})
        fields = route_from_doc(info)
        created = int(info.get("created_at") or entity.updated)
    else:  # an action made through another dialect
        fields = RouteFields(
            path=route_path(name),
            image=function.kind,
            memory=function.memory_mb,
            timeout=max(1, function.timeout_ms // 1000),
        )
        created = entity.updated
    return FnRoute(app, fields, created, entity.updated, entity.version, build)


def _without(annotations: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [item for item in annotations if item.get("key") != key]


class Apps:
    def __init__(
        self,
        store: Store,
        packages: Packages,
        actions: Actions,
        settings: Settings,
        build: Build | None = None,
    ) -> None:
        self.store = store
        self.packages = packages
        self.actions = actions
        self.settings = settings
        self.namespace = settings.fn_namespace
        self.build = build

    # Apps ---------------------------------------------------------------------------------
    async def _package(self, name: str) -> Entity:
        package = await self.store.get_entity(self.namespace, PACKAGES, check_app_name(name))
        if package is None or package.doc.get("binding"):
            raise NotFound("App not found")
        return package

    async def get_app(self, name: str) -> FnApp:
        return _app(await self._package(name))

    async def list_apps(self, skip: int, limit: int) -> list[FnApp]:
        found = await self.packages.page(self.namespace, skip, limit)
        return [_app(p) for p in found if not p.doc.get("binding")]

    async def create_app(
        self, name: str, config: Any, annotations: Any = None, shape: str = ""
    ) -> FnApp:
        check_app_name(name)
        info = {
            "config": config_map(config, "app config"),
            "created_at": now_ms(),
            "annotations": annotation_map(annotations, {}, "app"),
            "shape": shape,
        }
        body = {"annotations": [{"key": APP_ANNOTATION, "value": info}]}
        try:
            return _app(await self.packages.put(self.namespace, name, body, overwrite=False))
        except Conflict:
            raise Conflict("App already exists") from None

    async def ensure_app(self, name: str) -> FnApp:
        """The app, created when missing (what PUT and POST of a route do)."""
        try:
            return await self.get_app(name)
        except NotFound:
            pass
        try:
            return await self.create_app(name, None)
        except Conflict:
            return await self.get_app(name)

    async def update_app(
        self, name: str, config: Any, annotations: Any = None, shape: str = ""
    ) -> FnApp:
        """Merge `config` and `annotations` into the app's (an empty value removes a key);
        routes follow."""
        package = await self._package(name)
        app = _app(package)
        merged = {**app.config, **config_map(config, "app config")}
        info = {
            "config": {k: v for k, v in merged.items() if v != ""},
            "created_at": app.created,
            "annotations": annotation_map(annotations, app.annotations, "app"),
            "shape": shape or app.shape,
        }
        annotations = _without(package.doc["annotations"], APP_ANNOTATION)
        body = {"annotations": [*annotations, {"key": APP_ANNOTATION, "value": info}]}
        updated = _app(await self.packages.put(self.namespace, name, body, overwrite=True))
        for route in await self.list_routes(name):
            await self._store_route(updated, route.fields, None, route.created, route.build)
        return updated

    async def delete_app(self, name: str) -> None:
        await self._package(name)
        await self.packages.delete(self.namespace, name, force=True)

    # Routes -------------------------------------------------------------------------------
    async def _action(self, app: str, path: str) -> Entity | None:
        return await self.store.get_entity(self.namespace, ACTIONS, f"{app}/{route_name(path)}")

    async def get_route(self, app: str, path: str) -> FnRoute:
        await self._package(app)
        action = await self._action(app, path)
        if action is None:
            raise NotFound("Route not found")
        return _route(action)

    async def list_routes(self, app: str) -> list[FnRoute]:
        await self._package(app)
        return [_route(a) for a in await self.packages.contents(self.namespace, app)]

    async def put_route(
        self,
        app: str,
        path: str,
        body: dict[str, Any],
        *,
        create: bool,
        update: bool,
        default_format: str = "default",
    ) -> FnRoute:
        """Create (`create`), update (`update`) or either. `body` holds Fn's route fields
        and Sluice's `code` (base64 zip of the function's directory)."""
        existing = await self._action(check_app_name(app), path)
        if existing is None and not create:
            await self._package(app)
            raise NotFound("Route not found")
        if existing is not None and not update:
            raise Conflict("Route already exists")
        owner = await self.ensure_app(app)
        old = _route(existing) if existing is not None else None
        max_timeout = self.settings.timeout_max_ms // 1000
        fields = merge_route(path, body, old.fields if old else None, max_timeout, default_format)
        code = body.get("code")
        if code is not None and (not isinstance(code, str) or not is_zip(code)):
            raise BadRequest("Invalid route code: it must be a base64 zip of the function.")
        if code is None and existing is None:
            raise BadRequest(
                "The route has no code: deploy it with `sluice fn deploy` (Sluice runs"
                " functions from their source, not from container images)."
            )
        build = old.build if old is not None else {}
        if code is not None and self.build is not None:
            code, build = await self.build(fields.runtime, code, self.namespace)
        created = old.created if old is not None else now_ms()
        return await self._store_route(owner, fields, code, created, build)

    async def _store_route(
        self,
        app: FnApp,
        fields: RouteFields,
        code: str | None,
        created: int,
        build: dict[str, Any],
    ) -> FnRoute:
        env = {
            **app.config,
            **fields.config,
            "FN_APP_NAME": app.name,
            "FN_APP_ID": app.name,
            "FN_PATH": fields.path,
            "FN_FN_NAME": route_name(fields.path),
            "FN_FN_ID": f"{app.name}/{route_name(fields.path)}",
            "FN_FORMAT": fields.format,
            "FN_TYPE": fields.type,
            "FN_MEMORY": str(fields.memory),
        }
        exec_: dict[str, Any] = {"kind": FORMAT_KINDS[fields.format], "main": fields.cmd}
        if code is not None:
            exec_["code"] = code
        body: dict[str, Any] = {
            "exec": exec_,
            "limits": {"timeout": fields.timeout * 1000, "memory": fields.memory},
            "parameters": [{"key": k, "value": v, "init": True} for k, v in env.items()],
            "annotations": [
                {
                    "key": ROUTE_ANNOTATION,
                    "value": {**fields.doc(), "created_at": created, "build": build},
                },
                {"key": IDLE_TIMEOUT, "value": fields.idle_timeout},
                # the function's own network (func.yaml `network:` or its annotations)
                *(
                    [{"key": NETWORK, "value": fields.annotations[NETWORK]}]
                    if NETWORK in fields.annotations
                    else []
                ),
            ],
        }
        path = f"{app.name}/{route_name(fields.path)}"
        # the secrets its action was given (Fn has no field for them) outlive a redeploy
        old = await self.store.get_entity(self.namespace, ACTIONS, path)
        secrets = annotation(old.doc, SECRETS_ANNOTATION) if old is not None else None
        if secrets is not None:
            body["annotations"].append({"key": SECRETS_ANNOTATION, "value": secrets})
        return _route(await self.actions.put(self.namespace, path, body, overwrite=True))

    async def set_triggers(self, app: str, path: str, triggers: list[dict[str, Any]]) -> FnRoute:
        """Replace the route's v2 triggers (checked by the caller), keeping its code."""
        route = await self.get_route(app, path)
        owner = await self.get_app(app)
        fields = replace(route.fields, triggers=triggers)
        return await self._store_route(owner, fields, None, route.created, route.build)

    async def delete_route(self, app: str, path: str) -> None:
        await self.get_route(app, path)
        await self.actions.delete(self.namespace, f"{app}/{route_name(path)}")
