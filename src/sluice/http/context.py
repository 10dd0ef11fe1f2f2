"""What every dialect's handler starts with: the platform's services (a narrow view of the
composition root, which the dialects never import), the caller's namespace, and the request
conventions the dialects share (a call's id in a path, a long poll's `?wait=`)."""

from __future__ import annotations

from typing import Any, Protocol

from nats.aio.client import Client as NatsClient
from starlette.requests import Request

from sluice.config import Settings
from sluice.engine.actions import Actions
from sluice.engine.apis import Apis
from sluice.engine.calls import Calls
from sluice.engine.cancel import Cancellation
from sluice.engine.dead_letters import DeadLetters
from sluice.engine.dispatch import Dispatcher
from sluice.engine.namespaces import Namespaces
from sluice.engine.packages import Packages
from sluice.engine.rules import Rules
from sluice.engine.secrets import Secrets
from sluice.engine.triggers import Triggers
from sluice.errors import BadRequest
from sluice.http.auth import authenticate, resolve_namespace
from sluice.ids import CallId
from sluice.notify.destinations import Destinations
from sluice.runtime.base import Runtime
from sluice.store.base import Store
from sluice.worker.loop import Worker
from sluice.worker.process import WorkerProcess

#: the longest long poll a `?wait=` asks for
MAX_WAIT_SECONDS = 60.0


class Services(Protocol):
    """What the dialects may use of the wired platform (wiring.py's Sluice is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def namespaces(self) -> Namespaces: ...
    @property
    def packages(self) -> Packages: ...
    @property
    def actions(self) -> Actions: ...
    @property
    def secrets(self) -> Secrets: ...
    @property
    def triggers(self) -> Triggers: ...
    @property
    def rules(self) -> Rules: ...
    @property
    def apis(self) -> Apis: ...
    @property
    def calls(self) -> Calls: ...
    @property
    def cancellation(self) -> Cancellation: ...
    @property
    def dead_letters(self) -> DeadLetters: ...
    @property
    def dispatcher(self) -> Dispatcher: ...
    @property
    def destinations(self) -> Destinations: ...
    @property
    def runtime(self) -> Runtime: ...

    async def warm_processes(self, namespace: str, path: str) -> int | None: ...
    def drop_warm(self, namespace: str, path: str) -> None: ...
    def runtime_kinds(self) -> dict[str, list[dict[str, Any]]]: ...


class Connections(Protocol):
    @property
    def nats(self) -> NatsClient | None: ...


class Server(Services, Protocol):
    """What the server's own routes (/health, /ready, /metrics) read besides: the parts this
    process runs and their connections."""

    @property
    def roles(self) -> frozenset[str]: ...
    @property
    def worker(self) -> Worker: ...
    @property
    def worker_process(self) -> WorkerProcess | None: ...
    @property
    def transport(self) -> Connections: ...


def engine(request: Request) -> Services:
    services: Services = request.app.state.sluice
    return services


def server(request: Request) -> Server:
    found: Server = request.app.state.sluice
    return found


async def caller_namespace(request: Request) -> str:
    """Authenticate and return the namespace the path names (`_` = the caller's own)."""
    caller = await authenticate(request, engine(request).namespaces)
    return resolve_namespace(caller, request.path_params["ns"])


def parse_activation_id(text: str) -> CallId:
    call_id = CallId.parse(text)
    if call_id is None:
        raise BadRequest(f"Activation id length is {len(text)} but must be 32.")
    return call_id


def wait_seconds(request: Request) -> float:
    """The long poll's `?wait=` (seconds, 0 to MAX_WAIT_SECONDS; 0 when absent)."""
    try:
        wait = float(request.query_params.get("wait") or "0")
    except ValueError as exc:
        raise BadRequest("The query parameter 'wait' must be a number of seconds.") from exc
    return min(max(wait, 0.0), MAX_WAIT_SECONDS) if wait == wait else 0.0
