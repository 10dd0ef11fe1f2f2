"""Sequences: checking one at create, and conducting its call.

A sequence's call is queued and leased like any call; the worker that holds it conducts
it here: each component is accepted as a call of its own (a step, whose `cause` is the
sequence) with the previous step's result as its parameters, and waited for. A step's id
is derived from the sequence's id and the step's place, so the ledger itself is the
sequence's cursor: a sequence run again after a crash finds the steps it made, reads the
results of those that ended, waits for the one that runs, and goes on from there. Nothing
restarts and nothing is lost; accepting the sequence is still one durable write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from sluice.call_meta import CallMeta
from sluice.config import Settings
from sluice.engine import claims
from sluice.engine.actions import ACTIONS
from sluice.engine.calls import CallOptions, Calls
from sluice.engine.functions import Function, function_of
from sluice.engine.names import parse_reference
from sluice.engine.packages import Packages
from sluice.engine.resolve import resolve_action
from sluice.engine.sequence_exec import (
    COMPONENT_NOT_FOUND,
    CYCLIC,
    TOO_LONG,
)
from sluice.errors import BadRequest, Conflict, NotFound, SluiceError, Unavailable
from sluice.ids import CallId
from sluice.records import Call, CallState, Lease
from sluice.store.base import Outcome, Store, failure
from sluice.timing import now_ms

#: a step is looked at again this often even when no end was heard (it may end elsewhere)
_LOOK_SECONDS = 2.0
#: how long past its own time limit a step is waited for (OpenWhisk: a minute)
_STEP_GRACE_MS = 60_000


def step_id(sequence: CallId, place: int, secret: bytes) -> CallId:
    """The id of a sequence's step `place`: the same on every run of the sequence."""
    return CallId.derived(sequence.timestamp_ms + place + 1, f"step/{sequence.hex}/{place}", secret)


def timed_out(step: CallId) -> str:
    return f"Timeout reached when retrieving activation {step.hex} for sequence component."


class SequenceCheck:
    """What OpenWhisk checks when a sequence is created or updated."""

    def __init__(self, store: Store, packages: Packages, settings: Settings) -> None:
        self.store = store
        self.packages = packages
        self.limit = settings.sequence_max_actions

    async def __call__(self, namespace: str, path: str, components: list[str]) -> None:
        await self._count(namespace, f"{namespace}/{path}", components, 0)

    async def _count(self, caller: str, me: str, components: list[str], depth: int) -> int:
        """The atomic actions `components` run, nested sequences inlined."""
        if depth > self.limit:
            raise BadRequest(TOO_LONG)
        count = 0
        for component in components:
            ref = parse_reference(caller, component)
            try:
                target = await resolve_action(
                    self.store, self.packages, caller, ref.namespace, ref.path
                )
            except NotFound:
                raise BadRequest(COMPONENT_NOT_FOUND) from None
            if f"{target.owner}/{target.path}" == me:
                raise BadRequest(CYCLIC)
            function = target.function
            if function.is_sequence:
                count += await self._count(caller, me, list(function.components), depth + 1)
            else:
                count += 1
            if count > self.limit:
                raise BadRequest(TOO_LONG)
        return count


@dataclass
class _Tally:
    """What the steps so far add up to."""

    result: dict[str, Any]
    state: CallState = CallState.SUCCESS
    logs: list[str] = field(default_factory=list)
    #: the steps' own durations, summed (OpenWhisk's `duration` of a sequence)
    duration: int = 0
    memory_mb: int | None = None
    atomic: int = 0
    start: int | None = None

    def add(self, step: Call) -> None:
        record = step.record or {}
        self.logs.append(step.id.hex)
        start = record.get("start") or step.started or step.created
        end = record.get("end") or step.ended or start
        self.start = start if self.start is None else min(self.start, start)
        self.duration += int(record.get("duration", max(end - start, 0)))
        memory = (record.get("limits") or {}).get("memory")
        if isinstance(memory, int):
            self.memory_mb = max(memory, self.memory_mb or 0)
        self.atomic += int(record.get("atomicActions", 1))
        result = record.get("result")
        self.result = result if isinstance(result, dict) else {}
        if step.state is not CallState.SUCCESS:
            self.state = step.state
        elif "error" in self.result:
            self.state = CallState.APPLICATION_ERROR

    def fail(self, state: CallState, message: str) -> None:
        self.state = state
        self.result = {"error": message}


