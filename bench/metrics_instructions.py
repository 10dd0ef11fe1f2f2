"""What counting metrics costs an accept, in instructions (issue 24): a count that the
machine's load does not move, where CPU time per accept moves by more than the cost itself
on a shared 2-core machine.

A `sluice serve` runs under callgrind with SLUICE_METRICS on, then off (`--rounds` times
each, in turn), its worker in the same process (valgrind has no pidfd_open, which the worker
process needs) and taking nothing (SLUICE_WORKER_MEMORY_MB=0), SLUICE_SYNC=FULL. After a
warm-up, callgrind counts the instructions of `--accepts` non-blocking OpenWhisk invokes sent
one after another on one connection (each its own commit and sync: the most the store's
histograms add to an accept), all threads of the server process included. Prints each
setting's instructions per accept and what on adds to off.

    .venv/bin/python -m bench.metrics_instructions --accepts 300 --rounds 2
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.server import SluiceServer  # noqa: E402

NOOP = {"exec": {"kind": "nodejs:default", "code": "function main(a){return {}}"}}
WARMUP = 200


def instructions_per_accept(setting: str, accepts: int) -> float:
    root = Path(tempfile.mkdtemp(prefix="sluice-bench-instr-"))
    out = root / "callgrind"
    out.mkdir()
    env = {
        "SLUICE_METRICS": setting,
        "SLUICE_SYNC": "FULL",
        "SLUICE_WORKER_MEMORY_MB": "0",
        "SLUICE_WORKER_PROCESS": "0",
        "SLUICE_LEASE_SECONDS": "30",
    }
    server = SluiceServer(root, extra_env=env)
    server.wrapper = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}/out.%p",
        "-q",
    ]
    try:
        server.start(timeout=600)
        assert server.process is not None
        pid = str(server.process.pid)
        with server.client() as client:
            assert client.put(server.ns_path("actions/noop"), json=NOOP).status_code == 200
            path = server.ns_path("actions/noop")
            for _ in range(WARMUP):
                assert client.post(path, json={}).status_code == 202
            _control("--instr=on", pid)
            _control("--zero", pid)
            for _ in range(accepts):
                assert client.post(path, json={}).status_code == 202
            _control("--dump=measured", pid)
            _control("--instr=off", pid)
        return _measured(out, pid) / accepts
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accepts", type=int, default=300, help="accepts counted per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting, in turn")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    runs: dict[str, list[float]] = {"on": [], "off": []}
    for index in range(args.rounds):
        for setting in runs:
            runs[setting].append(instructions_per_accept(setting, args.accepts))
            print(
                f"round {index + 1}, SLUICE_METRICS={setting}: "
                f"{runs[setting][-1]:,.0f} instructions per accept",
                flush=True,
            )
    on, off = min(runs["on"]), min(runs["off"])
    print(
        f"metrics on: {on:,.0f} instructions per accept; off: {off:,.0f}; "
        f"on adds {on - off:,.0f} ({(on - off) / off:.1%})"
    )
    if args.json:
        args.json.write_text(json.dumps({"accepts": args.accepts, **runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
