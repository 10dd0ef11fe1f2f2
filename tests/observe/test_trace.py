"""W3C traceparent rules: what is accepted, what is ignored, and how spans follow."""

from __future__ import annotations

import pytest

from sluice.observe.trace import Trace, begin, decode, encode, parse

GOOD = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_header_is_the_callers_span() -> None:
    assert parse([GOOD]) == Trace(
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", None, "01"
    )
    assert parse([f" {GOOD}\t"]) is not None  # optional whitespace around the value


@pytest.mark.parametrize(
    "values",
    [
        [],
        [GOOD, GOOD],  # more than one traceparent header
        ["01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],  # not version 00
        ["ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
        ["00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"],  # uppercase hex
        ["00-00000000000000000000000000000000-00f067aa0ba902b7-01"],  # all-zero trace id
        ["00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],  # all-zero span id
        ["00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],  # 31 hex
        ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"],
        ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"],
        ["not a traceparent"],
    ],
)
def test_a_header_that_breaks_the_rules_is_ignored(values: list[str]) -> None:
    assert parse(values) is None


def test_a_call_is_a_child_of_its_caller_or_a_new_root() -> None:
    caller = parse([GOOD])
    assert caller is not None
    call = begin(caller)
    assert (call.trace_id, call.parent_id, call.flags) == (caller.trace_id, caller.span_id, "01")
    assert call.span_id != caller.span_id
    root, other = begin(None), begin(None)
    assert root.parent_id is None
    assert root.trace_id != other.trace_id
    assert len(root.trace_id) == 32
    assert len(root.span_id) == 16
    assert root.sampled


def test_a_phase_is_a_child_named_alike_everywhere() -> None:
    call = begin(None)
    run = call.phase("run", 1)
    assert run == call.phase("run", 1)  # another process derives the same span
    assert run.parent_id == call.span_id
    assert run.trace_id == call.trace_id
    assert len({run.span_id, call.phase("run", 2).span_id, call.phase("callback", 1).span_id}) == 3


def test_a_span_survives_its_columns() -> None:
    call = begin(parse([GOOD]))
    assert decode(*encode(call)) == call
    assert encode(None) == (None, None)
    assert decode(None, None) is None
