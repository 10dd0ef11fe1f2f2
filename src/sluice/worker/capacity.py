"""Admission control: running calls' memory limits fit a pool (as OpenWhisk's invoker sizes
its containers; a function whose process runs N calls at once counts its memory once per N
running calls), no namespace runs more than its share at once, and, when set, no more
calls run than the global cap, a named queue's cap or the function's own cap (so that a
slow function in a queue of its own cannot take every slot from the others)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TypeVar

from sluice.errors import BadRequest
from sluice.store.base import Candidate

#: calls that share processes: (namespace, function, memory MB, calls per process)
_Sharing = tuple[str, str, int, int]
_K = TypeVar("_K", str, tuple[str, str], _Sharing)


def parse_queues(text: str) -> dict[str, int]:
    """`slow=2,batch=4`: named queues and how many of their calls run at once."""
    out: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip().isdigit():
            raise BadRequest(f"Invalid SLUICE_QUEUES entry '{item}': use name=count.")
        out[name.strip()] = int(value)
    return out


class Capacity:
    def __init__(
        self,
        memory_mb: int,
        per_namespace: int,
        max_running: int = 0,
        queues: Mapping[str, int] | None = None,
        queue_default: int = 1,
    ) -> None:
        self.memory_mb = memory_mb
        self.per_namespace = per_namespace
        #: 0: only memory and the per-namespace cap bound the running calls
        self.max_running = max_running
        self.queues = dict(queues or {})
        self.queue_default = queue_default
        self.used_mb = 0
        self.running: Counter[str] = Counter()
        self.by_queue: Counter[str] = Counter()
        self.by_function: Counter[tuple[str, str]] = Counter()
        self.sharing: Counter[_Sharing] = Counter()

    def admit(self, candidate: Candidate) -> bool:
        """Reserve room for `candidate` if there is some."""
        if takes_no_room(candidate):
            return True
        memory_mb = self._memory_to_add(candidate)
        if self.used_mb + memory_mb > self.memory_mb:
            return False
        if self.running[candidate.namespace] >= self.per_namespace:
            return False
        if self.max_running and self.active >= self.max_running:
            return False
        name = candidate.queue_name
        if name and self.by_queue[name] >= self.queues.get(name, self.queue_default):
            return False
        function = (candidate.namespace, candidate.path)
        if candidate.fn_limit and self.by_function[function] >= candidate.fn_limit:
            return False
        self.used_mb += memory_mb
        if candidate.concurrency > 1:
            self.sharing[_sharing(candidate)] += 1
        self.running[candidate.namespace] += 1
        self.by_queue[name] += 1
        self.by_function[function] += 1
        return True

    def release(self, candidate: Candidate) -> None:
        if takes_no_room(candidate):
            return
        if candidate.concurrency > 1:
            _decrement(self.sharing, _sharing(candidate))
        # what admit added: a process's memory goes once its last call ends
        self.used_mb -= self._memory_to_add(candidate)
        _decrement(self.running, candidate.namespace)
        _decrement(self.by_queue, candidate.queue_name)
        _decrement(self.by_function, (candidate.namespace, candidate.path))

    def _memory_to_add(self, candidate: Candidate) -> int:
        """The memory one more call of `candidate`'s function takes: none while the
        processes already counted for it have room."""
        if candidate.concurrency > 1 and self.sharing[_sharing(candidate)] % candidate.concurrency:
            return 0
        return candidate.memory_mb

    @property
    def full(self) -> bool:
        if self.max_running and self.active >= self.max_running:
            return True
        if any(count % group[3] for group, count in self.sharing.items()):
            return False  # a shared process has room for a call without more memory
        return self.memory_mb - self.used_mb < 128

    @property
    def active(self) -> int:
        return sum(self.running.values())


def takes_no_room(candidate: Candidate) -> bool:
    """A call that runs no code (a sequence, which waits for its steps) takes no room:
    else sequences could fill every slot their own steps need."""
    return candidate.memory_mb == 0


def _sharing(candidate: Candidate) -> _Sharing:
    return (candidate.namespace, candidate.path, candidate.memory_mb, candidate.concurrency)


def _decrement(counter: Counter[_K], key: _K) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