class Sequences:
    """The conductor of sequence calls (the worker hands it the ones it leases)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        secret: bytes,
        calls: Callable[[], Calls],
        cancel: Callable[[str, CallId], Awaitable[None]],
    ) -> None:
        self.store = store
        self.settings = settings
        self.secret = secret
        #: the worker conducts sequences, and their steps are calls that Calls and
        #: Cancellation dispatch to that same worker: so the conductor, built before them,
        #: reaches them through these, looked up when a sequence runs
        self._calls = calls
        #: cancels a call at a caller's request (engine/cancel.py)
        self.cancel = cancel

    @property
    def calls(self) -> Calls:
        return self._calls()

    @staticmethod
    def conducts(lease: Lease) -> bool:
        return lease.meta.conducted

    async def function(self, lease: Lease) -> Function | Outcome:
        """The sequence as it is now, or the outcome when it cannot be run."""
        owner = lease.meta.owner or lease.namespace
        action = await self.store.get_entity(owner, ACTIONS, lease.path)
        if action is None:
            message = f"The action '{owner}/{lease.path}' no longer exists."
            return failure(lease, CallState.DEVELOPER_ERROR, message)
        function = function_of(action)
        if not function.is_sequence:
            message = "Action version is not compatible and cannot be invoked."
            return failure(lease, CallState.DEVELOPER_ERROR, message)
        return function

    async def cancel_steps(self, lease: Lease) -> None:
        """The sequence was cancelled: so is its step that has not ended."""
        place = 0
        while True:
            step = await self.store.get_call(step_id(lease.id, place, self.secret))
            if step is None:
                return
            if not step.state.terminal:
                with contextlib.suppress(Conflict, NotFound):
                    await self.cancel(lease.namespace, step.id)
            place += 1

    async def run(self, lease: Lease, sequence: Function) -> Outcome:
        """Run (or go on with) the sequence's steps; its outcome once one fails or all end."""
        try:
            params = await claims.redeem(self.store, lease.params, lease.namespace)
        except NotFound as exc:
            return failure(lease, CallState.PLATFORM_ERROR, exc.message)
        tally = _Tally(params)
        before = lease.meta.sequence_run_before
        depth = lease.meta.sequence_depth
        for place, component in enumerate(sequence.components):
            step = await self._step(lease, place, component, tally, before + tally.atomic, depth)
            if step is None:
                break
            tally.add(step)
            if tally.state is not CallState.SUCCESS:
                break
            if before + tally.atomic > self.settings.sequence_max_actions:
                tally.fail(CallState.APPLICATION_ERROR, TOO_LONG)
                break
        return self._outcome(lease, sequence, tally)

    async def _step(
        self, lease: Lease, place: int, component: str, tally: _Tally, run: int, depth: int
    ) -> Call | None:
        """The step at `place`, ended (made first if no earlier run made it); None when
        the sequence ends here (`tally` says why)."""
        call_id = step_id(lease.id, place, self.secret)
        step = await self.store.get_call(call_id)
        if step is None:
            if max(run, depth) >= self.settings.sequence_max_actions:
                tally.fail(CallState.APPLICATION_ERROR, TOO_LONG)
                return None
            made = await self._make(lease, call_id, component, tally.result, run, depth)
            if made is not None:
                tally.fail(CallState.APPLICATION_ERROR, made)
                return None
            step = await self.store.get_call(call_id)
            if step is None:  # a step made durably is read back; this is a broken store
                raise Unavailable()
        ended = await self._wait(lease.namespace, step)
        if not ended.state.terminal:
            tally.logs.append(call_id.hex)
            tally.fail(CallState.PLATFORM_ERROR, timed_out(call_id))
            return None
        return ended

    async def _make(
        self,
        lease: Lease,
        call_id: CallId,
        component: str,
        params: dict[str, Any],
        run: int,
        depth: int,
    ) -> str | None:
        """Accept the step as a call (resolving its component now, as OpenWhisk does);
        the error that ends the sequence instead, if any."""
        # a step inherits its sequence's subject and transaction id
        meta = CallMeta(
            subject=lease.meta.subject,
            transid=lease.meta.transid,
            sequence_parent=lease.id.hex,
            sequence_run_before=run,
            sequence_depth=depth + 1,
        )
        size = len(orjson.dumps(params))
        options = CallOptions(call_id=call_id, claim_check=True, trace=lease.trace)
        try:
            ref = parse_reference(lease.namespace, component)
            await self.calls.invoke(
                lease.namespace, ref.namespace, ref.path, params, size, meta, None, options
            )
        except NotFound:
            return COMPONENT_NOT_FOUND
        except Conflict:
            return None  # an earlier run of this sequence made it just now
        except Unavailable:
            raise  # the server stops: the sequence goes on at the next start
        except SluiceError as exc:
            return exc.message
        return None

    async def _wait(self, namespace: str, step: Call) -> Call:
        """The step once it ended, or as it is at its deadline (its time limit and a
        minute; a nested sequence's as many times over as it may run actions)."""
        limit = self.settings.timeout_max_ms
        owner = step.meta.owner or namespace
        action = await self.store.get_entity(owner, ACTIONS, step.path)
        if action is not None:
            limit = function_of(action).timeout_ms
        if step.meta.conducted:
            limit *= self.settings.sequence_max_actions
        deadline = now_ms() + limit + _STEP_GRACE_MS
        while not step.state.terminal:
            left = deadline - now_ms()
            if left <= 0:
                break
            step = await self.calls.wait(namespace, step.id, min(left / 1000, _LOOK_SECONDS))
        return step

    def _outcome(self, lease: Lease, sequence: Function, tally: _Tally) -> Outcome:
        now = now_ms()
        limits = dict(sequence.limits)
        if tally.memory_mb is not None:
            limits["memory"] = tally.memory_mb
        start = min(tally.start or lease.started, lease.started)
        record: dict[str, Any] = {
            "result": tally.result,
            "logs": tally.logs,
            "start": start,
            "end": now,
            "duration": tally.duration,
            "waitTime": max(start - lease.created, 0),
            "kind": "sequence",
            "version": sequence.version,
            "limits": limits,
            "attempts": lease.attempt,
            "topmost": lease.meta.sequence_parent is None,
            "atomicActions": tally.atomic,
        }
        return Outcome(tally.state, record, now, start)
