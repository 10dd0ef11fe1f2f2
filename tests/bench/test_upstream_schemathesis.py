"""bench/upstream_schemathesis.py end to end on small documents of our own (upstream's are
not kept here): it seeds a real server so that the documents' names and ids reach existing
things, runs schemathesis over it and reads schemathesis's report back. Each document
documents 200 only, so a name or id the seeding missed (a 404) is a failure."""

from __future__ import annotations

from pathlib import Path

from bench.core import running_server
from bench.upstream_schemathesis import parse_args, run, summary

OPENFAAS_DOC = """\
openapi: 3.0.1
info: {title: gateway, version: "1"}
paths:
  /system/function/{functionName}:
    get:
      parameters:
        - name: functionName
          in: path
          required: true
          schema: {type: string, enum: [nodeinfo]}
      responses:
        "200":
          description: the function
          content:
            application/json:
              schema:
                type: object
                required: [name]
                properties: {name: {type: string, enum: [nodeinfo]}}
"""

FN_DOC = """\
swagger: "2.0"
info: {title: fn, version: "1"}
basePath: /v2
paths:
  /apps/{appID}:
    get:
      produces: [application/json]
      parameters:
        - {name: appID, in: path, required: true, type: string}
      responses:
        "200":
          description: the app
          schema:
            type: object
            required: [id, name]
            properties: {id: {type: string}, name: {type: string, enum: [myapp]}}
"""


def _run(tmp_path: Path, dialect: str, document: str) -> tuple[dict[str, object], list[str]]:
    path = tmp_path / "document.yml"
    path.write_text(document)
    # --max-time 0: no time budget, so fuzzing stops at --max-examples
    argv = [dialect, str(path), "--report-dir", str(tmp_path / "report"), "--max-time", "0"]
    # valid requests only: an invalid name is rightly 404, which these documents leave out
    extra = ["--max-examples", "5", "--phases", "examples,fuzzing", "--mode", "positive"]
    args = parse_args([*argv, "--", *extra])
    assert args.extra == extra
    with running_server({}, args) as server:
        found = run(args, server)
    return found, summary(found)


def test_openfaas_seeds_the_examples_function(tmp_path: Path) -> None:
    found, lines = _run(tmp_path, "openfaas", OPENFAAS_DOC)
    assert "1/1 operations" in lines[0]
    assert found["failures"] == [], lines
    assert lines[0].endswith("0 5xx")


def test_fn_ids_reach_the_seeded_app(tmp_path: Path) -> None:
    found, lines = _run(tmp_path, "fn", FN_DOC)
    assert found["failures"] == [], lines
    warnings = found["warnings"]
    assert isinstance(warnings, dict)
    assert warnings["missing_test_data"] == []  # the app id in the path was found
    assert "1/1 operations" in lines[0]
