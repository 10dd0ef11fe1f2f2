"""Tests that need the bubblewrap sandbox to work on this machine."""

from __future__ import annotations

import shutil

import pytest

from sluice.sandbox.bwrap import bwrap_works

BWRAP = shutil.which("bwrap")
needs_bwrap = pytest.mark.skipif(
    BWRAP is None or not bwrap_works(BWRAP), reason="bubblewrap is missing or cannot run here"
)
