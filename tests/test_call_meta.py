"""A call's meta is stored as the JSON object earlier versions wrote as a free-form dict:
those rows still decode to the typed fields, and what is written now is that same shape."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from sluice import call_meta
from sluice.call_meta import CallbackMeta, CallMeta, OpenFaasMeta
from sluice.ids import CallId
from sluice.store.rows import call_from_row

#: metas as the dict-carrying code stored them, each with the typed value it stands for
OLD_ROWS: list[tuple[dict[str, Any], CallMeta]] = [
    ({}, CallMeta()),
    (
        {
            "dialect": "openfaas",
            "async": True,
            "subject": "ns",
            "transid": "t1",
            "openfaas": {
                "function": "echo",
                "start_ns": 5,
                "call_header": None,
                "content_type": "text/plain",
            },
            "callback": {"headers": {"X-Call-Id": "c"}, "content_type": "text/plain"},
            "owner": "other",
            "package_params": {"a": 1},
        },
        CallMeta(
            dialect="openfaas",
            async_=True,
            subject="ns",
            transid="t1",
            openfaas=OpenFaasMeta("echo", 5, None, "text/plain"),
            callback=CallbackMeta({"X-Call-Id": "c"}, "text/plain"),
            owner="other",
            package_params={"a": 1},
        ),
    ),
    (
        {
            "subject": "ns",
            "transid": "t2",
            "sequence_parent": "ab" * 16,
            "sequence_run_before": 3,
            "sequence_depth": 2,
            "sequence": True,
        },
        CallMeta(
            subject="ns",
            transid="t2",
            sequence_parent="ab" * 16,
            sequence_run_before=3,
            sequence_depth=2,
            conducted=True,
        ),
    ),
    (
        {"dialect": "openwhisk", "subject": "u", "transid": "t3", "web": True},
        CallMeta(dialect="openwhisk", subject="u", transid="t3", web=True),
    ),
    (
        {"subject": "ns", "alarm": "interval", "entity": "trigger", "redriven_from": "x"},
        CallMeta(subject="ns", alarm="interval", trigger=True, redriven_from="x"),
    ),
    ({"subject": "ns", "cause": "cd" * 16}, CallMeta(subject="ns", cause="cd" * 16)),
]


def test_a_call_stored_with_the_old_dict_meta_decodes() -> None:
    for stored, typed in OLD_ROWS:
        row = (CallId.new().raw, "ns", "f", "queued", b"{}", orjson.dumps(stored), 256, 1, None)
        call = call_from_row((*row, None, 0, None, None, None))
        assert call.meta == typed
        # written back, it is the same object: a row the old code reads as it wrote it
        assert call_meta.encode(call.meta) == stored


def test_an_unknown_key_is_dropped_and_a_missing_one_is_its_default() -> None:
    assert call_meta.decode({"later": 1, "subject": "s"}) == CallMeta(subject="s")
    assert call_meta.decode({}).dialect == "sluice"


def test_placed_is_replace_of_the_owner_and_package_params() -> None:
    meta = CallMeta(dialect="openfaas", subject="s", async_=True, callback=CallbackMeta({"a": "b"}))
    placed = meta.placed("other", {"p": 1})
    assert placed == dataclasses.replace(meta, owner="other", package_params={"p": 1})
    assert (meta.owner, meta.package_params) == (None, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        placed.owner = "x"  # type: ignore[misc]


@pytest.mark.parametrize("cls", [CallMeta, OpenFaasMeta, CallbackMeta])
def test_each_hand_written_init_sets_every_field_from_its_own_argument(cls: type) -> None:
    # the __init__s are written out for speed: a field added to the class but not to its
    # __init__ (or passed on under another's name) would be silently lost
    names = [f.name for f in dataclasses.fields(cls)]
    sentinels = {name: object() for name in names}
    made = cls(**sentinels)
    assert list(vars(made)) == names
    assert all(getattr(made, name) is sentinels[name] for name in names)
    required = {
        f.name: "given"
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    defaults = cls(**required)
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            assert getattr(defaults, f.name) == f.default
        elif f.default_factory is not dataclasses.MISSING:
            assert getattr(defaults, f.name) == f.default_factory()
