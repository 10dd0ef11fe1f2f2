"""The schemathesis run's counts, kept for the run's summary (tests/http/conftest.py)."""

from __future__ import annotations

LINES: list[str] = []
