"""Where the dashboard's screenshots went, at the end of the run whatever its verbosity."""

from __future__ import annotations

import pytest

from tests.ui.browser import SCREENSHOTS, TAKEN


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TAKEN:
        terminalreporter.write_line(f"dashboard screenshots ({len(TAKEN)}): {SCREENSHOTS}")
