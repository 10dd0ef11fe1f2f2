"""The `http` kind: of-watchdog's http mode. The function's command is a long-running HTTP
server; Sluice starts it once per function version with `PORT` set (or on the port of the
function's `upstream_url`; or, with `listen=unix`, with `SOCKET` set to a unix socket's path
in its own directory), waits until it listens, and forwards each call's request to it
(method, path, query, headers, body), its answer being the call's response. The server
serves calls concurrently, is kept warm between them, stopped after `idle_seconds` without
calls, and started again when it has died. Its output goes to the logs of the calls in
flight. A status of 500 or more is the function's failure; past the call's time the call
ends as a timeout (504) while the server keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from sluice.envelope import HOP_BY_HOP, PATH, QUERY
from sluice.runtime.base import ActionCode, Outcome, RunRequest, RunResult, code_stem
from sluice.runtime.bundle import command_paths, read_deps
from sluice.runtime.capacity import SHUTTING_DOWN, CapacityClosed
from sluice.runtime.child import Child, make_home
from sluice.runtime.fn_request import FnRequest, response
from sluice.runtime.logs import STDERR, STDOUT, CallLogs
from sluice.runtime.process_fn import EXIT_BYTES, EXIT_LINES, CommandError, prepare
from sluice.runtime.results import failure, init_failed, out_of_memory, timed_out
from sluice.runtime.settings import FamilySettings
from sluice.runtime.warm import Background, IdleProcesses
from sluice.sandbox.api_bridge import Forward, SamePort
from sluice.timing import now_ms

#: how long a server may take to listen
START_SECONDS = 10.0
_POLL_SECONDS = 0.02
#: the envVar that asks for a unix socket instead of a port, and the socket's file name
LISTEN = "listen"
SOCKET_NAME = "http.sock"
#: the longest path a unix socket may have (sun_path, with its NUL)
_SOCKET_PATH_MAX = 107
#: how long a server that refused a connection gets to show that it has exited
EXIT_NOTICE_SECONDS = 2.0


class StartFailed(Exception):
    """The server did not come up; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_taken(port: int) -> bool:
    """Something on this machine listens on `port` already (any address, IPv4 or both)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def upstream_port(env: Mapping[str, str]) -> int | None:
    """The port of the function's own `upstream_url` (e.g. http://127.0.0.1:5000), if set."""
    url = env.get("upstream_url") or env.get("http_upstream_url")
    if not url:
        return None
    try:
        return urlsplit(url).port
    except ValueError:
        return None


@dataclass(eq=False)
class HttpServer:
    #: the ActionCode.process_key it serves: one namespace's calls of one version
    key: str
    child: Child
    port: int
    memory_mb: int
    #: the unix socket it listens on, with the client that talks over it; None: the port
    socket: Path | None = None
    client: httpx.AsyncClient | None = None
    #: the port on the server's loopback that reaches `port` (the same without a network
    #: of its own), once it listens
    reach: Forward | None = None
    calls: set[CallLogs] = field(default_factory=set)
    over_memory: bool = False
    #: ActionCode.replicas of what it serves
    replicas: int | None = None
    #: stopped, its slot given back
    gone: bool = False
    #: its fixed port was in use before it started
    taken: bool = False

    def sink(self, stream: str, line: bytes, ns: int) -> None:
        for logs in self.calls:
            logs.add(stream, line, ns)


