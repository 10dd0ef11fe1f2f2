"""What running a leased call means: the request the runtime gets, and the record it leaves."""

from __future__ import annotations

from typing import Any

from sluice.config import Settings
from sluice.engine import claims
from sluice.engine.actions import ACTIONS
from sluice.engine.functions import Function, function_of
from sluice.engine.namespaces import Namespaces
from sluice.engine.secrets import NO_SECRETS, MissingSecret, Secrets, SecretValues
from sluice.envelope import HEADERS, headers_of, traced
from sluice.errors import NotFound
from sluice.observe import trace
from sluice.records import CallState, Lease
from sluice.runtime.base import ActionCode, RunRequest, RunResult
from sluice.runtime.base import Outcome as RunOutcome
from sluice.store.base import Outcome, Store, failure
from sluice.timing import now_ms

_STATES = {
    RunOutcome.SUCCESS: CallState.SUCCESS,
    RunOutcome.APPLICATION_ERROR: CallState.APPLICATION_ERROR,
    RunOutcome.DEVELOPER_ERROR: CallState.DEVELOPER_ERROR,
    RunOutcome.TIMEOUT: CallState.TIMEOUT,
    RunOutcome.PLATFORM_ERROR: CallState.PLATFORM_ERROR,
}


#: the runnable codes kept; past it the cache starts over
_CODES_KEPT = 4096

#: the error of a call cancelled at a caller's request
CANCELLED = "The call was cancelled."


class Execution:
    def __init__(
        self, store: Store, namespaces: Namespaces, settings: Settings, secrets: Secrets
    ) -> None:
        self.store = store
        self.namespaces = namespaces
        self.settings = settings
        self.secrets = secrets
        #: (function, calling namespace, secrets' version) -> the code its calls run
        self._codes: dict[tuple[Function, str, str], ActionCode] = {}

    async def prepare(self, lease: Lease) -> tuple[Function, RunRequest] | Outcome:
        """The run request for a leased call, or the outcome when it cannot run at all."""
        owner = lease.meta.owner or lease.namespace
        action = await self.store.get_entity(owner, ACTIONS, lease.path)
        if action is None:
            return failure(
                lease,
                CallState.DEVELOPER_ERROR,
                f"The action '{owner}/{lease.path}' no longer exists.",
            )
        namespace = await self.namespaces.get(lease.namespace)
        if namespace is None:
            return failure(lease, CallState.PLATFORM_ERROR, "The namespace no longer exists.")
        function = function_of(action)
        if function.is_sequence:  # it became a sequence after the call was accepted
            message = "Action version is not compatible and cannot be invoked."
            return failure(lease, CallState.DEVELOPER_ERROR, message)
        params: dict[str, Any] = {**lease.meta.package_params, **function.defaults}
        try:
            params.update(await claims.redeem(self.store, lease.params, lease.namespace))
        except NotFound as exc:
            return failure(lease, CallState.PLATFORM_ERROR, exc.message)
        deadline = now_ms() + function.timeout_ms
        env = {
            "__OW_API_HOST": self.settings.resolved_api_host(),
            "__OW_NAMESPACE": lease.namespace,
            "__OW_ACTION_NAME": f"/{owner}/{lease.path}",
            "__OW_ACTION_VERSION": action.version,
            "__OW_ACTIVATION_ID": lease.id.hex,
            "__OW_TRANSACTION_ID": lease.meta.transid or lease.id.hex,
            "__OW_DEADLINE": str(deadline),
        }
        if lease.trace is not None:  # the function's own spans are children of its run
            env[trace.ENV] = lease.trace.phase(trace.RUN, lease.attempt).traceparent
            if isinstance(params.get(HEADERS), dict):  # an HTTP request: its header too
                params[HEADERS] = traced(headers_of(params[HEADERS]), env[trace.ENV])
        if function.provide_api_key:
            env["__OW_API_KEY"] = str(self.namespaces.function_key(namespace))
        try:
            secrets = await self._secrets(function, owner, lease.namespace)
        except MissingSecret as exc:
            message = f"The function cannot start: {exc.message} in the namespace '{owner}'."
            return failure(lease, CallState.DEVELOPER_ERROR, message)
        code = self._code(function, lease.namespace, secrets)
        request = RunRequest(
            action=code,
            params=params,
            env=env,
            timeout_ms=function.timeout_ms,
            log_limit_bytes=function.logs_mb * 1024 * 1024,
            result_limit_bytes=self.settings.result_max_bytes,
        )
        return function, request

    def _code(self, function: Function, namespace: str, secrets: SecretValues) -> ActionCode:
        """What the runtime runs for a call of `function` by `namespace`: the same for each
        of its calls while the function's version and its secrets' are, so made once."""
        key = (function, namespace, secrets.version)
        code = self._codes.get(key)
        if code is None:
            if len(self._codes) >= _CODES_KEPT:
                self._codes.clear()
            code = self._codes[key] = ActionCode(
                key=f"{function.namespace}/{function.name}@{function.version}"
                f"#{function.updated}{secrets.version}",
                kind=function.kind,
                code=function.code,
                binary=function.binary,
                main=function.main,
                env=dict(function.init_env),
                memory_mb=function.memory_mb,
                idle_seconds=function.idle_seconds,
                concurrency=function.concurrency,
                namespace=namespace,
                owner=function.namespace,
                network=self._network(function.network),
                secrets=secrets.values,
                replicas=function.replicas,
            )
        return code

    async def _secrets(self, function: Function, owner: str, caller: str) -> SecretValues:
        """The values of the secrets the function reads: its own namespace's, for calls of
        that namespace only (another namespace's call of a shared action gets none)."""
        if not function.secret_names or owner != caller:
            return NO_SECRETS
        return await self.secrets.values(owner, list(function.secret_names))

    def _network(self, value: str | None) -> str | None:
        """The function's own network (None: the server's), checked again when it runs: an
        operator who no longer allows the host's network is obeyed by stored functions too."""
        if value == "host" and not self.settings.host_network_allowed:
            return None
        return value

    def finish(self, lease: Lease, function: Function, result: RunResult) -> Outcome:
        record: dict[str, Any] = {
            "result": result.result,
            "size": result.size,
            "logs": result.logs,
            "start": result.start_ms,
            "end": result.end_ms,
            "waitTime": max(lease.started - lease.created, 0),
            "initTime": result.init_ms,
            "kind": function.kind,
            "version": function.version,
            "limits": dict(function.limits),
            "timeout": result.outcome is RunOutcome.TIMEOUT,
            "attempts": lease.attempt,
        }
        return Outcome(_STATES[result.outcome], record, result.end_ms, result.start_ms)
