"""schemathesis over /openapi.json against a real server, bounded (a few examples per
operation, a fixed seed): no answer is a 5xx, and every answer keeps to the document
(its status codes, content types and schemas). Its counts are printed at the end of the run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.http import schemathesis_tally
from tests.support.server import SluiceServer

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
EXAMPLES_PER_OPERATION = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    """A server of its own: the session's holds other tests' functions, some of which answer
    500 on purpose (a function's own answer, which schemathesis cannot tell from Sluice's)."""
    instance = SluiceServer(tmp_path_factory.mktemp("schemathesis"))
    try:
        yield instance.start()
    finally:
        instance.close()


def test_schemathesis_finds_no_5xx_and_no_answer_off_the_document(
    server: SluiceServer, tmp_path: Path
) -> None:
    report = tmp_path / "schemathesis.json"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{server.url}/openapi.json",
        "--auth",
        server.auth,
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "1",
        # one: hypothesis's lambda-source cache is not thread-safe, and two workers
        # (threads) once made it raise inside schemathesis, a "Runtime Error" of its own
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False
    )
    assert report.exists(), done.stdout + done.stderr
    run = json.loads(report.read_text())
    cases = run["test_cases"]
    operations = run["operations"]
    failures = {f["code"]: (f["title"], f["count"], f["operations"]) for f in run["failures"]}
    schemathesis_tally.LINES.append(
        f"schemathesis {run['schemathesis_version']}: {operations['tested']}/"
        f"{operations['total']} operations, {cases['generated']} test cases "
        f"(at most {EXAMPLES_PER_OPERATION} per operation and phase), "
        f"{cases['with_failures']} failed, {len(run['errors'])} errors; "
        f"failures: {failures or 'none'}"
    )
    told = _told(done.stdout)
    assert run["complete"], told
    assert operations["tested"] == operations["total"] > 100
    assert run["errors"] == [], told
    assert failures == {}, told


def _told(output: str) -> str:
    """schemathesis's own account of its errors and failures (before its warnings)."""
    start = min(
        (i for i in (output.find("= ERRORS ="), output.find("= FAILURES =")) if i >= 0), default=0
    )
    end = output.find("= WARNINGS =", start)
    return output[start : end if end > 0 else None][:8000]
