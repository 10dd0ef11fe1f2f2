"""The Python runner on every Python version a python kind may map to (3.9 to 3.13, those
installed here besides the server's own): each is configured, runs a call, reports its
version, and keeps the runner's behaviour (results, errors, logs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.runtime.base import Outcome, RunResult
from tests.runtime.helpers import action, open_runtime, request, run
from tests.support.interpreters import other_pythons

PYTHONS = other_pythons()
CODE = """import sys
def main(args):
    print("on", sys.version_info[:2])
    if args.get("fail"):
        raise ValueError("asked to")
    return {"version": "%d.%d" % sys.version_info[:2], "echo": args.get("x")}
"""


@pytest.mark.skipif(not PYTHONS, reason="no Python here besides the server's own")
@pytest.mark.parametrize("kind", sorted(PYTHONS))
def test_the_python_runner_runs_on_each_version(kind: str, tmp_path: Path) -> None:
    runtimes = f"{kind}={PYTHONS[kind]}"

    async def scenario() -> tuple[RunResult, RunResult]:
        async with open_runtime(tmp_path / "work", runtimes=runtimes) as runtime:
            assert runtime.resolve_kind(kind) == kind
            code = action(CODE, kind)
            good = await runtime.run(request(code, {"x": 3}))
            bad = await runtime.run(request(code, {"fail": True}))
            return good, bad

    good, bad = run(scenario())
    version = kind.partition(":")[2]
    assert good.outcome is Outcome.SUCCESS, good.result
    assert good.result == {"version": version, "echo": 3}
    assert any("stdout: on (" in line for line in good.logs)
    assert bad.outcome is Outcome.DEVELOPER_ERROR
    assert "ValueError: asked to" in str(bad.result)
