"""Cold start without a stem cell against the bare interpreter in the same sandbox (issue 25).

In process, on Sluice's runtime as the server builds it (`catalogue.build_runtime`: the
sandbox `choose_sandbox` picks with the settings' function network, API address, limits and
control groups; SLUICE_STEM_CELLS=0), per kind (Python, Node.js) and round, in turn:

- **bare, exit**: the interpreter running a no-op (`python -S -c pass`, `node -e 0`),
  launched through that same sandbox as the runtime launches a function process (bwrap's
  arguments, seccomp, the network namespace with its API bridge and slirp4netns, the control
  group, setpriv), from the launch until its exit;
- **bare, first answer**: the same interpreter printing one byte, until that byte arrives;
- **Sluice**: `ProcessRuntime.run` of a no-op action never run before (a new process: no
  stem cell), from the call until its result (init, run, logs closed).

The order within a round rotates, rounds alternate kinds, and each measurement waits until
the previous one's processes are gone. Prints p50, p90 and the ratios Sluice / bare (of the
medians, and the median of each round's own ratio); `--json` writes every sample.
`--phases` also prints when (after the call) each step of Sluice's cold start ended.

    .venv/bin/python -m bench.cold_start --rounds 40
    .venv/bin/python -m bench.cold_start --rounds 20 --phases --json bench/results/x.json
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.stats import fmt_ms, percentile
from sluice.catalogue import build_runtime
from sluice.config import Settings
from sluice.runtime import child as child_module
from sluice.runtime import process as process_module
from sluice.runtime.base import ActionCode, Outcome, RunRequest
from sluice.runtime.child import make_home
from sluice.runtime.pool import ProcessRuntime
from sluice.sandbox import bwrap as bwrap_module
from sluice.sandbox import egress as egress_module
from sluice.sandbox.base import Sandbox
from sluice.sandbox.netns import readable

NOOP = {
    "python": ("python:3", "def main(args):\n    return {}\n"),
    "node": ("nodejs", "function main(args) {\n  return {};\n}\n"),
}


def bare_commands(node: str) -> dict[str, dict[str, list[str]]]:
    """Per kind, the bare runs: to the exit, and to the first byte printed. The Python one is
    the interpreter Sluice runs its runner on, with the runner's -S; node's heap flag (Sluice
    starts node with the action's memory limit as its heap) measured apart."""
    python = sys.executable
    return {
        "python": {
            "bare_exit": [python, "-S", "-c", "pass"],
            "bare_answer": [python, "-S", "-c", "print(1)"],
        },
        "node": {
            "bare_exit": [node, "-e", "0"],
            "bare_answer": [node, "-e", "process.stdout.write('1')"],
            "bare_answer_heap": [
                node,
                "--max-old-space-size=256",
                "-e",
                "process.stdout.write('1')",
            ],
        },
    }


async def bare(sandbox: Sandbox, argv: list[str], work: Path, answer: bool) -> float:
    """Seconds from the launch of `argv` in `sandbox` to its exit (or its first output)."""
    home = make_home(work)
    start = time.perf_counter()
    spec = sandbox.launch(argv, {}, home)
    popen = subprocess.Popen(  # noqa: ASYNC220 - the spawn is what is measured
        spec.argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if answer else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(spec.env),
        cwd=spec.cwd,
        start_new_session=spec.start_new_session,
        pass_fds=spec.pass_fds,
    )
    confinement = await spec.confiner.attach(popen.pid) if spec.confiner is not None else None
    if answer:
        assert popen.stdout is not None
        await readable(popen.stdout.fileno())
        if not os.read(popen.stdout.fileno(), 16):
            raise RuntimeError(f"{argv} printed nothing")
        took = time.perf_counter() - start
        popen.stdout.close()
    # a blocking wait: waitpid returns at the exit (a timeout would make subprocess poll)
    code = popen.wait()
    if not answer:
        took = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"{argv} exited {code}")
    if confinement is not None:
        await confinement.release()
    shutil.rmtree(home, ignore_errors=True)
    return took


class Phases:
    """When each step of a cold start ended, in seconds after the call began: the runtime's
    steps wrapped in place (the bench's own instrument; the code is not changed)."""

    def __init__(self) -> None:
        self.start = 0.0
        self.marks: dict[str, list[float]] = defaultdict(list)
        self.on = False

    def mark(self, name: str) -> None:
        if self.on:
            self.marks[name].append(time.perf_counter() - self.start)

    def wrap_async(self, owner: Any, attr: str, name: str) -> None:
        original: Callable[..., Awaitable[Any]] = getattr(owner, attr)

        @functools.wraps(original)
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            self.mark(name)
            return result

        setattr(owner, attr, wrapped)

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, attr)

        @functools.wraps(original)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            self.mark(name)
            return result

        setattr(owner, attr, wrapped)

    def install(self) -> None:
        self.wrap(child_module, "_popen", "1 Popen returned (bwrap forked)")
        confiner = bwrap_module.BwrapConfiner
        self.wrap_async(confiner, "_sandbox_pid", "2 bwrap's info: the sandbox pid")
        self.wrap_async(bwrap_module, "loopback_ready", "3 the namespace's loopback up")
        self.wrap_async(bwrap_module, "listen_in", "4 the API listener made in it")
        self.wrap_async(egress_module.Egress, "attach", "5 slirp4netns up, routes closed")
        self.wrap_async(confiner, "attach", "6 released (seccomp program written)")
        self.wrap_async(process_module.RuntimeProcess, "start", "7 the channel connected")
        self.wrap_async(process_module.RuntimeProcess, "init", "8 init answered")
        self.wrap_async(process_module.RuntimeProcess, "run", "9 run answered")


