"""The seed's sources, byte for byte, and a worker copy whose only change is its delay."""

from __future__ import annotations

from pathlib import Path

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seed"
WORKER_JS = (SEED / "worker.js").read_text()
WEB_ACTION_JS = (SEED / "web-action.js").read_text()


def worker_with_delay(ms: int) -> str:
    assert WORKER_JS.count("100000") == 1
    return WORKER_JS.replace("100000", str(ms))
