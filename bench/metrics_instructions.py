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
from pathlib import Path

from bench.instructions import instructions_per_call, require_valgrind


def instructions_per_accept(setting: str, accepts: int) -> float:
    return instructions_per_call({"SLUICE_METRICS": setting}, accepts, "accept")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accepts", type=int, default=300, help="accepts counted per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting, in turn")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    require_valgrind()
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
