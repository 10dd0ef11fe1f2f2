"""What a test does when a service it needs (PostgreSQL, NATS) is not here: in CI, where the
services are provided, that is a failure; on a developer's machine, a skip."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def services_required() -> bool:
    """SLUICE_REQUIRE_SERVICES=1, or CI=true (GitHub Actions, GitLab and most CIs set it)."""
    return os.environ.get("SLUICE_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


def service_missing(why: str) -> NoReturn:
    """Fail the test where the services must be here; skip it elsewhere."""
    if services_required():
        pytest.fail(f"{why} (and SLUICE_REQUIRE_SERVICES=1 or CI=true say it must be here)")
    pytest.skip(why)
