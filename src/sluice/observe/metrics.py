"""Sluice's Prometheus metrics, counted where things happen (accept, worker, pool, callbacks,
store) and served by http/metrics.py.

prometheus_client picks between in-memory and multi-process values once, when it is first
imported, from PROMETHEUS_MULTIPROC_DIR. Sluice always counts in multi-process mode (its
worker process and the API process write files one scrape adds up), so that module is imported
only by `install`, after the directory is set; until then, and with SLUICE_METRICS=off,
every recording function here does nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
from bisect import bisect_left
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sluice.processes import pid_running

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

#: where prometheus_client's multi-process mode keeps each process's values
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: why the pool stops an idle process: idle too long, or its slot is wanted for another
EVICTION_REASONS = ("idle", "room")

#: seconds: from a few milliseconds of a warm call to the hours a long one may run
_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
_COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)

#: prometheus_client's values class (made once: each holds its own open files)
_batched: Any = None


class Children:
    """A labelled counter's or histogram's children by their label values, for the metrics
    every call or request moves, updated past prometheus_client's checks: its `labels()`
    checks the values and takes a lock (1.1 us) and each `inc` or `observe` checks again
    that the child has them; here that is done once per child, then kept. Each update then
    moves the child's own values as the library's `inc` and `observe` would
    (tests/observe/test_metrics.py holds both to the same samples)."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self._counts: dict[tuple[str, ...], Any] = {}
        self._buckets: dict[tuple[str, ...], tuple[Any, list[Any], list[float]]] = {}

    def _child(self, values: tuple[str, ...]) -> Any:
        return self.metric.labels(*values) if values else self.metric

    def inc(self, *values: str) -> None:
        """A counter's child, by one."""
        count = self._counts.get(values)
        if count is None:  # two threads may both look it up: labels() gives both the same
            count = self._counts[values] = self._child(values)._value
        count.inc(1.0)

    def observe(self, amount: float, *values: str) -> None:
        """A histogram's child: its sum, and the first bucket whose bound holds `amount`."""
        found = self._buckets.get(values)
        if found is None:
            child = self._child(values)
            found = self._buckets[values] = (child._sum, child._buckets, child._upper_bounds)
        total, buckets, bounds = found
        total.observed(amount, buckets[bisect_left(bounds, amount)])


class Instruments:
    """The metrics themselves (prometheus_client is imported here, see the module's note)."""

    def __init__(self) -> None:
        global _batched
        from prometheus_client import Counter, Gauge, Histogram, values

        from sluice.observe.batched_values import BatchedValues

        if _batched is None:
            _batched = BatchedValues()
        values.ValueClass = _batched.value_class()
        call = ["namespace", "function", "dialect"]
        self.accepted: Counter = Counter(
            "sluice_calls_accepted", "Calls accepted (stored durably).", call, registry=None
        )
        self.accepted_by = Children(self.accepted)
        self.started: Counter = Counter(
            "sluice_calls_started", "Calls whose run began on a worker.", call, registry=None
        )
        self.started_by = Children(self.started)
        self.finished: Counter = Counter(
            "sluice_calls_finished",
            "Calls ended, by their final state (success, application_error, ...).",
            [*call, "status"],
            registry=None,
        )
        self.finished_by = Children(self.finished)
        fn = ["namespace", "function"]
        self.wait: Histogram = Histogram(
            "sluice_call_wait_seconds",
            "From accept (or due time) to the start of a run.",
            fn,
            buckets=_CALL_BUCKETS,
            registry=None,
        )
        self.wait_by = Children(self.wait)
        self.init: Histogram = Histogram(
            "sluice_call_init_seconds",
            "Initialising a process for a call (cold starts only).",
            fn,
            buckets=_CALL_BUCKETS,
            registry=None,
        )
        self.run: Histogram = Histogram(
            "sluice_call_run_seconds",
            "Running a call's code, init excluded.",
            fn,
            buckets=_CALL_BUCKETS,
            registry=None,
        )
        self.run_by = Children(self.run)
        self.pool_processes: Gauge = Gauge(
            "sluice_warm_pool_processes",
            "Function processes alive (warm, busy or stem cells).",
            multiprocess_mode="livesum",
            registry=None,
        )
        self.pool_hits: Counter = Counter(
            "sluice_warm_pool_hits", "Calls that got a warm process.", registry=None
        )
        self.pool_misses: Counter = Counter(
            "sluice_warm_pool_misses", "Calls that found no warm process.", registry=None
        )
        self.cold_starts: Counter = Counter(
            "sluice_cold_starts", "Calls that initialised a process.", fn, registry=None
        )
        self.evictions: Counter = Counter(
            "sluice_warm_pool_evictions",
            "Idle processes stopped: idle too long, or to make room.",
            ["reason"],
            registry=None,
        )
        for reason in EVICTION_REASONS:  # known label values are shown from the start, at 0
            self.evictions.labels(reason)
        self.callback_deliveries: Counter = Counter(
            "sluice_callback_deliveries", "Callbacks the receiver took (2xx).", registry=None
        )
        self.callback_retries: Counter = Counter(
            "sluice_callback_retries",
            "Callback attempts that failed and will be retried.",
            registry=None,
        )
        self.callback_failures: Counter = Counter(
            "sluice_callback_failures", "Callbacks given up on.", registry=None
        )
        self.dead_letters: Counter = Counter(
            "sluice_dead_letters", "Async calls kept as dead letters.", fn, registry=None
        )
        self.store_commit: Histogram = Histogram(
            "sluice_store_commit_seconds",
            "A store transaction's commit (SQLite: a group of writes; PostgreSQL: an accept).",
            ["mode"],
            buckets=_COMMIT_BUCKETS,
            registry=None,
        )
        self.store_commit_by = Children(self.store_commit)
        self.store_sync: Histogram = Histogram(
            "sluice_store_sync_seconds",
            "One sync of the store's write-ahead log to disk (shared by the commits before it).",
            buckets=_COMMIT_BUCKETS,
            registry=None,
        )
        self.store_sync_by = Children(self.store_sync)
        self.http_requests: Counter = Counter(
            "sluice_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=None,
        )
        self.http_requests_by = Children(self.http_requests)
        # OpenFaaS gateway's names, so that its dashboards and autoscaling queries work
        self.gateway_invocations: Counter = Counter(
            "gateway_function_invocation",
            "Individual function metrics",
            ["function_name", "code"],
            registry=None,
        )
        self.gateway_started: Counter = Counter(
            "gateway_function_invocation_started",
            "Function invocations started",
            ["function_name"],
            registry=None,
        )
        self.gateway_started_by = Children(self.gateway_started)
        self.gateway_invocations_by = Children(self.gateway_invocations)
        self.gateway_seconds: Histogram = Histogram(
            "gateway_functions_seconds",
            "Function time taken",
            ["function_name", "code"],
            registry=None,
        )
        self.gateway_seconds_by = Children(self.gateway_seconds)


