"""/namespaces/{ns}/{triggers,rules,packages}: the list/put/delete every collection shares,
and what each adds (fire, enable/disable, package contents)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sluice.call_meta import CallMeta
from sluice.dialects.openwhisk import wire
from sluice.dialects.openwhisk.context import caller_and_target, list_window, query_bool
from sluice.http.body import read_json_object
from sluice.http.context import caller_namespace, engine
from sluice.http.responses import JSON
from sluice.http.routing import by_method
from sluice.http.tracing import caller_trace
from sluice.ids import new_transaction_id
from sluice.records import Entity

Handler = Callable[[Request], Awaitable[Response]]

#: entity bodies (no code) are small; a generous cap still stops abuse
ENTITY_MAX_BYTES = 1024 * 1024


class Collection(Protocol):
    async def put(
        self, namespace: str, name: str, body: dict[str, Any], overwrite: bool
    ) -> Entity: ...

    async def page(self, namespace: str, skip: int, limit: int) -> list[Entity]: ...

    async def count(self, namespace: str) -> int: ...

    async def delete(self, namespace: str, name: str) -> Entity: ...


def _crud(
    collection: str,
    service: Callable[[Request], Collection],
    full: Callable[[Entity], dict[str, Any]],
    summary: Callable[[Entity], dict[str, Any]],
) -> tuple[Handler, Handler, Handler]:
    async def list_(request: Request) -> Response:
        namespace = await caller_namespace(request)
        svc = service(request)
        if query_bool(request, "count"):
            return JSON({collection: await svc.count(namespace)})
        skip, limit = list_window(request)
        return JSON([summary(e) for e in await svc.page(namespace, skip, limit)])

    async def put(request: Request) -> Response:
        namespace = await caller_namespace(request)
        body, _ = await read_json_object(request, ENTITY_MAX_BYTES)
        entity = await service(request).put(
            namespace, request.path_params["name"], body, query_bool(request, "overwrite")
        )
        return JSON(full(entity))

    async def delete(request: Request) -> Response:
        namespace = await caller_namespace(request)
        return JSON(full(await service(request).delete(namespace, request.path_params["name"])))

    return list_, put, delete


# Triggers ---------------------------------------------------------------------------------
async def get_trigger(request: Request) -> Response:
    namespace = await caller_namespace(request)
    sluice = engine(request)
    name = request.path_params["name"]
    entity = await sluice.triggers.get(namespace, name)
    return JSON(wire.trigger(entity, await sluice.rules.of_trigger(namespace, name)))


async def fire_trigger(request: Request) -> Response:
    namespace = await caller_namespace(request)
    sluice = engine(request)
    params, size = await read_json_object(request, sluice.settings.request_max_bytes)
    meta = CallMeta(
        subject=namespace, transid=request.headers.get("x-request-id") or new_transaction_id()
    )
    name = request.path_params["name"]
    fired = await sluice.triggers.fire(
        namespace, name, params, size, meta, trace=caller_trace(request)
    )
    if fired.id is None:
        return Response(status_code=204)
    sluice.dispatcher.wake()
    return JSON(
        {"activationId": fired.id.hex},
        status_code=202,
        headers={"x-openwhisk-activation-id": fired.id.hex},
    )


# Rules ------------------------------------------------------------------------------------
async def get_rule(request: Request) -> Response:
    namespace = await caller_namespace(request)
    return JSON(wire.rule(await engine(request).rules.get(namespace, request.path_params["name"])))


async def set_rule_status(request: Request) -> Response:
    namespace = await caller_namespace(request)
    body, _ = await read_json_object(request, ENTITY_MAX_BYTES)
    await engine(request).rules.set_status(
        namespace, request.path_params["name"], body.get("status")
    )
    return PlainTextResponse("OK")


# Packages ---------------------------------------------------------------------------------
async def list_packages(request: Request) -> Response:
    """The caller's own packages, or another namespace's public ones (never its private
    packages or its bindings), as `wsk package list /whisk.system` shows them."""
    caller, namespace = await caller_and_target(request)
    packages = engine(request).packages
    own = namespace == caller
    if query_bool(request, "count"):
        count = await (packages.count(namespace) if own else packages.public_count(namespace))
        return JSON({"packages": count})
    skip, limit = list_window(request)
    page = packages.page if own else packages.public_page
    return JSON([wire.package(e, summary=True) for e in await page(namespace, skip, limit)])


async def get_package(request: Request) -> Response:
    caller, namespace = await caller_and_target(request)
    packages = engine(request).packages
    entity = await packages.readable(caller, namespace, request.path_params["name"])
    return JSON(wire.package_contents(entity, await packages.contents(namespace, entity.name)))


async def delete_package(request: Request) -> Response:
    namespace = await caller_namespace(request)
    entity = await engine(request).packages.delete(
        namespace, request.path_params["name"], query_bool(request, "force")
    )
    return JSON(wire.package(entity))


class _PackageCollection:
    """Packages as a Collection: deleting through the shared route never forces."""

    def __init__(self, request: Request) -> None:
        self.packages = engine(request).packages

    async def put(self, namespace: str, name: str, body: dict[str, Any], overwrite: bool) -> Entity:
        return await self.packages.put(namespace, name, body, overwrite)

    async def page(self, namespace: str, skip: int, limit: int) -> list[Entity]:
        return await self.packages.page(namespace, skip, limit)

    async def count(self, namespace: str) -> int:
        return await self.packages.count(namespace)

    async def delete(self, namespace: str, name: str) -> Entity:
        return await self.packages.delete(namespace, name, force=False)


def routes(prefix: str) -> list[BaseRoute]:
    ns = f"{prefix}/namespaces/{{ns}}"
    out: list[BaseRoute] = []
    list_t, put_t, delete_t = _crud(
        "triggers", lambda r: engine(r).triggers, wire.trigger, wire.trigger
    )
    list_r, put_r, delete_r = _crud(
        "rules", lambda r: engine(r).rules, wire.rule, lambda e: wire.rule(e, with_status=False)
    )
    _, put_p, _ = _crud(
        "packages", _PackageCollection, wire.package, lambda e: wire.package(e, summary=True)
    )
    for collection, list_, put, get, delete, post in (
        ("triggers", list_t, put_t, get_trigger, delete_t, fire_trigger),
        ("rules", list_r, put_r, get_rule, delete_r, set_rule_status),
        ("packages", list_packages, put_p, get_package, delete_package, None),
    ):
        item = {"GET": get, "PUT": put, "DELETE": delete, **({"POST": post} if post else {})}
        out += [
            Route(f"{ns}/{collection}", list_, methods=["GET"]),
            by_method(f"{ns}/{collection}/{{name}}", item),
        ]
    return out
