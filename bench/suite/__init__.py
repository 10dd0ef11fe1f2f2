"""The issue 7 benchmark suite: every section in one run, one table, each figure beside its
reference (measured in the same run) and its target, with a PASS/MISS verdict.

    .venv/bin/python -m bench.suite                 # everything, full durations (~25 min)
    .venv/bin/python -m bench.suite --quick         # a smoke run (~6 min)
    bench/run --only accept --json /tmp/figures.json

Sections (bench/README.md says how each figure is taken):
1 accept latency (open loop, two routes) beside a one-insert-per-request ASGI floor;
2 end-to-end throughput beside the Python task queues of ../shared/bench-peers;
3 warm invoke overhead over a hello-world ASGI round trip;
4 cold start per kind, with and without a pre-started interpreter, beside fork+exec;
5 scale: accept and RSS with up to 1,000,000 calls queued, activation get/list at 1,000,000;
6 long calls: 1,000 concurrent sleeping Node.js calls, their memory and CPU while they wait.
"""
