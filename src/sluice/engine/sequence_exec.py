"""A sequence action's `exec` ({"kind": "sequence", "components": ["/ns/[pkg/]name", ...]}).
Pure: no store, so that actions, calls and the worker can all read it."""

from __future__ import annotations

from typing import Any

from sluice.engine.names import parse_reference
from sluice.errors import BadRequest

KIND = "sequence"

# OpenWhisk's words (its Messages), which clients and their tests match
TOO_LONG = "Too many actions in the sequence."
NO_COMPONENT = "No component specified for the sequence."
CYCLIC = "Sequence may not refer to itself."
COMPONENT_NOT_FOUND = "Sequence component does not exist."


def is_sequence(doc: dict[str, Any]) -> bool:
    return bool(doc["exec"]["kind"] == KIND)


def sequence_exec(namespace: str, value: dict[str, Any], max_actions: int) -> dict[str, Any]:
    """The stored exec of a sequence created in `namespace`: each component fully
    qualified (`_` and names without a namespace are the creator's), as OpenWhisk keeps
    them. Whether they exist is checked apart (it needs the store)."""
    components = value.get("components")
    if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
        raise BadRequest("The field 'exec.components' must be a list of action names.")
    if not components:
        raise BadRequest(NO_COMPONENT)
    if len(components) > max_actions:
        raise BadRequest(TOO_LONG)
    names = [f"/{parse_reference(namespace, c.strip()).qualified}" for c in components]
    return {"kind": KIND, "components": names, "binary": False}
