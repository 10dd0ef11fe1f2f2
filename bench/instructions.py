"""Instructions per call of a whole `sluice serve`, for source trees in turn: a count the
machine's load does not move, where CPU time per call on a shared 2-core machine moves by
more than a change's cost.

The server runs under callgrind, its worker in the same process (valgrind has no
pidfd_open, which a worker process needs), SLUICE_SYNC=FULL. After a warm-up, callgrind
counts the instructions of `--calls` invokes of a no-op action sent one after another on
one connection, all threads of the server process included:

- `--mode accept` (default): non-blocking OpenWhisk invokes, the worker taking nothing
  (SLUICE_WORKER_MEMORY_MB=0): what accepting a call costs, each its own commit and sync.
- `--mode run`: blocking invokes of a Python no-op (SLUICE_SANDBOX=none: bubblewrap's
  seccomp filter does not load under valgrind): accepting, running on a warm process and
  recording a call. The function process runs outside valgrind and is not counted.

Each `--tree` is a checkout whose `src` the server imports (PYTHONPATH); none given: this
one. Prints each run's instructions per call and each tree's lowest.

    .venv/bin/python -m bench.instructions --tree /tmp/before --tree . --rounds 2
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.server import SluiceServer  # noqa: E402

ACTIONS: dict[str, dict[str, Any]] = {
    "accept": {"exec": {"kind": "nodejs:default", "code": "function main(a){return {}}"}},
    "run": {"exec": {"kind": "python:3", "code": "def main(a):\n    return {}"}},
}
MODES: dict[str, dict[str, str]] = {
    "accept": {"SLUICE_WORKER_MEMORY_MB": "0"},
    "run": {"SLUICE_SANDBOX": "none"},
}
WARMUP = 200


def instructions_per_call(env: dict[str, str], calls: int, mode: str = "accept") -> float:
    """Instructions of the server process per call of `mode`, with `env` set for it."""
    root = Path(tempfile.mkdtemp(prefix="sluice-bench-instr-"))
    out = root / "callgrind"
    out.mkdir()
    server_env = {
        "SLUICE_SYNC": "FULL",
        "SLUICE_WORKER_PROCESS": "0",
        "SLUICE_LEASE_SECONDS": "30",
        **MODES[mode],
        **env,
    }
    server = SluiceServer(root, extra_env=server_env)
    server.wrapper = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}/out.%p",
        "-q",
    ]
    blocking = mode == "run"
    expected = 200 if blocking else 202
    try:
        server.start(timeout=600)
        assert server.process is not None
        pid = str(server.process.pid)
        with server.client() as client:
            path = server.ns_path("actions/noop")
            assert client.put(path, json=ACTIONS[mode]).status_code == 200
            query = {"blocking": "true"} if blocking else {}
            for _ in range(WARMUP):
                assert client.post(path, params=query, json={}).status_code == expected
            _control("--instr=on", pid)
            _control("--zero", pid)
            for _ in range(calls):
                assert client.post(path, params=query, json={}).status_code == expected
            _control("--dump=measured", pid)
            _control("--instr=off", pid)
        return _measured(out, pid) / calls
    finally:
        server.close()
        shutil.rmtree(root, ignore_errors=True)


def _control(option: str, pid: str) -> None:
    subprocess.run(["callgrind_control", option, pid], check=True, capture_output=True)


def _measured(out: Path, pid: str) -> int:
    """The instructions of the dump named `measured` (callgrind writes one file a dump)."""
    for dump in sorted(out.glob(f"out.{pid}*")):
        text = dump.read_text(errors="replace")
        if re.search(r"^desc: Trigger: .*measured", text, re.M):
            found = re.search(r"^summary: (\d+)", text, re.M)
            if found:
                return int(found.group(1))
    raise RuntimeError(f"callgrind wrote no dump named 'measured' in {out}")


def _label(tree: Path) -> str:
    """The tree and the commit it has checked out."""
    head = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return f"{tree} ({head.stdout.strip() or 'not a git checkout'})"


def require_valgrind() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, action="append", help="a checkout (repeatable)")
    parser.add_argument("--mode", choices=list(MODES), default="accept")
    parser.add_argument("--calls", type=int, default=300, help="calls counted per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each tree, in turn")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    require_valgrind()
    trees = {_label(tree): tree for tree in (t.resolve() for t in args.tree or [REPO])}
    runs: dict[str, list[float]] = {label: [] for label in trees}
    for index in range(args.rounds):
        for label, tree in trees.items():
            env = {"PYTHONPATH": str(tree / "src")}
            runs[label].append(instructions_per_call(env, args.calls, args.mode))
            print(
                f"round {index + 1}, {label}: {runs[label][-1]:,.0f} instructions per call "
                f"({args.mode})",
                flush=True,
            )
    for tree, figures in runs.items():
        print(f"{tree}: lowest {min(figures):,.0f} instructions per call ({args.mode})")
    if args.json:
        record = {"mode": args.mode, "calls": args.calls, **runs}
        args.json.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
