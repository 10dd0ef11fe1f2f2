"""schemathesis over an upstream platform's own API document, against a real Sluice: the
check of docs/openfaas.md and docs/fn.md, repeatable without the network once the document
is on disk (it is upstream's text, so it is not kept here):

    git -C <openfaas/faas> show HEAD:api-docs/spec.openapi.yml > spec.openapi.yml
    git -C <fnproject/fn> show HEAD:docs/swagger_v2.yml > swagger_v2.yml
    .venv/bin/python bench/upstream_schemathesis.py openfaas spec.openapi.yml  # ~4 min
    .venv/bin/python bench/upstream_schemathesis.py fn swagger_v2.yml          # ~1.5 min

A `sluice serve` on a free port with a temp data dir and HOME gets what the document's
examples name first (OpenFaaS: the function `nodeinfo`, the secrets `aws-key` and
`secret-name-1`; Fn: an app, a function and a trigger, their ids given to schemathesis as
path parameters), then `schemathesis run ... --checks all --seed N` runs against it. It
prints operations, cases, failures by check and the 5xx count, and writes schemathesis's
own report (JSON, every failing case with its curl) to --report-dir.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.server import SluiceServer  # noqa: E402

from bench.core import log, running_server  # noqa: E402

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
#: the failure of the check not_a_server_error: an answer that is a 5xx
SERVER_ERROR = "ServerError"


def seed_openfaas(server: SluiceServer) -> tuple[list[str], str]:
    """The function and secrets the document's examples name; the gateway's auth."""
    with server.client() as client:
        made = client.post("/system/functions", json={"service": "nodeinfo", "envProcess": "cat"})
        made.raise_for_status()
        for name in ("aws-key", "secret-name-1"):
            client.post("/system/secrets", json={"name": name, "value": "changeme"})
    return ["--url", server.url, "--auth", server.auth], ""


def seed_fn(server: SluiceServer) -> tuple[list[str], str]:
    """An app, a function (a plain command: the v2 document has no invoke route) and a
    trigger; their ids become the document's path parameters."""
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("README", "schemathesis\n")
    fn = {"name": "hello", "image": "hello:0.0.1", "runtime": "python", "format": "default"}
    fn |= {"cmd": "cat", "code": base64.b64encode(code.getvalue()).decode()}
    headers = {"Authorization": f"Bearer {server.auth}"}
    with httpx.Client(base_url=f"{server.url}/v2", headers=headers, timeout=60) as client:
        app = _made(client.post("/apps", json={"name": "myapp"}))
        made = _made(client.post("/fns", json={**fn, "app_id": app["id"]}))
        trigger = {"name": "hello", "type": "http", "source": "/hello"}
        trigger |= {"app_id": app["id"], "fn_id": made["id"]}
        hook = _made(client.post("/triggers", json=trigger))
    config = (
        "[parameters]\n"
        f'"path.appID" = "{app["id"]}"\n'
        f'"path.fnID" = "{made["id"]}"\n'
        f'"path.triggerID" = "{hook["id"]}"\n'
    )
    return ["--url", f"{server.url}/v2", "-H", f"Authorization: Bearer {server.auth}"], config


def _made(answer: httpx.Response) -> dict[str, Any]:
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


SEEDS = {"openfaas": seed_openfaas, "fn": seed_fn}


def run(args: argparse.Namespace, server: SluiceServer) -> dict[str, Any]:
    target, config = SEEDS[args.dialect](server)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    report = args.report_dir / f"{args.dialect}-schemathesis.json"
    config_file = args.report_dir / f"{args.dialect}-schemathesis.toml"
    config_file.write_text(config)
    command = [str(SCHEMATHESIS), "--config-file", str(config_file), "run"]
    command += [str(args.document.resolve()), *target, "--checks", "all", "--seed", str(args.seed)]
    command += ["--workers", "1", "--no-color", "--generation-database", "none"]
    command += ["--report", "json", "--report-json-path", str(report), *args.extra]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    log(f"schemathesis run {args.document.name} ({args.dialect}, seed {args.seed})")
    # in the report dir: schemathesis leaves a .schemathesis/ where it runs
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=args.report_dir)
    (args.report_dir / f"{args.dialect}-schemathesis.txt").write_text(done.stdout + done.stderr)
    if not report.exists():
        raise SystemExit(f"schemathesis wrote no report:\n{done.stdout}{done.stderr}")
    found: dict[str, Any] = json.loads(report.read_text())
    return found


def summary(run: dict[str, Any]) -> list[str]:
    operations, cases = run["operations"], run["test_cases"]
    server_errors = sum(f["count"] for f in run["failures"] if f["type"] == SERVER_ERROR)
    lines = [
        f"schemathesis {run['schemathesis_version']}, seed {run['seed']}, "
        f"{run['running_time']:.0f} s: {operations['tested']}/{operations['total']} operations, "
        f"{cases['generated']} cases, {cases['with_failures']} with failures, "
        f"{cases['unique_failures']} unique failures, {len(run['errors'])} errors, "
        f"{server_errors} 5xx"
    ]
    for failure in run["failures"]:
        lines.append(
            f"  {failure['code']} {failure['title']}: {failure['count']} "
            f"({', '.join(failure['operations'])})"
        )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dialect", choices=sorted(SEEDS))
    p.add_argument("document", type=Path, help="upstream's OpenAPI / Swagger file")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-time", type=int, default=None, help="seconds; 0: none (openfaas: 240)")
    p.add_argument("--report-dir", type=Path, default=Path("schemathesis-report"))
    p.add_argument("--keep", action="store_true", help="keep the server's temp dir")
    p.add_argument("--start-timeout", type=float, default=180)
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE")
    p.epilog = "Options after -- go to `schemathesis run` as they are."
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:cut])
    args.extra = argv[cut + 1 :]
    args.report_dir = args.report_dir.resolve()  # schemathesis runs in it
    if args.max_time is None and args.dialect == "openfaas":
        args.max_time = 240  # its fuzzing has no end of its own within minutes
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with running_server({}, args) as server:
        found = run(args, server)
    print("\n".join(summary(found)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
