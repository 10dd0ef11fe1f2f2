"""Which queue a function's calls wait in and how many of them may run at once, from the
function's own settings: the annotation `com.openfaas.queue` (OpenFaaS's named queues) and
`max_inflight` (an envVar, as the watchdog's; or the annotation `com.openfaas.max_inflight`).
The worker's capacity enforces them (worker/capacity.py)."""

from __future__ import annotations

from typing import Any

from sluice.engine.actions import annotation
from sluice.kinds import calls_per_process
from sluice.numbers import INT64_MAX, whole_number

QUEUE = "com.openfaas.queue"
MAX_INFLIGHT = "max_inflight"


def sharing(doc: dict[str, Any]) -> int:
    """How many of the function's calls one process runs at once (admission counts a
    process's memory once for that many calls)."""
    return calls_per_process(doc["exec"]["kind"], doc["limits"].get("concurrency", 1))


def lane(doc: dict[str, Any]) -> tuple[str, int]:
    """(named queue, "" for the shared one; cap on running calls, 0 for none)."""
    name = annotation(doc, QUEUE)
    limit: Any = annotation(doc, f"com.openfaas.{MAX_INFLIGHT}")
    for item in doc.get("parameters", []):
        if item.get("key") == MAX_INFLIGHT:
            limit = item.get("value")
    cap = whole_number(str(limit).strip()) if limit is not None else None
    # a cap past the store's integers caps nothing a machine can run
    return (str(name).strip() if name else ""), (0 if cap is None or cap > INT64_MAX else cap)