class HttpFunctions:
    def __init__(self, settings: FamilySettings) -> None:
        self.settings = settings
        #: the process slots shared with the other warm families
        self.capacity = settings.capacity
        #: the servers no call is in flight on
        self._idle = IdleProcesses[str, HttpServer](self.capacity, _alive, self._evict)
        self._background = Background()
        self._servers: dict[str, HttpServer] = {}
        self._starting: dict[str, asyncio.Future[HttpServer]] = {}
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def run(self, request: RunRequest, start_ms: int) -> RunResult:
        logs = CallLogs(request.log_limit_bytes)
        # a server that died since the last call shows it by refusing the connection before
        # its exit is noticed: nothing was sent, so the call goes to a new server, once
        for again in (True, False):
            try:
                server, started = await self._server(request.action, logs)
            except StartFailed as exc:
                return failure(Outcome.DEVELOPER_ERROR, init_failed(str(exc)), logs, start_ms)
            except CapacityClosed:
                message = SHUTTING_DOWN
                return failure(Outcome.PLATFORM_ERROR, message, logs, start_ms)
            init_ms = now_ms() - start_ms if started else None
            server.calls.add(logs)
            try:
                return await self._forward(server, request, logs, start_ms, init_ms)
            except _Gone as exc:
                if not again:
                    return failure(Outcome.DEVELOPER_ERROR, str(exc), logs, start_ms, init_ms)
            finally:
                server.calls.discard(logs)
                self._maybe_idle(server)
        raise AssertionError("unreachable")

    async def _server(self, action: ActionCode, logs: CallLogs) -> tuple[HttpServer, bool]:
        """The live server of `action`'s version, started (True) if there was none."""
        server = self._servers.get(action.process_key)
        if server is not None and server.child.alive:
            self._idle.joined(server)
            return server, False
        if server is not None:
            await self._stop(server)
        starting = self._starting.get(action.process_key)
        if starting is not None:
            return await asyncio.shield(starting), False
        self._idle.missed()
        self._drop_stale(action.process_key)
        future: asyncio.Future[HttpServer] = asyncio.get_running_loop().create_future()
        self._starting[action.process_key] = future
        try:
            await self.capacity.reserve()
            server = await self._start(action, logs)
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, StartFailed) else StartFailed(str(exc)))
            future.exception()  # retrieved: a start nobody else waited for is not an error
            raise
        finally:
            del self._starting[action.process_key]
        self._servers[action.process_key] = server
        future.set_result(server)
        return server, True

    async def _start(self, action: ActionCode, logs: CallLogs) -> HttpServer:
        """A listening server for `action`, in the slot reserved for it (given back if none
        starts)."""
        async with self.capacity.starting:
            try:
                server = await self._spawn(action, logs)
            except BaseException:
                self.capacity.release()
                raise
            try:
                await self._listening(server, logs)
                if server.taken and isinstance(server.reach, SamePort):
                    raise StartFailed(
                        f"port {server.port} (the function's upstream_url) was in use on this"
                        " machine before its server started (another function's server of the"
                        " same port?): with the host's network (no sandbox of its own) two"
                        " functions cannot listen on one port"
                    )
            except BaseException:
                await self._stop(server)
                raise
            finally:
                server.calls.discard(logs)
        return server

    async def _spawn(self, action: ActionCode, logs: CallLogs) -> HttpServer:
        home = make_home(self.settings.work_dir)
        try:
            command = await prepare(action, home, self.settings.max_unzipped)
            socket_path = _socket_path(action.env, home)
        except (CommandError, StartFailed) as exc:
            shutil.rmtree(home, ignore_errors=True)
            raise StartFailed(str(exc)) from exc
        fixed = None if socket_path else upstream_port(action.env)
        port = 0 if socket_path else fixed or free_port()
        # a template's own port (python3-http's 5000) held by another server here is
        # reached as if it were this one's, where the process shares the host's network
        taken = fixed is not None and await asyncio.to_thread(port_taken, fixed)
        where = {"SOCKET": str(socket_path)} if socket_path else {"PORT": str(port)}
        deps = await asyncio.to_thread(read_deps, home, self.settings.builds_dir, action.owner)
        env = {**action.env, **where, "mode": "http", **command_paths(home, deps, action.env)}
        spec = self.settings.sandbox.launch(
            command, env, home, visible=deps.dirs, network=action.network, secrets=action.secrets
        )
        server: HttpServer | None = None

        def sink(stream: str, line: bytes, ns: int) -> None:
            if server is not None:
                server.sink(stream, line, ns)
            else:
                logs.add(stream, line, ns)

        try:
            child = await Child.spawn(spec, sink)
        except OSError as exc:
            raise StartFailed(f"the command cannot be started: {exc}") from exc
        server = HttpServer(action.process_key, child, port, action.memory_mb, socket_path)
        server.replicas = action.replicas
        if socket_path is not None:
            transport = httpx.AsyncHTTPTransport(uds=str(socket_path))
            server.client = httpx.AsyncClient(transport=transport, trust_env=False)
        server.taken = taken
        server.calls.add(logs)
        self.settings.memory.watch(child.pid, action.memory_mb, lambda: self._exceeded(server))
        return server

    def _exceeded(self, server: HttpServer | None) -> None:
        if server is not None:
            server.over_memory = True
            server.child.kill()

    async def _listening(self, server: HttpServer, logs: CallLogs) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if not server.child.alive:
                raise StartFailed(await _early_exit(server.child, logs))
            with contextlib.suppress(OSError):
                if server.socket is not None:
                    _, writer = await asyncio.open_unix_connection(server.socket)
                else:
                    _, writer = await server.child.confinement.connect(server.port)
                writer.close()
                if server.socket is None:
                    # it listens in the process's own network: reached through a port here
                    server.reach = await server.child.confinement.forward(server.port)
                return
            await asyncio.sleep(_POLL_SECONDS)
        where = (
            f"on {server.socket} (it should listen on $SOCKET)"
            if server.socket
            else (f"on port {server.port} (it should listen on $PORT)")
        )
        raise StartFailed(f"the server did not listen {where} within {START_SECONDS:g} s")

    async def _forward(
        self,
        server: HttpServer,
        request: RunRequest,
        logs: CallLogs,
        start_ms: int,
        init_ms: int | None,
    ) -> RunResult:
        http = FnRequest.from_call(request.params, request.env)
        path = str(request.params.get(PATH) or "/")
        query = str(request.params.get(QUERY) or "")
        reach = server.reach
        host = "localhost" if reach is None else f"127.0.0.1:{reach.port}"
        refused = reach.refusals if reach is not None else 0
        url = f"http://{host}{path}" + (f"?{query}" if query else "")
        headers = {k: v for k, v in http.headers.items() if k.lower() not in HOP_BY_HOP}
        limit = request.result_limit_bytes
        try:
            async with asyncio.timeout(request.timeout_ms / 1000):
                status, answer_headers, body = await self._exchange(
                    server.client or self._client, http.method, url, headers, http.body, limit
                )
        except TimeoutError:
            message = timed_out(request.timeout_ms)
            return failure(Outcome.TIMEOUT, message, logs, start_ms, init_ms)
        except (httpx.HTTPError, _TooLarge) as exc:
            if server.over_memory:
                message = out_of_memory(request.action.memory_mb)
            else:
                message = f"The function's server gave no valid answer: {exc or type(exc).__name__}"
            # refused (here, or by the bridge into its network before passing anything on)
            gone = isinstance(exc, httpx.ConnectError) or (
                reach is not None and reach.refusals > refused
            )
            if gone:
                if await self._exited(server):
                    raise _Gone(message) from exc
            elif isinstance(exc, httpx.TransportError):
                # cut off mid-answer: a server dying of this call is seen gone before the next
                # call, which would otherwise reach it still closing its sockets (a reset)
                await self._exited(server)
            return failure(Outcome.DEVELOPER_ERROR, message, logs, start_ms, init_ms)
        end_ms = now_ms()
        result: dict[str, Any] = response(status, answer_headers, body)
        outcome = Outcome.SUCCESS
        if status >= 500:
            result, outcome = {"error": result}, Outcome.APPLICATION_ERROR
        return RunResult(outcome, result, logs.lines(), start_ms, end_ms, init_ms, len(body))

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        limit: int,
    ) -> tuple[int, dict[str, str], bytes]:
        async with client.stream(
            method, url, headers=headers, content=body, timeout=None
        ) as answer:
            chunks: list[bytes] = []
            size = 0
            async for chunk in answer.aiter_raw():
                size += len(chunk)
                if size > limit:
                    raise _TooLarge(f"the response is larger than {limit} bytes")
                chunks.append(chunk)
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            return answer.status_code, kept, b"".join(chunks)

    async def _exited(self, server: HttpServer) -> bool:
        """Whether the server has exited, given a moment to notice it."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXIT_NOTICE_SECONDS):
                await asyncio.shield(server.child.exited)
        return not server.child.alive

    def _maybe_idle(self, server: HttpServer) -> None:
        if server.calls or self._servers.get(server.key) is not server:
            return
        if server.replicas == 0:  # scaled to zero: nothing stays after its calls
            self._evict(server)
            return
        stem = code_stem(server.key)
        newer = any(k != server.key and code_stem(k) == stem for k in self._servers)
        kept_as_replica = server.replicas is not None and not newer
        keep = None if kept_as_replica else self.settings.idle_seconds
        self._idle.put(server.key, server, keep)

    def _evict(self, server: HttpServer) -> None:
        """Stop a server at once (idle, for another's start, or past its keep-warm time);
        its slot is free once it has exited."""
        self._background.run(self._closed(server, self._forget(server)))

    def warm(self, prefix: str) -> int:
        return sum(1 for key, server in self._servers.items() if key.startswith(prefix))

    def _drop_stale(self, key: str) -> None:
        """Stop the idle servers of the other versions of `key`'s code."""
        stem = code_stem(key)
        self._idle.stop_where(lambda other: other != key and code_stem(other) == stem)

    def drop(self, prefix: str) -> None:
        self._idle.stop_where(lambda key: key.startswith(prefix))

    def _forget(self, server: HttpServer) -> bool:
        """Kill `server` (once): whether this did, its slot then to be given back once it
        has exited (`_closed`)."""
        if self._servers.get(server.key) is server:
            del self._servers[server.key]
        if server.gone:
            return False
        server.gone = True
        self._idle.remove(server)
        self.settings.memory.unwatch(server.child.pid)
        server.child.kill()
        self.capacity.stopping()
        return True

    async def _stop(self, server: HttpServer) -> None:
        await self._closed(server, self._forget(server))

    async def _closed(self, server: HttpServer, killed: bool) -> None:
        """Wait until `server` has exited (its directory removed); then its slot is free."""
        try:
            await server.child.close()
        finally:
            if killed:
                self.capacity.exited()
        if server.client is not None:
            await server.client.aclose()

    async def close(self) -> None:
        for server in list(self._servers.values()):
            with contextlib.suppress(Exception):
                await self._stop(server)
        await self._background.finish()
        await self._client.aclose()


def _alive(server: HttpServer) -> bool:
    return server.child.alive


async def _early_exit(child: Child, logs: CallLogs) -> str:
    """Why a server died before listening: its status and the end of its stderr (a
    traceback, a missing module), so that the caller's 500 says it, not only the logs."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(EXIT_NOTICE_SECONDS):
            await asyncio.shield(child.closed)  # its last lines may still be in the pipe
    said = logs.last_text(STDERR, EXIT_LINES, EXIT_BYTES) or logs.last_text(
        STDOUT, EXIT_LINES, EXIT_BYTES
    )
    status = f"the server exited (status {child.returncode}) before listening"
    return f"{status}:\n{said}" if said else status


def _socket_path(env: Mapping[str, str], home: Path) -> Path | None:
    """Where the server is to listen when the function asks for a unix socket."""
    listen = env.get(LISTEN, "port")
    if listen not in ("port", "unix"):
        raise StartFailed(f"listen={listen[:40]} is not known: use listen=port or listen=unix")
    if listen == "port":
        return None
    path = home / SOCKET_NAME
    if len(str(path)) > _SOCKET_PATH_MAX:
        raise StartFailed(
            f"the unix socket's path {path} is longer than {_SOCKET_PATH_MAX} bytes:"
            " give Sluice a shorter SLUICE_DATA_DIR, or use listen=port"
        )
    return path


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    """The server refused the connection because it has exited; the message says so."""
