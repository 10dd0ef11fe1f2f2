"""Section 4's floors: the bare command runs as a function process would (no timing asserted),
and each sandboxed floor sits after its bare one with the no-stem-cell verdicts still set by
the bare floor."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from bench.suite.cold import fork_exec, rows
from bench.suite.table import MISS, PASS


def test_the_floor_runs_in_a_function_processes_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt")
    clean = 'test -z "$NODE_EXTRA_CA_CERTS" && test "$PWD" = "$HOME" && test "$LANG" = C.UTF-8'
    figures = fork_exec(["sh", "-c", clean], 3)
    assert figures["n"] == 3
    # the same check fails where the variable is kept: fork_exec would raise on it
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(["sh", "-c", 'test -z "$NODE_EXTRA_CA_CERTS"'], check=True)


def _latency(p50: float) -> dict[str, float]:
    return {"n": 10, "p50": p50, "p99": p50, "max": p50}


def _kind(p50: float) -> dict[str, Any]:
    return {
        "rtt_ms": _latency(p50),
        "ok": 10,
        "n": 10,
        "init_ms": _latency(p50 - 1),
        "update_rtt_ms": _latency(1.0),
    }


def test_sandboxed_floors_follow_their_bare_floor_and_verdicts_use_the_bare_one() -> None:
    results = {
        "floor_python": _latency(10.0),
        "floor_python_bwrap": _latency(14.0),
        "floor_node": _latency(25.0),
        "floor_node_bwrap": _latency(28.0),
        # 1.2x the bare floors: 12 ms and 30 ms
        "stem_0": {"python": _kind(11.9), "node": _kind(31.0)},
    }
    out = rows(results)
    figures = [row.figure for row in out]
    assert figures[:4] == [
        "floor: fork+exec `python -I -S -c pass`",
        "floor: fork+exec `python -I -S -c pass` in Sluice's bwrap sandbox",
        "floor: fork+exec `node -e 0`",
        "floor: fork+exec `node -e 0` in Sluice's bwrap sandbox",
    ]
    assert out[1].reference == "unsandboxed 10.0 ms"
    verdicts = {row.figure: row.verdict for row in out[4:]}
    assert verdicts["Sluice Python: update + first blocking invoke, no stem cell"] == PASS
    assert verdicts["Sluice Node.js: update + first blocking invoke, no stem cell"] == MISS


def test_without_bwrap_there_are_only_the_bare_floors() -> None:
    out = rows({"floor_python": _latency(10.0), "floor_node": _latency(25.0)})
    assert [row.figure for row in out] == [
        "floor: fork+exec `python -I -S -c pass`",
        "floor: fork+exec `node -e 0`",
    ]