#: the metrics of this process once installed (None: not counting)
_on: Instruments | None = None
#: this process made the directory (a server, not its worker process): it removes it
_owner = False


def install(work_dir: Path) -> Instruments:
    """Count from now on, in a directory of this server's own under `work_dir` (emptied
    first; those of servers no longer running are removed: a killed one leaves its own)."""
    global _owner
    parent = work_dir / "metrics"
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for left in parent.iterdir():
        if not left.name.isdigit() or not pid_running(int(left.name)):
            shutil.rmtree(left, ignore_errors=True)
    directory = parent / str(os.getpid())
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700)
    instruments = join(directory)
    _owner = True
    return instruments


def join(directory: Path) -> Instruments:
    """Count in `directory` beside the process that made it (the worker process, which
    leaves it to that process to remove, even when forked from it after `install`)."""
    global _on, _owner
    _owner = False
    os.environ[MULTIPROC_ENV] = str(directory)
    if _on is None:
        _on = Instruments()
    return _on


def uninstall() -> None:
    """Count nothing from now on in this process (what SLUICE_METRICS=off runs: a bench)."""
    global _on
    _on = None


def installed() -> Instruments | None:
    return _on


def directory() -> Path | None:
    """Where this process's values are kept, once installed."""
    return Path(os.environ[MULTIPROC_ENV]) if _on is not None else None


def flush() -> None:
    """Write this process's values to its files now, for a scrape that reads them (other
    processes' reach theirs within observe/batched_values.FLUSH_S)."""
    if _batched is not None:
        _batched.flush()


def process_gone(pid: int) -> None:
    """A process that wrote here exited: its live gauges no longer count."""
    if _on is not None:
        from prometheus_client import multiprocess

        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(pid, os.environ[MULTIPROC_ENV])  # type: ignore[no-untyped-call]


def remove() -> None:
    """At a clean stop of the server: its values go with it."""
    where = directory()
    if where is not None and _owner:
        shutil.rmtree(where, ignore_errors=True)
        with contextlib.suppress(OSError):
            where.parent.rmdir()  # when no other server's is left


# Recording, called where things happen -------------------------------------------------------
def call_accepted(namespace: str, function: str, dialect: str) -> None:
    if _on is not None:
        _on.accepted_by.inc(namespace, function, dialect)


def call_started(namespace: str, function: str, dialect: str, wait_s: float) -> None:
    if _on is not None:
        _on.started_by.inc(namespace, function, dialect)
        _on.wait_by.observe(max(wait_s, 0.0), namespace, function)


def call_ran(namespace: str, function: str, init_s: float | None, run_s: float) -> None:
    if _on is not None:
        if init_s is not None:
            _on.cold_starts.labels(namespace, function).inc()
            _on.init.labels(namespace, function).observe(init_s)
        _on.run_by.observe(max(run_s, 0.0), namespace, function)


def call_finished(
    namespace: str, function: str, dialect: str, status: str, dead_letter: bool
) -> None:
    if _on is not None:
        _on.finished_by.inc(namespace, function, dialect, status)
        if dead_letter:
            _on.dead_letters.labels(namespace, function).inc()


def pool_size(processes: int) -> None:
    if _on is not None:
        _on.pool_processes.set(processes)


def pool_hit(warm: bool) -> None:
    if _on is not None:
        (_on.pool_hits if warm else _on.pool_misses).inc()


def pool_evicted(reason: str) -> None:
    if _on is not None:
        _on.evictions.labels(reason).inc()


def callback_delivered() -> None:
    if _on is not None:
        _on.callback_deliveries.inc()


def callback_retried() -> None:
    if _on is not None:
        _on.callback_retries.inc()


def callback_failed() -> None:
    if _on is not None:
        _on.callback_failures.inc()


def store_committed(mode: str, seconds: float) -> None:
    if _on is not None:
        _on.store_commit_by.observe(seconds, mode)


def store_synced(seconds: float) -> None:
    if _on is not None:
        _on.store_sync_by.observe(seconds)
