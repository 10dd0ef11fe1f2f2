"""observe/metrics.py's values in a real interpreter that forks, as the server does its worker
process: a child forked after `install` counts in a file of its own pid, never its parent's;
and an update reaches the file within observe/batched_values.FLUSH_S with no flush asked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

#: counts once, forks a child that counts twice, counts once more, then reads the directory
FORKING = """
import json, os, sys
from pathlib import Path
from typing import Any
from prometheus_client import CollectorRegistry, multiprocess
from sluice.observe import metrics

metrics.install(Path(sys.argv[1]))
metrics.call_accepted("ns", "fn", "openwhisk")
child = os.fork()
if child == 0:
    metrics.call_accepted("ns", "fn", "openwhisk")
    metrics.call_accepted("ns", "fn", "openwhisk")
    metrics.flush()  # as the worker process does at its end
    os._exit(0)
os.waitpid(child, 0)
metrics.call_accepted("ns", "fn", "openwhisk")
metrics.flush()  # as a scrape does
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, str(metrics.directory()))
total = [
    s.value for m in registry.collect() for s in m.samples
    if s.name == "sluice_calls_accepted_total"
]
files = sorted(p.name for p in metrics.directory().iterdir())
print(json.dumps({"parent": os.getpid(), "child": child, "total": total, "files": files}))
"""


def _printed(script: str, directory: Path) -> Any:
    """What `script` prints (one JSON document), run in an interpreter of its own."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def test_a_forked_child_counts_in_its_own_file(tmp_path: Path) -> None:
    seen = _printed(FORKING, tmp_path)
    assert seen["total"] == [4.0]
    assert f"counter_{seen['parent']}.db" in seen["files"]
    assert f"counter_{seen['child']}.db" in seen["files"]


#: counts once, then reads the files as another process's scrape would (no flush), until the
#: count is there
UNFLUSHED = """
import json, sys, time
from pathlib import Path
from typing import Any
from prometheus_client import CollectorRegistry, multiprocess
from sluice.observe import metrics

metrics.install(Path(sys.argv[1]))
metrics.call_accepted("ns", "fn", "openwhisk")
def total():
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(metrics.directory()))
    return [
        s.value for m in registry.collect() for s in m.samples
        if s.name == "sluice_calls_accepted_total"
    ]
deadline = time.monotonic() + 10
while total() != [1.0] and time.monotonic() < deadline:
    time.sleep(0.01)
print(json.dumps({"then": total()}))
"""


def test_an_update_reaches_the_file_without_a_flush(tmp_path: Path) -> None:
    seen = _printed(UNFLUSHED, tmp_path)
    assert seen["then"] == [1.0]  # the writer thread wrote it


#: the same updates through Children and through the library's own inc and observe, on
#: twin metrics; what a scrape reads of each
TWINS = """
import json, sys
from pathlib import Path
from typing import Any
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from sluice.observe import metrics

metrics.install(Path(sys.argv[1]))
buckets = (0.001, 0.01, 0.1, 1)
def twins(kind, **kw):
    named = kind.__name__.lower()
    return [kind(f"{named}_{way}", "twin", registry=None, **kw) for way in ("fast", "lib")]
labelled_fast, labelled_lib = twins(Histogram, labelnames=["k"], buckets=buckets)
plain_fast, plain_lib = twins(Histogram, buckets=buckets)
counter_fast, counter_lib = twins(Counter, labelnames=["k"])
labelled, plain, counter = (metrics.Children(m) for m in (labelled_fast, plain_fast, counter_fast))
for amount in (0.0, 0.0005, 0.001, 0.005, 0.01, 0.5, 1.0, 7.0):  # on, between, past the bounds
    labelled.observe(amount, "a")
    labelled_lib.labels("a").observe(amount)
    plain.observe(amount)
    plain_lib.observe(amount)
    counter.inc("b")
    counter_lib.labels("b").inc()
metrics.flush()
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, str(metrics.directory()))
seen = {"fast": {}, "lib": {}}
for family in registry.collect():
    for s in family.samples:
        kind, way, rest = (s.name.split("_", 2) + ["", ""])[:3]
        if way in seen and kind in ("histogram", "counter"):  # not Sluice's own
            seen[way][f"{kind}_{rest}{sorted(s.labels.items())}"] = s.value
print(json.dumps(seen))
"""


def test_children_update_as_the_library_does(tmp_path: Path) -> None:
    seen = _printed(TWINS, tmp_path)
    assert len(seen["lib"]) == 2 * (5 + 2) + 1  # two histograms' buckets, sum, count; a counter
    assert seen["fast"] == seen["lib"]
