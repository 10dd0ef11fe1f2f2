"""The frozen view of a stored action: what each field reads from the document, and that a
version is parsed once (and a changed document, even at the same version, again)."""

from __future__ import annotations

from typing import Any

import pytest

from sluice.engine.functions import RETRY_KEYS, function_of, parse
from sluice.records import Entity


def _doc(**fields: Any) -> dict[str, Any]:
    return {
        "exec": {"kind": "nodejs:20", "code": "x", "binary": False},
        "limits": {"timeout": 3000, "memory": 256, "logs": 5, "concurrency": 4},
        "parameters": [],
        "annotations": [],
        **fields,
    }


def _entity(doc: dict[str, Any], version: str = "0.0.1", updated: int = 1) -> Entity:
    return Entity("ns", "actions", "pkg/f", version, updated, doc)


def _pairs(**values: Any) -> list[dict[str, Any]]:
    return [{"key": key.replace("_", "-"), "value": value} for key, value in values.items()]


def test_exec_and_limits() -> None:
    function = parse(_entity(_doc()))
    assert (function.kind, function.code, function.binary, function.main) == (
        "nodejs:20",
        "x",
        False,
        "main",
    )
    assert (function.timeout_ms, function.memory_mb, function.logs_mb) == (3000, 256, 5)
    assert (function.concurrency, function.sharing) == (4, 4)
    assert dict(function.limits)["timeout"] == 3000
    assert not function.is_sequence
    assert function.components == ()


def test_a_sequence_has_components_and_no_code() -> None:
    doc = _doc(exec={"kind": "sequence", "components": ["/ns/a", "/ns/b"], "binary": False})
    function = parse(_entity(doc))
    assert function.is_sequence
    assert function.components == ("/ns/a", "/ns/b")
    assert function.code == ""


def test_parameters_split_into_defaults_and_init_environment() -> None:
    doc = _doc(
        parameters=[
            {"key": "name", "value": "world"},
            {"key": "TOKEN", "value": {"a": 1}, "init": True},
            {"key": "PLAIN", "value": "text", "init": True},
        ]
    )
    function = parse(_entity(doc))
    assert dict(function.defaults) == {"name": "world"}
    assert dict(function.init_env) == {"TOKEN": '{"a":1}', "PLAIN": "text"}


def test_of_two_annotations_with_one_key_the_first_counts() -> None:
    doc = _doc(
        annotations=[
            {"key": "com.openfaas.retry.attempts", "value": 7},
            {"key": "com.openfaas.retry.attempts", "value": "2"},
            {"key": "com.openfaas.retry.max_wait", "value": "1m"},
            {"key": "web-export", "value": True},
            {"key": "web-export", "value": False},
        ]
    )
    function = parse(_entity(doc))
    assert function.retry == ("7", None, None, "1m", None)
    assert function.flag("web-export")
    assert parse(_entity(_doc())).retry == (None,) * len(RETRY_KEYS)


def test_settings_from_annotations_are_checked_once() -> None:
    doc = _doc(
        annotations=_pairs(
            network="egress",
            replicas=2,
            idle_timeout=30,
            secrets=["b", "a"],
            provide_api_key=False,
        )
    )
    function = parse(_entity(doc))
    assert (function.network, function.replicas, function.idle_seconds) == ("egress", 2, 30.0)
    assert function.secret_names == ("a", "b")
    assert function.provide_api_key is False
    plain = parse(_entity(_doc()))
    assert (plain.network, plain.replicas, plain.idle_seconds, plain.secret_names) == (
        None,
        None,
        None,
        (),
    )
    assert plain.provide_api_key is True


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        (_pairs(network="moon"), ("network", None)),
        (_pairs(replicas=-1), ("replicas", None)),
        (_pairs(replicas=True), ("replicas", None)),
        (_pairs(idle_timeout=0), ("idle_seconds", None)),
        (_pairs(secrets="not-a-list"), ("secret_names", ())),
    ],
)
def test_a_setting_stored_before_its_rule_reads_as_none(
    annotations: list[dict[str, Any]], expected: tuple[str, Any]
) -> None:
    field, value = expected
    assert getattr(parse(_entity(_doc(annotations=annotations))), field) == value


def test_lane_from_annotations_and_a_parameter_over_them() -> None:
    doc = _doc(
        annotations=[
            {"key": "com.openfaas.queue", "value": " slow "},
            {"key": "com.openfaas.max_inflight", "value": "3"},
        ]
    )
    function = parse(_entity(doc))
    assert (function.queue_name, function.max_inflight) == ("slow", 3)
    doc["parameters"] = [{"key": "max_inflight", "value": "5", "init": True}]
    assert parse(_entity(doc)).max_inflight == 5
    doc["parameters"] = [{"key": "max_inflight", "value": str(2**70)}]
    assert parse(_entity(doc)).max_inflight == 0  # past the store's integers: no cap


def test_a_version_is_parsed_once_and_a_new_one_again() -> None:
    doc = _doc()
    first = function_of(_entity(doc))
    assert function_of(_entity(doc)) is first
    # the same row read again from a store without a row cache: an equal, new dict
    assert function_of(_entity(_doc())) is first
    updated = function_of(_entity(_doc(limits={"timeout": 9, "memory": 1, "logs": 1}), "0.0.2"))
    assert updated.timeout_ms == 9
    # deleted and made again within the same millisecond: same version and time, new doc
    again = function_of(_entity(_doc(exec={"kind": "python:3", "code": "y", "binary": False})))
    assert (again.kind, again.code) == ("python:3", "y")


def test_the_view_is_frozen() -> None:
    function = parse(_entity(_doc(parameters=[{"key": "a", "value": 1}])))
    with pytest.raises(AttributeError):
        function.kind = "python:3"  # type: ignore[misc]
    with pytest.raises(TypeError):
        function.defaults["a"] = 2  # type: ignore[index]
