"""W3C trace context (https://www.w3.org/TR/trace-context/): the `traceparent` a call is
accepted with, the span each call is, and the spans its phases and children are.

Every call has a span of its own: a caller's valid `traceparent` makes it a child of the
caller's span (same trace id); without one (or with one that breaks the rules) it starts a
trace of its own. Ids are lowercase hex, as on the wire."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable
from typing import NamedTuple

#: the header, and the environment variable an OpenWhisk action reads it from
HEADER = "traceparent"
ENV = "__OW_TRACEPARENT"
#: the phases of a call that are spans of their own (children of the call's)
RUN = "run"
CALLBACK = "callback"

#: version 00 only: 2 hex version, 32 hex trace id, 16 hex parent span id, 2 hex flags
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
#: flags of a trace Sluice starts: sampled
_SAMPLED = "01"


class Trace(NamedTuple):
    """A span's place in a trace: the call's own, or (parsed) the caller's. A tuple: made
    on every accept, it costs a tenth of a frozen dataclass."""

    trace_id: str
    span_id: str
    #: the span this one is a child of (the caller's); None at a trace's root
    parent_id: str | None = None
    flags: str = _SAMPLED

    @property
    def traceparent(self) -> str:
        """The header that makes whoever receives it a child of this span."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    @property
    def sampled(self) -> bool:
        return int(self.flags, 16) & 1 == 1

    def child(self) -> Trace:
        """A new span of the same trace whose parent is this one."""
        return Trace(self.trace_id, _new_span_id(), self.span_id, self.flags)

    def phase(self, name: str, attempt: int = 0) -> Trace:
        """The span of one phase of this call (its run, its callback): a child whose id
        follows from the call's, so that every process that sees the call names it alike."""
        seed = f"{self.span_id}/{name}/{attempt}".encode()
        span_id = hashlib.blake2b(seed, digest_size=8).hexdigest()
        return Trace(self.trace_id, span_id, self.span_id, self.flags)


def parse(values: Iterable[str]) -> Trace | None:
    """The caller's span from its `traceparent` header values; None unless there is exactly
    one and it keeps the rules (version 00, lowercase hex, neither id all zeros)."""
    found = list(values)
    if len(found) != 1:
        return None
    match = _TRACEPARENT.fullmatch(found[0].strip(" \t"))
    if match is None:
        return None
    trace_id, span_id, flags = match.groups()
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return Trace(trace_id, span_id, None, flags)


def begin(caller: Trace | None) -> Trace:
    """A call's own span: a child of the caller's, or the root of a new trace."""
    if caller is not None:
        return caller.child()
    ids = f"{random.getrandbits(192):048x}"  # one draw for both ids: this is the accept path
    return Trace(ids[:32], ids[32:])


def _new_span_id() -> str:
    # ids need be unique, not secret (W3C): the `random` module, reseeded in each forked
    # child, as OpenTelemetry's own id generator
    return f"{random.getrandbits(64):016x}"


def encode(trace: Trace | None) -> tuple[str | None, str | None]:
    """The stored columns of a call's span: its traceparent and its parent's span id."""
    if trace is None:
        return None, None
    return trace.traceparent, trace.parent_id


def decode(traceparent: str | None, parent_id: str | None) -> Trace | None:
    """A call's span from its stored columns (None for a call stored before traces)."""
    if traceparent is None:
        return None
    _, trace_id, span_id, flags = traceparent.split("-")
    return Trace(trace_id, span_id, parent_id, flags)
