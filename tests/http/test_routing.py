"""SegmentRouter answers every request as Starlette's Router does over the same routes (the
route, 405, 404, slash redirects, mounts), only trying fewer routes on the way."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope
from tests.support.server import SluiceServer

from sluice.http.routing import SegmentRouter, by_method, first_segment


async def _echo(request: Request) -> Response:
    route = request.scope["route"].path
    return PlainTextResponse(f"{request.method} {route} {dict(request.path_params)}")


def _routes(with_parameter_first: bool) -> list[BaseRoute]:
    inner = [Route("/{name}", _echo, methods=["POST"]), Route("/{name}/{rest:path}", _echo)]
    routes: list[BaseRoute] = [
        Route("/", _echo),
        Route("/api/v1", _echo),
        Route("/api/v1/things/{id}", _echo, methods=["GET"]),
        Route("/api/v1/things/{id}", _echo, methods=["PUT"]),
        Route("/api/v1/list/", _echo),
        Route("/other/{x:path}", _echo, methods=["POST"]),
        Mount("/fn", app=Starlette(routes=inner)),
    ]
    if with_parameter_first:
        routes.append(Route("/{anything}/last", _echo))
    return routes


def _apps(with_parameter_first: bool) -> tuple[Starlette, Starlette]:
    plain = Starlette(routes=_routes(with_parameter_first))
    segmented = Starlette()
    segmented.router = SegmentRouter(_routes(with_parameter_first))
    return plain, segmented


REQUESTS = [
    ("GET", "/"),
    ("GET", "/api/v1"),
    ("GET", "/api/v1/"),  # redirected to the route without the slash
    ("GET", "/api/v1/things/7"),
    ("PUT", "/api/v1/things/7"),
    ("DELETE", "/api/v1/things/7"),  # 405, allowing GET and PUT
    ("GET", "/api/v1/list"),  # redirected to the one with
    ("GET", "/api/v1/nothing"),
    ("GET", "/nowhere/at/all"),
    ("POST", "/other/a/b"),
    ("GET", "/other/a/b"),
    ("POST", "/fn/hello"),
    ("GET", "/fn/hello"),
    ("GET", "/fn/hello/deeper/path"),
    ("GET", "/fn"),
    ("GET", "/zzz/last"),
    ("GET", "/api/last"),
]


async def _answers(app: Starlette) -> list[tuple[int, str, str | None, str | None]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        out = []
        for method, path in REQUESTS:
            r = await client.request(method, path)
            out.append((r.status_code, r.text, r.headers.get("location"), r.headers.get("allow")))
        return out


@pytest.mark.parametrize("with_parameter_first", [False, True])
def test_same_answers_as_starlettes_router(with_parameter_first: bool) -> None:
    plain, segmented = _apps(with_parameter_first)
    expected = asyncio.run(_answers(plain))
    assert asyncio.run(_answers(segmented)) == expected
    statuses = [status for status, *_ in expected]
    assert statuses.count(200) >= 7
    assert {404, 405, 307} <= set(statuses)


class _Counted(Mount):
    tried: ClassVar[list[str]] = []

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        _Counted.tried.append(self.path)
        return super().matches(scope)


def test_only_the_first_segments_routes_are_tried() -> None:
    inner = Starlette(routes=[Route("/{name}", _echo, methods=["POST"])])
    routes = [_Counted(f"/{name}", app=inner) for name in ("a", "b", "fn", "c")]
    app = Starlette()
    app.router = SegmentRouter(routes)

    async def status(path: str) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.post(path)).status_code

    assert asyncio.run(status("/fn/hello")) == 200
    assert _Counted.tried == ["/fn"]
    _Counted.tried.clear()
    assert asyncio.run(status("/nowhere/hello")) == 404  # no group: every route, as Router does
    assert _Counted.tried == ["/a", "/b", "/fn", "/c"] * 2  # twice: the slash redirect's look


def test_first_segment() -> None:
    assert first_segment("/api/v1/x") == "api"
    assert first_segment("/") == ""
    assert first_segment("/fn") == "fn"
    assert first_segment("") == ""


def test_by_method_sends_each_method_to_its_endpoint() -> None:
    async def named(request: Request) -> Response:
        return PlainTextResponse(f"{request.method} for {request.path_params['id']}")

    async def putting(request: Request) -> Response:
        return PlainTextResponse("put", status_code=201)

    app = Starlette(routes=[by_method("/things/{id}", {"GET": named, "PUT": putting})])

    async def answers() -> list[tuple[int, str, str | None]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            out = []
            for method in ("GET", "HEAD", "PUT", "DELETE"):
                r = await client.request(method, "/things/7")
                out.append((r.status_code, r.text, r.headers.get("allow")))
            return out

    got = asyncio.run(answers())
    assert got[0] == (200, "GET for 7", None)
    assert got[1][:2] == (200, "")  # HEAD: GET's answer without the body
    assert got[2] == (201, "put", None)
    assert got[3][0] == 405
    assert sorted((got[3][2] or "").split(", ")) == ["GET", "HEAD", "PUT"]


def test_an_encoded_newline_in_a_path_stays_in_its_dialect(server: SluiceServer) -> None:
    """Starlette's `.*` stops at a newline: such a path fell past the mounts to the top-level
    404, in OpenWhisk's shape, whatever the dialect."""
    with server.client() as c:
        fn = c.get("/v1/apps/a%0Ab/calls/x")
        assert fn.status_code == 400  # a bad call id, told in Fn's {"error": {"message"}}
        assert set(fn.json()["error"]) == {"message"}
        faas = c.post("/function/no-such-function/sub%0Apath")
        assert faas.status_code == 404
        assert faas.headers["content-type"].startswith("text/plain")  # OpenFaaS's
