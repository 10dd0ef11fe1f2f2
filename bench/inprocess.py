"""The accept routes' own cost, without the HTTP server or a socket: Sluice's ASGI app (the
real one, on a real SQLite file in a temp dir, role api so no worker runs the calls) called
directly with ASGI messages by concurrent callers. Prints the event loop thread's CPU per
accept, which is what routing, middleware, the handler and the engine cost between
uvicorn's parse and its socket writes; the whole server (bench/run) adds uvicorn and the
kernel. Quieter than a live server's figures: use it to compare two trees in turn.

    .venv/bin/python bench/inprocess.py                      # both routes, 5 x 4,000 accepts
    PYTHONPATH=<other checkout>/src .venv/bin/python bench/inprocess.py --route openfaas
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from sluice.cli.serve import first_start
from sluice.config import Settings
from sluice.http.app import build_app
from sluice.wiring import Sluice

Message = dict[str, Any]
ROUTES = {
    "openwhisk": ("/api/v1/namespaces/_/actions/noop", b"blocking=false"),
    "openfaas": ("/async-function/noop", b""),
}
NOOP = b'{"exec": {"kind": "python:3", "code": "def main(a):\\n    return {}"}}'


def caller(app: Any, auth: bytes) -> Callable[..., Awaitable[list[Message]]]:
    async def call(method: str, path: str, query: bytes, body: bytes) -> list[Message]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"authorization", auth),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
            "state": {},
        }
        sent: list[Message] = []
        given = False

        async def receive() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never goes away
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent

    return call


async def measure(args: argparse.Namespace, data_dir: Path) -> None:
    os.environ["HOME"] = str(data_dir)
    settings = Settings(
        data_dir=data_dir, sync=args.sync, role="api", client_config=data_dir / "wskprops"
    )
    sluice = Sluice(settings)
    await sluice.start()
    try:
        key = await first_start(sluice)
        assert key is not None
        call = caller(build_app(sluice), b"Basic " + base64.b64encode(str(key).encode()))
        made = await call("PUT", ROUTES["openwhisk"][0], b"overwrite=true", NOOP)
        assert made[0]["status"] == 200, made
        for route in args.route:
            path, query = ROUTES[route]
            figures = []
            for _ in range(args.reps):

                async def one_caller(count: int, path: str = path, query: bytes = query) -> None:
                    for _ in range(count):
                        answer = await call("POST", path, query, b"{}")
                        assert answer[0]["status"] == 202, answer

                gc.collect()
                started = time.thread_time()
                share = args.accepts // args.callers
                await asyncio.gather(*(one_caller(share) for _ in range(args.callers)))
                per_accept = (time.thread_time() - started) / (share * args.callers) * 1e6
                figures.append(per_accept)
            shown = ", ".join(f"{f:.0f}" for f in sorted(figures))
            print(f"{route}: loop thread CPU per accept (us), low to high: {shown}", flush=True)
    finally:
        await sluice.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--route", action="append", choices=list(ROUTES))
    p.add_argument("--accepts", type=int, default=4000, help="per repetition")
    p.add_argument("--callers", type=int, default=16, help="concurrent callers")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL")
    args = p.parse_args()
    args.route = args.route or list(ROUTES)
    with tempfile.TemporaryDirectory(prefix="sluice-inprocess-") as tmp:
        uvloop.run(measure(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
