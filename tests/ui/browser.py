"""Debian's Chromium, headless, driven by Playwright (the Python package; its own browser
downloads are not used): a fresh profile per test, and where its screenshots go."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.server import REPO

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

#: Debian's chromium package
CHROMIUM = Path(os.environ.get("SLUICE_TEST_CHROMIUM", "/usr/bin/chromium"))
#: kept after the run (ignored by git): CI's clone keeps them as the run's artefacts
SCREENSHOTS = Path(os.environ.get("SLUICE_UI_SCREENSHOTS", REPO / "artifacts" / "ui"))
#: the screenshots this run took (told at its end: tests/ui/conftest.py)
TAKEN: list[Path] = []
_FLAGS = [
    "--no-sandbox",  # as root, Chromium's own sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (the dev extras)"
    return None


@contextmanager
def chromium() -> Iterator[BrowserContext]:
    """A browser context on a fresh user data dir (Playwright's own launch adds one of its
    own, so the persistent context is how the profile is chosen)."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="sluice-chromium-")
    try:
        with sync_playwright() as driver:
            context = driver.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=_FLAGS,
                viewport={"width": 1280, "height": 800},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    """Keep a picture of the page as SCREENSHOTS/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    TAKEN.append(path)
