"""observe/metrics.py's values in a real interpreter that forks, as the server does its worker
process: the pid prometheus_client checks on each update is remembered, not asked for, so a
child forked after `install` must still count in a file of its own pid, never its parent's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

#: counts once, forks a child that counts twice, counts once more, then reads the directory
FORKING = """
import json, os, sys
from pathlib import Path
from prometheus_client import CollectorRegistry, multiprocess
from sluice.observe import metrics

metrics.install(Path(sys.argv[1]))
metrics.call_accepted("ns", "fn", "openwhisk")
child = os.fork()
if child == 0:
    metrics.call_accepted("ns", "fn", "openwhisk")
    metrics.call_accepted("ns", "fn", "openwhisk")
    os._exit(0)
os.waitpid(child, 0)
metrics.call_accepted("ns", "fn", "openwhisk")
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, str(metrics.directory()))
total = [
    s.value for m in registry.collect() for s in m.samples
    if s.name == "sluice_calls_accepted_total"
]
files = sorted(p.name for p in metrics.directory().iterdir())
print(json.dumps({"parent": os.getpid(), "child": child, "total": total, "files": files}))
"""


def test_a_forked_child_counts_in_its_own_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FORKING, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = orjson.loads(done.stdout)
    assert seen["total"] == [4.0]
    assert f"counter_{seen['parent']}.db" in seen["files"]
    assert f"counter_{seen['child']}.db" in seen["files"]
