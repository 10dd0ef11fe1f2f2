"""A sequence's exec as stored, and its steps' ids (the sequence's cursor in the ledger)."""

from __future__ import annotations

import pytest

from sluice.engine.sequence_exec import sequence_exec
from sluice.engine.sequences import step_id
from sluice.errors import BadRequest
from sluice.ids import CallId


def test_components_are_stored_fully_qualified() -> None:
    stored = sequence_exec("guest", {"components": ["a", "/_/b", "p/c", "/other/p/d"]}, 50)
    assert stored == {
        "kind": "sequence",
        "components": ["/guest/a", "/guest/b", "/guest/p/c", "/other/p/d"],
        "binary": False,
    }


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ([], "No component specified for the sequence."),
        (["a", "b", "c"], "Too many actions in the sequence."),
        ("a,b", "The field 'exec.components' must be a list of action names."),
        ([1], "The field 'exec.components' must be a list of action names."),
        (["/a/b/c/d"], "The name 'b/c/d' has too many parts."),
    ],
)
def test_bad_components(components: object, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        sequence_exec("guest", {"components": components}, 2)
    assert raised.value.message == message


def test_a_steps_id_is_the_same_on_every_run_and_unique_to_its_place() -> None:
    sequence, other = CallId.new(), CallId.new()
    secret = b"s" * 32
    assert step_id(sequence, 0, secret) == step_id(sequence, 0, secret)
    ids = {step_id(sequence, place, secret) for place in range(50)}
    ids |= {step_id(other, place, secret) for place in range(50)}
    assert len(ids) == 100
    assert step_id(sequence, 0, b"t" * 32) != step_id(sequence, 0, secret)
    # their times follow the sequence's, in their order
    assert step_id(sequence, 0, secret).timestamp_ms == sequence.timestamp_ms + 1
    assert step_id(sequence, 1, secret).timestamp_ms == sequence.timestamp_ms + 2
