"""The fuzzer's counts at the end of the run, whatever its verbosity."""

from __future__ import annotations

import pytest
from tests.http import schemathesis_tally
from tests.http.fuzz_tally import summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    text = summary()
    if text:
        terminalreporter.write_line(text)
    for line in schemathesis_tally.LINES:
        terminalreporter.write_line(line)
