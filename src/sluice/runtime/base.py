"""The runtime seam: run one call of a function's code in a process and report what happened.

The engine hands a `RunRequest` to a `Runtime` and gets a `RunResult` back. How processes are
started, kept warm and isolated is the runtime's business; the engine never sees a process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sluice.runtime.kinds import Kinds


class Outcome(StrEnum):
    """How a run ended, as the runtime saw it."""

    #: main returned a JSON object (or array) without an "error" field
    SUCCESS = "success"
    #: main returned / rejected with an object holding "error": the function's own failure
    APPLICATION_ERROR = "application_error"
    #: bad init, thrown exception, non-object result, crash, memory or size limit exceeded
    DEVELOPER_ERROR = "developer_error"
    #: the run did not finish within its time limit; the process was killed
    TIMEOUT = "timeout"
    #: the platform failed to run the code at all (spawn failure, missing interpreter)
    PLATFORM_ERROR = "platform_error"


@dataclass(frozen=True)
class ActionCode:
    """The code of one action version, as run for one namespace: a warm process is reused
    only for an equal `process_key`."""

    #: the code's version (its owner's action path, version and update time)
    key: str
    kind: str
    code: str
    binary: bool
    main: str = "main"
    env: Mapping[str, str] = field(default_factory=dict)
    memory_mb: int = 256
    #: how long a warm process of this code may stay idle; None: the runtime's own setting
    #: (the `idle-timeout` annotation, seconds; Fn routes' idle_timeout)
    idle_seconds: float | None = None
    #: calls one process may run at once (OpenWhisk's limits.concurrency; Node.js only)
    concurrency: int = 1
    #: the namespace the call runs for: the caller's, for another namespace's shared package
    #: action (its key and arguments go to the process, so the process is the caller's)
    namespace: str = field(kw_only=True)
    #: the namespace the code belongs to, whose builds (dependency environments) it imports
    owner: str = field(kw_only=True)
    #: what its processes can reach (the `network` annotation); None: the server's setting
    network: str | None = None
    #: warm processes kept of it without an idle timeout (OpenFaaS's replicas); 0: none is
    #: kept after its calls (scaled to zero); None: the idle timeout alone decides
    replicas: int | None = None
    #: the secrets its processes see as files (name -> value); never in a repr
    secrets: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    @property
    def process_key(self) -> str:
        """What warm processes of this code are kept under. Once initialised for one
        namespace a process never serves another, as OpenWhisk keys its containers by the
        invoking namespace (namespace names hold no `/`)."""
        return f"{self.namespace}/{self.key}"


def code_stem(process_key: str) -> str:
    """What a process key names apart from the code's version: the processes of another
    version of the same code are of no more use once a new one runs."""
    head = process_key.split("#", 1)[0]
    return head.rpartition("@")[0] + "@"


@dataclass(frozen=True)
class RunRequest:
    action: ActionCode
    params: Mapping[str, Any]
    #: per-call environment: __OW_API_HOST, __OW_API_KEY, __OW_NAMESPACE, __OW_ACTION_NAME,
    #: __OW_ACTION_VERSION, __OW_ACTIVATION_ID, __OW_TRANSACTION_ID, __OW_DEADLINE
    env: Mapping[str, str]
    timeout_ms: int
    log_limit_bytes: int
    result_limit_bytes: int


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    #: the function's result; on any error an object with an "error" field
    result: dict[str, Any] | list[Any]
    #: "2026-11-23T07:30:29.345825000Z stdout: text", OpenWhisk's log-line format
    logs: list[str]
    #: epoch milliseconds: start includes init on a cold start
    start_ms: int
    end_ms: int
    #: milliseconds spent initialising a process for this call; None when it ran warm
    init_ms: int | None
    #: bytes of the runtime's answer
    size: int


class Runtime(Protocol):
    def resolve_kind(self, kind: str) -> str | None:
        """The concrete kind for `kind` (aliases such as nodejs:default resolved), or None."""

    def kinds(self) -> list[str]:
        """Every concrete kind this runtime can run."""

    def served(self) -> Kinds:
        """The kinds it runs: grouped by family (`by_family`), why another is refused."""

    async def start(self) -> None:
        """Start background work (stem cells, idle eviction)."""

    async def run(self, request: RunRequest) -> RunResult:
        """Run one call; never raises for anything the function does."""

    def warm(self, prefix: str) -> int:
        """Live processes (warm or busy) of the codes whose process key starts with `prefix`."""

    def drop(self, prefix: str) -> None:
        """Stop the idle processes of the codes whose process key starts with `prefix`."""

    async def close(self) -> None:
        """Stop every process."""
