"""The accept routes' own cost, without the HTTP server or a socket: Sluice's ASGI app (the
real one, on a real SQLite file in a temp dir, role api so no worker runs the calls) called
directly with ASGI messages by concurrent callers. Prints the event loop thread's CPU per
accept, which is what routing, middleware, the handler and the engine cost between
uvicorn's parse and its socket writes; the whole server (bench/run) adds uvicorn and the
kernel. Quieter than a live server's figures: use it to compare two trees in turn.

With --workers the same process also runs the calls (role all, a Python no-op on real
runtime processes), and the figure is the loop thread's CPU per call from its accept until
every call of the repetition has ended: accepting plus running, what one server's loop
spends on each async call.

    .venv/bin/python bench/inprocess.py                      # both routes, 5 x 4,000 accepts
    .venv/bin/python bench/inprocess.py --workers            # ... and the calls run too
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

from sluice.asgi import build_app
from sluice.cli.serve import first_start
from sluice.config import Settings
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
        data_dir=data_dir,
        sync=args.sync,
        role="all" if args.workers else "api",
        client_config=data_dir / "wskprops",
    )
    sluice = Sluice(settings)
    await sluice.start()
    try:
        key = await first_start(sluice)
        assert key is not None
        call = caller(build_app(sluice), b"Basic " + base64.b64encode(str(key).encode()))
        made = await call("PUT", ROUTES["openwhisk"][0], b"overwrite=true", NOOP)
        assert made[0]["status"] == 200, made
        accepted = 0
        ends = EndCounter(sluice)
        if args.workers:  # the function's process is warm before the first repetition
            first = await call("POST", ROUTES["openwhisk"][0], b"blocking=true", b"{}")
            assert first[0]["status"] == 200, first
            accepted = 1
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
                if args.workers:
                    accepted += share * args.callers
                    await ends.wait(accepted)
                per_call = (time.thread_time() - started) / (share * args.callers) * 1e6
                figures.append(per_call)
            shown = ", ".join(f"{f:.0f}" for f in sorted(figures))
            what = "accept and run" if args.workers else "accept"
            print(f"{route}: loop thread CPU per {what} (us), low to high: {shown}", flush=True)
    finally:
        await sluice.stop()


class EndCounter:
    """Counts the calls that end in this process (the waiters tell it of each), so waiting
    for a repetition's calls costs the loop nothing while they run."""

    def __init__(self, sluice: Sluice) -> None:
        self.ended = 0
        self._wanted = 0
        self._reached = asyncio.Event()
        sluice.waiters.listeners.append(self._one)

    def _one(self, _call_id: object) -> None:
        self.ended += 1
        if self.ended >= self._wanted:
            self._reached.set()

    async def wait(self, count: int) -> None:
        """Until `count` calls have ended (two minutes at most: a call lost fails the run)."""
        self._wanted = count
        self._reached.clear()
        if self.ended < count:
            async with asyncio.timeout(120):
                await self._reached.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--route", action="append", choices=list(ROUTES))
    p.add_argument("--accepts", type=int, default=4000, help="per repetition")
    p.add_argument("--callers", type=int, default=16, help="concurrent callers")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--sync", choices=["FULL", "NORMAL"], default="FULL")
    p.add_argument("--workers", action="store_true", help="run the calls in this process too")
    args = p.parse_args()
    args.route = args.route or list(ROUTES)
    with tempfile.TemporaryDirectory(prefix="sluice-inprocess-") as tmp:
        uvloop.run(measure(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
