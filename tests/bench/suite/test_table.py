"""The suite's verdicts and table: PASS/MISS from figures, missing figures never pass."""

from __future__ import annotations

import math

from bench.suite.table import MISS, PASS, Row, all_of, at_least, at_most, markdown, tally, verdict


def test_limits_hold_at_the_boundary_and_missing_figures_give_no_verdict() -> None:
    assert at_most(3.0, 3.0) is True
    assert at_most(3.01, 3.0) is False
    assert at_least(6000.0, 6000.0) is True
    assert at_least(5999.0, 6000.0) is False
    assert at_most(None, 3.0) is None
    assert at_most(math.nan, 3.0) is None
    assert at_least(1.0, None) is None


def test_all_of_needs_every_figure() -> None:
    assert all_of(True, True) is True
    assert all_of(True, False) is False
    assert all_of(True, None) is None
    assert verdict(None) == ""
    assert verdict(True) == PASS
    assert verdict(False) == MISS


def test_markdown_has_one_line_per_row_and_escapes_pipes() -> None:
    rows = [
        Row("1 accept", "a | b", "1/s", verdict=PASS),
        Row("2 throughput", "c", "2/s", verdict=MISS, notes="x\ny"),
    ]
    lines = markdown(rows).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("| section | figure | result |")
    assert "a / b" in lines[2]
    assert lines[3].endswith("| x y |")
    assert "notes" not in markdown(rows, notes=False)
    assert tally(rows) == "1 PASS, 1 MISS: 2 throughput: c"