async def sluice_cold(runtime: ProcessRuntime, kind: str, round_: int, phases: Phases) -> float:
    """Seconds from `runtime.run` of a never-run no-op to its result."""
    name, code = NOOP[kind]
    action = ActionCode(
        key=f"bench/cold-{kind}-{round_}-{time.time_ns()}",
        kind=name,
        code=code,
        binary=False,
        main="main",
        env={},
        memory_mb=256,
        namespace="guest",
        owner="guest",
        replicas=0,  # not kept: the next round starts cold again
    )
    request = RunRequest(
        action=action,
        params={},
        env={"__OW_ACTIVATION_ID": os.urandom(16).hex(), "__OW_NAMESPACE": "guest"},
        timeout_ms=20_000,
        log_limit_bytes=1 << 20,
        result_limit_bytes=1 << 20,
    )
    phases.start = time.perf_counter()
    phases.on = True
    result = await runtime.run(request)
    took = time.perf_counter() - phases.start
    phases.on = False
    if result.outcome is not Outcome.SUCCESS:
        raise RuntimeError(f"{kind} cold start failed: {result}")
    return took


async def settle(runtime: ProcessRuntime) -> None:
    """Wait until no process of the runtime is left (a discarded one closes in the
    background), then a little more, so that one measurement's tear-down is not the next's
    load."""
    deadline = time.monotonic() + 10
    while runtime.pool.snapshot().total and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.03)


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    overrides: dict[str, Any] = {"data_dir": data, "stem_cells": 0}
    if modules := os.environ.get("SLUICE_TEST_NODE_MODULES"):
        overrides["node_modules"] = Path(modules)
    settings = Settings(**overrides)
    runtime = build_runtime(settings)
    await runtime.start()
    sandbox = runtime.sandbox
    node = shutil.which("node") or "node"
    commands = bare_commands(node)
    kinds = [k for k in args.kinds.split(",") if k in commands]
    phases = {kind: Phases() for kind in kinds}
    if args.phases:
        for kind in kinds:
            phases[kind].install()  # each wrap marks only while its kind's call runs
    samples: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in kinds}
    work = data / "bare"
    try:
        for warm_up in (True, False):
            for round_ in range(1 if warm_up else args.rounds):
                for kind in kinds if round_ % 2 == 0 else list(reversed(kinds)):
                    names = [*commands[kind], "sluice"]
                    shift = round_ % len(names)  # a rotation: no step always first or last
                    for step in names[shift:] + names[:shift]:
                        if step == "sluice":
                            took = await sluice_cold(runtime, kind, round_, phases[kind])
                        else:
                            argv = commands[kind][step]
                            took = await bare(sandbox, argv, work, step != "bare_exit")
                        await settle(runtime)
                        if not warm_up:
                            samples[kind][step].append(took)
                if warm_up:
                    for p in phases.values():
                        p.marks.clear()
                elif (round_ + 1) % 10 == 0:
                    print(f"... round {round_ + 1}/{args.rounds}", file=sys.stderr, flush=True)
    finally:
        await runtime.close()
        shutil.rmtree(data, ignore_errors=True)
    return {
        "sandbox": getattr(sandbox, "description", type(sandbox).__name__),
        "network": settings.function_network,
        "samples": {k: dict(v) for k, v in samples.items()},
        "phases": {k: dict(p.marks) for k, p in phases.items()},
    }


def report(figures: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"cold start, {args.rounds} rounds, {platform.node()}, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"sandbox: {figures['sandbox']}",
        f"function network: {figures['network']}; measured in process (ProcessRuntime.run)",
    ]
    for kind, steps in figures["samples"].items():
        lines.append("")
        lines.append(f"{kind}:")
        for step, values in steps.items():
            ms = [v * 1000 for v in values]
            lines.append(
                f"  {step:18} p50 {fmt_ms(percentile(ms, 50)):>9}  p90 "
                f"{fmt_ms(percentile(ms, 90)):>9}  min {fmt_ms(min(ms)):>9}  n={len(ms)}"
            )
        sluice = steps["sluice"]
        for step in steps:
            if step == "sluice":
                continue
            floor = steps[step]
            ratio = percentile(sluice, 50) / percentile(floor, 50)
            paired = statistics.median(s / f for s, f in zip(sluice, floor, strict=True))
            lines.append(
                f"  sluice / {step:9} {ratio:.2f}x of the medians, {paired:.2f}x paired median"
                f" (target 1.5x)"
            )
        marks = figures["phases"].get(kind) or {}
        if marks:
            lines.append("  sluice's steps, median end after the call:")
            for name in sorted(marks):
                lines.append(f"    {name:34} {fmt_ms(statistics.median(marks[name]) * 1000)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--kinds", default="python,node")
    parser.add_argument("--phases", action="store_true", help="time each step of Sluice's")
    parser.add_argument("--json", type=Path, help="write every sample here")
    args = parser.parse_args()
    # the server runs its loop on uvloop
    figures = uvloop.run(measure(args))
    text = report(figures, args)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps({**figures, "report": text}, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
