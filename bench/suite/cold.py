"""Section 4: cold start per kind, the first call after a deploy: Python and Node.js (with a
pre-started interpreter, SLUICE_STEM_CELLS=1, and without, =0), a blackbox zip and an Fn Go
function (`sluice fn deploy`); beside them the fork+exec of the bare interpreters."""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import orjson
import uvloop
from tests.support.server import SluiceServer

from bench.core import SLUICE, Api, Invoke, cold_phase, invoke_figures, parse_invoke
from bench.core import running_server as sluice_server
from bench.loadgen import HttpClient, now
from bench.stats import fmt_ms, summary_ms
from bench.suite.common import HOST, Report, log
from bench.suite.table import Row, at_most, latency_row, verdict
from sluice.config import Settings
from sluice.sandbox.base import Network, Sandbox
from sluice.sandbox.bwrap import BwrapSandbox
from sluice.sandbox.choose import choose_sandbox
from sluice.sandbox.rlimits import RlimitSandbox

#: the issue's targets with a pre-started interpreter (ms); without one: 1.2x the fork+exec
STEM_TARGET_MS = {"python": 20.0, "node": 30.0}
FORK_RATIO = 1.2
PYTHON = getattr(sys, "_base_executable", sys.executable)  # the interpreter, not a shim
FLOORS = {"python": [PYTHON, "-I", "-S", "-c", "pass"], "node": ["node", "-e", "0"]}


def fork_exec(argv: list[str], runs: int, sandbox: Sandbox | None = None) -> dict[str, float]:
    """Wall time of starting `argv` and waiting for its exit, `runs` times after one
    unmeasured run, in the environment a function process gets (ours may hold
    NODE_EXTRA_CA_CERTS, which node reads at start: 60 ms instead of 25 here), launched
    through `sandbox` if given, as the runtime launches it: a fresh launch each time, the
    process placed in its control group and network before it runs. No timeout: with one,
    subprocess waits by polling after 1, 3, 7, 15, 31... ms, and what was measured was the
    first poll after the exit (15.9 ms for an 8.7 ms start)."""
    return asyncio.run(_fork_exec(argv, runs, sandbox or RlimitSandbox()))


async def _fork_exec(argv: list[str], runs: int, sandbox: Sandbox) -> dict[str, float]:
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as root:
        for run in range(runs + 1):
            home = Path(tempfile.mkdtemp(dir=root))
            start = time.perf_counter()
            spec = sandbox.launch(argv, {}, home)
            process = subprocess.Popen(  # noqa: ASYNC220 - the spawn is what is measured
                spec.argv,
                stdin=subprocess.DEVNULL,
                env=dict(spec.env),
                cwd=spec.cwd,
                pass_fds=spec.pass_fds,
                start_new_session=spec.start_new_session,
            )
            confinement = (
                await spec.confiner.attach(process.pid) if spec.confiner is not None else None
            )
            if process.wait() != 0:
                raise subprocess.CalledProcessError(process.returncode, spec.argv)
            if run:
                times.append(time.perf_counter() - start)
            if confinement is not None:
                await confinement.release()
    return summary_ms(times)


def blackbox_zip(stamp: str) -> str:
    """A base64 zip holding an executable `exec` that prints `{}` (a new one per stamp)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("exec")
        info.external_attr = 0o755 << 16
        archive.writestr(info, f"#!/bin/sh\n# {stamp}\necho '{{}}'\n")
    return base64.b64encode(buffer.getvalue()).decode()


async def blackbox(api: Api, args: argparse.Namespace) -> dict[str, Any]:
    runs: list[Invoke] = []
    for i in range(args.m):
        await asyncio.sleep(args.cold_gap)
        exec_ = {"kind": "blackbox", "code": blackbox_zip(f"{time.time()} {i}"), "binary": True}
        path = "/api/v1/namespaces/_/actions/bb?overwrite=true"
        put = await api.http.request("PUT", path, orjson.dumps({"exec": exec_}))
        if put.status != 200:
            raise RuntimeError(f"PUT blackbox: HTTP {put.status} {put.body[:300]!r}")
        runs.append(parse_invoke(await api.invoke("bb", blocking=True)))
    return invoke_figures(runs)


def fn_cli(server: SluiceServer, cwd: Path, *argv: str) -> None:
    done = subprocess.run(
        [str(SLUICE), "fn", *argv],
        cwd=cwd,
        env=server.cli_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"sluice fn {' '.join(argv)}: {done.stderr.strip()[-300:]}")


async def fn_go(server: SluiceServer, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """`sluice fn init --runtime go`, then per run `sluice fn deploy` (a new version) and one
    call of the route; the call's round trip."""
    await asyncio.to_thread(fn_cli, server, work, "init", "--runtime", "go", "gofn")
    client = HttpClient(HOST, server.port, {"Authorization": f"Bearer {server.auth}"})
    rtts: list[float] = []
    statuses: dict[str, int] = {}
    deploys: list[float] = []
    for _ in range(args.m):
        await asyncio.sleep(args.cold_gap)
        t0 = now()
        await asyncio.to_thread(fn_cli, server, work / "gofn", "deploy", "--local", "--app", "bc")
        deploys.append(now() - t0)
        answer = await client.request("POST", "/r/bc/gofn", b"{}")
        statuses[str(answer.status)] = statuses.get(str(answer.status), 0) + 1
        if answer.status == 200:
            rtts.append(answer.elapsed)
    client.close()
    return {"rtt_ms": summary_ms(rtts), "statuses": statuses, "deploy_ms": summary_ms(deploys)}


