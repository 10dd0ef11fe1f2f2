"""The one place a call to run is built, however it is made (accept, a trigger's fire, a
redrive, a sequence's step): each gets its function's owner and package parameters, its
named queue and cap on running calls, how its processes share calls, and whether the
worker conducts it as a sequence."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sluice.call_meta import CallMeta
from sluice.engine.resolve import Target
from sluice.ids import CallId
from sluice.observe.trace import Trace, begin
from sluice.records import CallState, NewCall


@dataclass(frozen=True, slots=True)
class When:
    """When a call was made and may run (epoch ms)."""

    now: int
    #: run no earlier than this; None: at once
    run_at: int | None = None

    @property
    def visible_at(self) -> int:
        return max(self.run_at or self.now, self.now)


def new_call(
    caller: str,
    target: Target,
    params: dict[str, Any],
    meta: CallMeta,
    call_id: CallId,
    when: When,
    *,
    callback: str | None = None,
    idempotency_key: str | None = None,
    blob: bytes | None = None,
    parent: Trace | None = None,
) -> NewCall:
    """A queued call of `target` on behalf of `caller`: a span of `parent`'s trace (the
    caller's, or the sequence or trigger it is part of), or the root of a new one."""
    owner = target.owner if target.owner != caller else None
    meta = meta.placed(owner, dict(target.package_params))
    function = target.function
    if function.is_sequence:
        # a sequence runs no code of its own: it takes no room from the calls it waits
        # for (worker/capacity.py), and its steps are counted in their own lanes
        meta = replace(meta, conducted=True)
        memory_mb, queue_name, fn_limit, concurrency = 0, "", 0, 1
    else:
        memory_mb = function.memory_mb
        queue_name, fn_limit = function.queue_name, function.max_inflight
        concurrency = function.sharing
    return NewCall(
        id=call_id,
        namespace=caller,
        path=target.action.name,
        params=params,
        meta=meta,
        memory_mb=memory_mb,
        created=when.now,
        visible_at=when.visible_at,
        state=CallState.QUEUED,
        callback=callback,
        idempotency_key=idempotency_key,
        blob=blob,
        queue_name=queue_name,
        fn_limit=fn_limit,
        concurrency=concurrency,
        trace=begin(parent),
    )
