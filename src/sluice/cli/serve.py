"""`sluice serve`: API, scheduler and workers in one process, or one role of several."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import click
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.asgi import build_app
from sluice.catalogue import build_runtime
from sluice.cli import worker_child
from sluice.cli.startup import freeze_start_up, log_format
from sluice.config import Settings
from sluice.engine.keys import Key
from sluice.engine.system import SYSTEM
from sluice.errors import CannotStart
from sluice.http.edge import edge_limits, protocol, raise_open_files_limit
from sluice.http.health import build_health_app
from sluice.instance_lock import DataDirLock
from sluice.observe import metrics
from sluice.sandbox.choose import SandboxUnavailable
from sluice.wiring import Sluice
from sluice.worker.process import fork_worker

log = logging.getLogger("sluice")

GUEST = "guest"


def _first_start_banner(settings: Settings, key: Key) -> str:
    host = settings.resolved_api_host()
    return "\n".join(
        [
            f"Created namespace '{GUEST}'. Its key is shown this once; it is also saved",
            f"(mode 0600) in {settings.client_config}, which the `sluice` CLI reads.",
            "",
            "For the aio CLI and the openwhisk npm client:",
            f"  export AIO_RUNTIME_APIHOST={host} AIO_RUNTIME_NAMESPACE={GUEST} \\",
            f"         AIO_RUNTIME_AUTH={key} USE_RUNTIME_AUTH=true",
            f"  export __OW_API_HOST={host} __OW_NAMESPACE={GUEST} __OW_API_KEY={key}",
            "",
        ]
    )


async def first_start(sluice: Sluice) -> Key | None:
    """Create the guest namespace and the client config when there is no namespace yet."""
    from sluice.cli.clientconfig import write_client_config

    if any(ns.name != SYSTEM for ns in await sluice.namespaces.all()):
        return None
    key = await sluice.namespaces.create(GUEST)
    settings = sluice.settings
    write_client_config(settings.client_config, settings.resolved_api_host(), str(key), GUEST)
    return key


class _Server(uvicorn.Server):
    """Stops taking calls the moment a signal arrives, so blocking callers get their 202."""

    def __init__(self, config: uvicorn.Config, sluice: Sluice) -> None:
        super().__init__(config)
        self.sluice = sluice
        #: the start under way: a signal cancels it (it waits for an unreachable NATS)
        self.starting: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.starting is not None:
            loop, task = self.starting
            loop.call_soon_threadsafe(task.cancel)  # from a signal handler: via the loop
        self.sluice.calls.accepting = False
        self.sluice.waiters.release_all()
        super().handle_exit(sig, frame)


class _RefusalInOneLine:
    """The app, whose failed start, once told in one line by the lifespan (a CannotStart, a
    signal), is not followed by the traceback Starlette hands uvicorn for every failed start."""

    def __init__(self, app: ASGIApp, told: list[str]) -> None:
        self.app = app
        self.told = told

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def told(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and self.told:
                message = {**message, "message": ""}
            await send(message)

        await self.app(scope, receive, told)


def listening_socket(settings: Settings) -> socket.socket:
    """The server's socket, bound before anything else starts: a port that is taken stops
    the start in one line, before the store is opened or a call is touched."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            why = "is taken by another program: stop it, or choose another with --port"
        else:
            why = f"cannot be listened on: {exc.strerror or exc}"
        raise CannotStart(f"{settings.host} port {settings.port} {why}") from None
    sock.set_inheritable(False)
    return sock


def run_server(settings: Settings) -> None:
    started = time.monotonic()
    # taken first, held for the process's life: a second server on this data dir stops here
    data_dir_lock = DataDirLock(settings.data_dir, settings.role)
    try:
        data_dir_lock.acquire(settings.port)
        sock = listening_socket(settings)
    except CannotStart as exc:
        raise click.ClickException(str(exc)) from None
    if settings.metrics:  # before the worker process starts: it counts in the same place
        metrics.install(settings.resolved_work_dir)
    try:
        # the interpreters found and the sandbox chosen once, for both processes
        runtime = build_runtime(settings)
        forked = (
            fork_worker(settings, runtime, [sock], worker_child.run)
            if settings.worker_process and settings.role == "all"
            else None
        )
        sluice = Sluice(settings, runtime)
    except (CannotStart, SandboxUnavailable) as exc:
        raise click.ClickException(str(exc)) from None  # a forked worker dies with us
    if sluice.worker_process is not None:
        sluice.worker_process.keep_fds = data_dir_lock.fds
        sluice.worker_process.forked = forked

    #: why the start failed, when already told in one line
    told: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.current_task()
        server.starting = (asyncio.get_running_loop(), task) if task else None
        try:
            await sluice.start()
        except CannotStart as exc:
            log.error("cannot start: %s", exc)
            told.append(str(exc))
            raise
        except asyncio.CancelledError:
            log.info("stopped before it was ready")
            told.append("stopped")
            raise
        finally:
            server.starting = None
        key = await first_start(sluice) if "api" in sluice.roles else None
        if key is not None:
            click.echo(_first_start_banner(settings, key))
        role = "" if settings.role == "all" else f" as {settings.role}"
        click.echo(
            f"Sluice is ready{role} on {settings.resolved_api_host()} "
            f"(data in {settings.data_dir}, {time.monotonic() - started:.2f} s)"
        )
        sys.stdout.flush()
        freeze_start_up()
        try:
            yield
        finally:
            await sluice.stop()
            click.echo("Sluice stopped.")

    # a worker or scheduler listens only to say it is up
    app = (
        build_app(sluice, lifespan) if "api" in sluice.roles else build_health_app(sluice, lifespan)
    )
    limits = edge_limits(settings, raise_open_files_limit())
    log.info(
        "at most %d connections; headers within %.0f s and %d bytes, bodies at most %d bytes",
        limits.max_connections,
        limits.header_timeout,
        limits.header_max_bytes,
        settings.body_max_bytes,
    )
    config = uvicorn.Config(
        _RefusalInOneLine(app, told),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=protocol(limits),
        # the kernel's queue of connections not yet taken; the cap is on those taken
        backlog=min(2048, limits.max_connections),
        lifespan="on",
        log_level="warning",
        # JSON lines: uvicorn's own loggers write through the root's handler (cli/startup.py)
        log_config=None if log_format() == "json" else uvicorn.config.LOGGING_CONFIG,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 5,
    )
    # told already: uvicorn's own line after it would only repeat that the start failed
    logging.getLogger("uvicorn.error").addFilter(
        lambda record: not (told and record.getMessage().startswith("Application startup failed"))
    )
    server = _Server(config, sluice)
    # not asyncio.run(): this sets up the event loop the config names (uvloop)
    server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(1)