async def _kinds(server: SluiceServer, stems: bool, args: argparse.Namespace) -> dict[str, Any]:
    api = Api(server)
    out: dict[str, Any] = {}
    for kind in ("python", "node"):
        log(f"cold: {args.m} deploys + first calls, {kind}, stem cells {int(stems)}")
        out[kind] = await cold_phase(server, api, kind, args)
    if stems:  # no interpreter to pre-start: measured once
        log(f"cold: {args.m} deploys + first calls, blackbox and Fn Go")
        out["blackbox"] = await blackbox(api, args)
        with tempfile.TemporaryDirectory(prefix="bench-fn-") as work:
            out["go"] = await fn_go(server, Path(work), args)
    api.http.close()
    return out


def run(args: argparse.Namespace, report: Report) -> None:
    results: dict[str, Any] = {"network": Settings().function_network}
    log("cold: fork+exec of the bare interpreters")
    # the network the servers below give their functions (SLUICE_FUNCTION_NETWORK)
    network = Network(Settings().function_network)
    sandbox = choose_sandbox("auto", hidden=(), visible=(), network=network)
    for kind, runs in (("python", 20), ("node", 10)):
        if kind == "node" and not shutil.which("node"):
            continue
        results[f"floor_{kind}"] = fork_exec(FLOORS[kind], runs)
        if isinstance(sandbox, BwrapSandbox):  # what the servers below run functions in
            results[f"floor_{kind}_bwrap"] = fork_exec(FLOORS[kind], runs, sandbox)
    for stems in ("1", "0"):
        with sluice_server({"SLUICE_STEM_CELLS": stems}, args) as server:
            results[f"stem_{stems}"] = uvloop.run(_kinds(server, stems == "1", args))
    report.results["cold"] = results
    report.rows += rows(results)


def rows(results: dict[str, Any]) -> list[Row]:
    floors = {kind: results.get(f"floor_{kind}", {}) for kind in ("python", "node")}
    out: list[Row] = []
    for kind, label, peers in (
        ("python", "python -I -S -c pass", "11.6 ms"),
        ("node", "node -e 0", "106 ms"),
    ):
        out.append(
            latency_row(
                "4 cold",
                f"floor: fork+exec `{label}`",
                floors[kind],
                reference=f"bench-peers: {peers}",
                notes=f"n={floors[kind].get('n')}",
            )
        )
        sandboxed = results.get(f"floor_{kind}_bwrap")
        if sandboxed:  # the part of a cold start the sandbox takes, with no Sluice code in it
            out.append(
                latency_row(
                    "4 cold",
                    f"floor: fork+exec `{label}` in Sluice's bwrap sandbox",
                    sandboxed,
                    reference=f"unsandboxed {fmt_ms(floors[kind].get('p50'))}",
                    notes=f"n={sandboxed.get('n')}; SLUICE_SANDBOX=auto picks bwrap here; "
                    f"network {results.get('network')}",
                )
            )
    for stems, how in (("1", "stem cell (pre-started interpreter)"), ("0", "no stem cell")):
        for kind, label in (("python", "Python"), ("node", "Node.js")):
            f = results.get(f"stem_{stems}", {}).get(kind)
            if f:
                out.append(_kind_row(f, floors[kind].get("p50"), kind, stems == "1", label, how))
    extra = results.get("stem_1", {})
    for key, figure in (
        ("blackbox", "Sluice blackbox zip (`exec` = sh script): update + first blocking invoke"),
        ("go", "Sluice Fn Go (`sluice fn deploy`, format default): first call after deploy"),
    ):
        f = extra.get(key)
        if f:
            notes = (
                f"{f['ok']}/{f['n']} 200; a process per call by design"
                if key == "blackbox"
                else f"statuses {f['statuses']}; deploy (CLI, cached go build) p50 "
                f"{fmt_ms(f['deploy_ms'].get('p50'))}"
            )
            out.append(
                latency_row(
                    "4 cold",
                    figure,
                    f["rtt_ms"],
                    reference="fork+exec /bin/true: 1.4 ms (bench-peers)",
                    notes=notes,
                )
            )
    return out


def _kind_row(
    f: dict[str, Any], floor: float | None, kind: str, stems: bool, label: str, how: str
) -> Row:
    p50 = f["rtt_ms"].get("p50")
    if stems:
        limit, words = STEM_TARGET_MS[kind], f"p50 <= {STEM_TARGET_MS[kind]:g} ms"
    else:
        limit = FORK_RATIO * floor if floor else None
        words = f"p50 <= {FORK_RATIO:g}x fork+exec = {fmt_ms(limit)}"
    return latency_row(
        "4 cold",
        f"Sluice {label}: update + first blocking invoke, {how}",
        f["rtt_ms"],
        reference=f"fork+exec {fmt_ms(floor)}",
        target=words,
        verdict=verdict(at_most(p50, limit)),
        notes=f"{f['ok']}/{f['n']} 200; initTime p50 {fmt_ms(f['init_ms'].get('p50'))}"
        f"; update PUT p50 {fmt_ms(f['update_rtt_ms'].get('p50'))}",
    )
