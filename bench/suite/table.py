"""The suite's table: one row per figure, with its reference, its target and a verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.stats import fmt_ms

PASS = "PASS"
MISS = "MISS"


@dataclass
class Row:
    section: str
    figure: str
    result: str
    p50: str = ""
    p99: str = ""
    max: str = ""
    #: what the figure is compared with, measured in the same run where one exists
    reference: str = ""
    #: the issue's target, in words
    target: str = ""
    #: PASS, MISS, or "" when the figure has no target (a reference row)
    verdict: str = ""
    notes: str = ""


def verdict(ok: bool | None) -> str:
    """PASS/MISS; "" when the figure is missing (a failed or skipped measurement)."""
    return "" if ok is None else (PASS if ok else MISS)


def at_most(value: float | None, limit: float | None) -> bool | None:
    """value <= limit, or None when either is missing (NaN counts as missing)."""
    if value is None or limit is None or math.isnan(value) or math.isnan(limit):
        return None
    return value <= limit


def at_least(value: float | None, limit: float | None) -> bool | None:
    if value is None or limit is None or math.isnan(value) or math.isnan(limit):
        return None
    return value >= limit


def all_of(*checks: bool | None) -> bool | None:
    """Every check holds; None when any is missing."""
    if any(check is None for check in checks):
        return None
    return all(checks)


def latency_cells(summary: dict[str, float]) -> tuple[str, str, str]:
    return fmt_ms(summary.get("p50")), fmt_ms(summary.get("p99")), fmt_ms(summary.get("max"))


def latency_row(section: str, figure: str, summary: dict[str, float], **fields: str) -> Row:
    """A row whose result is a p50 (milliseconds), with its p50/p99/max cells."""
    return Row(section, figure, fmt_ms(summary.get("p50")), *latency_cells(summary), **fields)


COLUMNS = ("section", "figure", "result", "p50", "p99", "max", "reference", "target", "verdict")


def markdown(rows: list[Row], notes: bool = True) -> str:
    """A GitHub table of the rows (with a notes column unless `notes` is False)."""
    names = [*COLUMNS, "notes"] if notes else list(COLUMNS)
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in rows:
        cells = [str(getattr(row, name)) for name in names]
        lines.append(
            "| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |"
        )
    return "\n".join(lines)


def tally(rows: list[Row]) -> str:
    passed = sum(row.verdict == PASS for row in rows)
    missed = [row for row in rows if row.verdict == MISS]
    return f"{passed} PASS, {len(missed)} MISS" + (
        ": " + "; ".join(f"{row.section}: {_short(row.figure)}" for row in missed) if missed else ""
    )


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
