"""A kind's name read without the runtime (sluice/kinds.py) says what the runtime's own
table says of it."""

from __future__ import annotations

import pytest

from sluice.kinds import Family, calls_per_process, family_of, serves_http
from sluice.runtime.kinds import ALL_KINDS


def test_every_built_in_name_and_alias_has_the_runtimes_family() -> None:
    for kind in ALL_KINDS:
        for name in (kind.name, *kind.aliases):
            assert family_of(name) is kind.family, name
            assert serves_http(name) is kind.serves_http, name


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("nodejs:24", Family.NODEJS),
        ("python:3.13", Family.PYTHON),
        ("fn:anything", Family.FN),
        ("fn", None),
        ("go:1.22", None),
        ("ruby", None),
        ("sequence", None),
    ],
)
def test_a_name_outside_the_table_goes_by_its_prefix(name: str, family: Family | None) -> None:
    assert family_of(name) is family


def test_only_nodejs_processes_take_several_calls() -> None:
    assert calls_per_process("nodejs:20", 4) == 4
    assert calls_per_process("nodejs", 0) == 1
    assert calls_per_process("python:3.11", 4) == 1
