"""Libraries offered to functions at run time (put on their import path, not Sluice's)."""

from __future__ import annotations

from pathlib import Path

PYTHON_LIBS = Path(__file__).parent / "python"
