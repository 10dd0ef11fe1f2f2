"""One SQLite file in WAL mode, shared by the SQLite store and queue.

Reads run inline on the event loop through a reader connection (WAL readers never wait for
the writer). Writes run inline too, committed at synchronous=NORMAL (frames written, no disk
wait), on a connection that never waits for a lock: when another process holds it, or the
writer thread is busy, the write goes to that thread instead, which commits whatever is
waiting in a single transaction (group commit).

Only writes that promise durability to a caller (accepting a call, storing an entity) wait
for the disk. Inline, such a write begins the loop turn's batch, which every other write of
the same turn joins; once the turn's work is done the batch runs in one transaction (each
write in a savepoint, so a failing one undoes only itself) and is committed, so the write
lock is held only while the batch runs. Its writes then wait for a sync of the WAL file
that began after the commit (`WalSync`: one fdatasync shared by every commit before it,
made by the loop on a fast disk, by a thread on a slow one), which is what synchronous=FULL
adds to each commit. Under load a turn holds many accepts and outcomes, and one commit
serves them all.
Through the writer thread a durable write commits at the configured `sync` level.
Bookkeeping writes (leases, outcomes) wait for no disk: outside such a turn each commits at
once, in a transaction of its own. They survive a crash of Sluice and are made durable by
the next sync; a power loss can then at worst re-run a call that had finished.

The inline connection never checkpoints (which syncs the file): the writer thread does that
every so many inline commits, and until it has, writes queue behind it (a stream of inline
writes would otherwise keep it from the lock, and the WAL would grow without bound).
Relaxed writes join the writer's batches for a few ms after it committed a durable one
(under a stream of durable writes it is busy anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from sluice.observe import metrics
from sluice.store.sqlite.handback import hand_back, settle
from sluice.store.sqlite.wal_sync import WalSync

T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], Any]

_MAX_BATCH = 512
_STOP = object()
#: the writer checkpoints the WAL (as its own commits do) after this many inline commits
_CHECKPOINT_EVERY = 1000
_CHECKPOINT = object()
#: so long after a durable commit relaxed writes still join the writer's batches (under a
#: stream of accepts one transaction for many writes beats a commit of each inline)
_BUSY_SECONDS = 0.005


def connect(path: Path, sync: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if sync == 'FULL' else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


#: columns added to tables after their first release: (table, column, definition)
_ADDED_COLUMNS = (
    ("calls", "queue_name", "TEXT NOT NULL DEFAULT ''"),
    ("calls", "fn_limit", "INTEGER NOT NULL DEFAULT 0"),
    ("calls", "concurrency", "INTEGER NOT NULL DEFAULT 1"),
    ("calls", "traceparent", "TEXT"),
    ("calls", "trace_parent", "TEXT"),
)


def apply_schema(conn: sqlite3.Connection) -> None:
    _add_columns(conn)
    schema = resources.files("sluice.store").joinpath("sql/schema.sql").read_text()
    conn.executescript(schema)


def _add_columns(conn: sqlite3.Connection) -> None:
    """Bring an existing file's tables up to the schema (new tables the schema makes)."""
    for table, column, definition in _ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if present and column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _owner_only(path: Path) -> None:
    """Make the file (created empty if need be) and any -wal/-shm left beside it readable by
    their owner alone: SQLite gives a new WAL or SHM file the database file's permissions,
    and the WAL holds every call's parameters."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            file.chmod(0o600)


class Database:
    def __init__(self, path: Path, sync: str = "FULL") -> None:
        self.path = path
        self.sync = sync
        self._reader: sqlite3.Connection | None = None
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        #: the writer connection's current synchronous level
        self._level = sync
        #: relaxed writes run inline on this connection while the writer thread is idle
        self._inline: sqlite3.Connection | None = None
        #: makes an inline commit durable (None: durable writes go to the writer thread)
        self._wal_sync: WalSync | None = None
        #: held by whoever writes: the writer thread for a batch, or an inline write
        self._writing = threading.Lock()
        self._inline_commits = 0
        #: a checkpoint was asked of the writer thread and has not been made yet
        self._checkpoint_due = False
        #: when the writer thread last committed a durable batch
        self._last_durable = 0.0
        #: the writes of this loop turn's batch, until `_commit_turn` runs them: the
        #: function, its future, whether it is durable
        self._turn: list[tuple[WriteFn, asyncio.Future[Any], bool]] | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _owner_only(self.path)
        writer = connect(self.path, self.sync)
        apply_schema(writer)
        self._reader = connect(self.path, self.sync)
        self._inline = connect(self.path, "NORMAL")
        self._inline.execute("PRAGMA busy_timeout=0")
        self._inline.execute("PRAGMA wal_autocheckpoint=0")
        if self.sync == "FULL":
            with contextlib.suppress(OSError):  # no WAL file yet: the writer syncs instead
                self._wal_sync = WalSync(Path(f"{self.path}-wal"))
        self._thread = threading.Thread(
            target=self._write_loop, args=(writer,), name="sluice-sqlite-writer", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        if self._turn is not None:  # the turn's writes are committed before anything stops
            self._commit_turn()
        if self._thread is not None:
            self._jobs.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._wal_sync is not None:
            await asyncio.to_thread(self._wal_sync.close)
            self._wal_sync = None
        for conn in (self._reader, self._inline):
            if conn is not None:
                conn.close()
        self._reader = self._inline = None

    @property
    def wal_syncs(self) -> int:
        """How many syncs of the WAL made inline commits durable so far."""
        return 0 if self._wal_sync is None else self._wal_sync.syncs

    @property
    def inline_commits(self) -> int:
        """How many transactions inline writes have committed so far."""
        return self._inline_commits

    @property
    def reader(self) -> sqlite3.Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    async def write(self, fn: Callable[[sqlite3.Connection], T], durable: bool = True) -> T:
        """Run `fn` in a transaction: inline while the writer thread is idle, else in the
        writer's next group commit; return once it is committed (and, when `durable`, on
        disk at the configured sync level).

        Inline, a write that waits for a WAL sync opens a transaction that the rest of the
        loop turn's writes join, committed once the turn's work is done: it waits for the
        next turn's sync anyway, and under load a turn holds many accepts and outcomes,
        which then share one commit. A relaxed write outside such a turn commits at once."""
        needs_sync = durable and self.sync == "FULL"
        if needs_sync:  # inline only if a WAL sync can follow
            inline = self._wal_sync is not None
        else:
            inline = time.monotonic() - self._last_durable > _BUSY_SECONDS
        if inline and not self._checkpoint_due and self._inline is not None:
            if needs_sync or self._turn is not None:
                done = self._write_in_turn(fn, durable)
                if done is not None:
                    return cast(T, await done)
            elif self._writing.acquire(blocking=False):
                try:
                    ran, value = self._write_inline(self._inline, fn)
                finally:
                    self._writing.release()
                if ran:
                    return cast(T, value)
        loop = asyncio.get_running_loop()
        queued: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, loop, queued, durable))
        return await queued

    def _write_inline(
        self, conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]
    ) -> tuple[bool, Any]:
        """(True, what `fn` returned) once committed; (False, None) when the file was busy
        (another process writes): nothing was written, and the writer thread runs it."""
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False, None
        try:
            value = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if not self._commit_inline(conn):
            return False, None
        return True, value

    def _commit_inline(self, conn: sqlite3.Connection) -> bool:
        """Commit the inline transaction; False (rolled back, nothing written) if it failed.
        Every so many commits the writer thread is asked for a checkpoint."""
        began = time.perf_counter()
        try:
            conn.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            return False
        metrics.store_committed("sqlite_inline", time.perf_counter() - began)
        self._inline_commits += 1
        if self._inline_commits % _CHECKPOINT_EVERY == 0:
            self._checkpoint_due = True
            self._jobs.put(_CHECKPOINT)
        return True

    def _write_in_turn(
        self, fn: Callable[[sqlite3.Connection], Any], durable: bool
    ) -> asyncio.Future[Any] | None:
        """Add `fn` to this loop turn's inline transaction, run and committed once the
        turn's work is done (`_commit_turn`), so that the turn's writes share one commit
        and the write lock is held only while they run, not while the loop answers other
        requests meanwhile (the worker process waits for it). The future gets what `fn`
        returned after that commit, or its error. None when the writer thread is busy: it
        runs `fn` instead."""
        loop = asyncio.get_running_loop()
        if self._turn is None:
            if self._writing.locked():
                return None
            self._turn = []
            loop.call_soon(self._commit_turn)
        done: asyncio.Future[Any] = loop.create_future()
        self._turn.append((fn, done, durable))
        return done

    def _commit_turn(self) -> None:
        """Run the turn's writes in one transaction (each in a savepoint, so that a failing
        one undoes only itself), commit, and settle them: relaxed ones at once, durable ones
        after a sync of the WAL that began after the commit. When the file is busy (another
        process writes, or the writer thread) the thread runs them instead."""
        jobs, self._turn = self._turn, None
        conn = self._inline
        if not jobs or conn is None:  # committed already (by close)
            return
        outcomes = self._run_turn(conn, [fn for fn, _done, _durable in jobs])
        if outcomes is None:  # nothing of the turn was written: the thread runs each write
            loop = asyncio.get_running_loop()
            for fn, done, durable in jobs:
                self._jobs.put((fn, loop, done, durable))
            return
        wal_sync = self._wal_sync  # a turn is only opened with one (at sync=FULL)
        synced: list[tuple[asyncio.Future[Any], Any]] = []
        now: list[tuple[asyncio.Future[Any], bool, Any]] = []
        for (_fn, done, durable), (ok, value) in zip(jobs, outcomes, strict=True):
            if ok and durable and wal_sync is not None:
                synced.append((done, value))
            else:
                now.append((done, ok, value))
        settle(now)
        if wal_sync is not None and synced:
            wal_sync.settle_synced(synced)

    def _run_turn(
        self, conn: sqlite3.Connection, fns: list[WriteFn]
    ) -> list[tuple[bool, Any]] | None:
        """Each write's outcome once all are committed in one inline transaction; None when
        nothing was written (the file was busy, or the transaction failed)."""
        if not self._writing.acquire(blocking=False):
            return None
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return None
            try:
                outcomes = self._run_jobs(conn, fns)
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                return None
            return outcomes if self._commit_inline(conn) else None
        finally:
            self._writing.release()

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                first = self._jobs.get()
                if first is _STOP:
                    return
                checkpoint = first is _CHECKPOINT
                batch = [] if checkpoint else [first]
                stop = False
                while len(batch) < _MAX_BATCH:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is _STOP:
                        stop = True
                        break
                    if job is _CHECKPOINT:
                        checkpoint = True
                    else:
                        batch.append(job)
                with self._writing:
                    if checkpoint:  # first: the writes queued behind it then restart the WAL
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                        self._checkpoint_due = False
                    if batch:
                        durable = any(job[3] for job in batch)
                        self._commit(conn, batch)
                        if durable:
                            self._last_durable = time.monotonic()
                if stop:
                    return
        finally:
            conn.close()

    def _set_sync(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        level = self.sync if any(job[3] for job in batch) else "NORMAL"
        if level != self._level:
            conn.execute(f"PRAGMA synchronous={level}")
            self._level = level

    def _commit(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        began = time.perf_counter()
        try:
            self._set_sync(conn, batch)
            outcomes = self._run_batch(conn, batch)
            metrics.store_committed(f"sqlite_{self._level.lower()}", time.perf_counter() - began)
        except Exception as exc:  # the commit failed: every job in it failed
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            outcomes = [(False, exc)] * len(batch)
        hand_back(
            (loop, done, ok, value)
            for (_fn, loop, done, _durable), (ok, value) in zip(batch, outcomes, strict=True)
        )
        batch.clear()  # drop the jobs' closures here, not on the event loop

    def _run_batch(self, conn: sqlite3.Connection, batch: list[Any]) -> list[tuple[bool, Any]]:
        """Every job in one transaction. Jobs seldom fail, so they first run side by side;
        only when one fails is the batch run again with a savepoint per job, so that the
        failing write does not undo its neighbours. (Statements are what the writer spends
        its time on: each one hands the GIL back and forth with the event loop.)"""
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcomes = [(True, fn(conn)) for fn, _loop, _done, _durable in batch]
        except Exception as exc:
            conn.execute("ROLLBACK")
            if len(batch) == 1:  # alone in its transaction: a failure rolls back only itself
                return [(False, exc)]
            conn.execute("BEGIN IMMEDIATE")
            outcomes = self._run_jobs(conn, [job[0] for job in batch])
        conn.execute("COMMIT")
        return outcomes

    def _run_jobs(self, conn: sqlite3.Connection, fns: Iterable[WriteFn]) -> list[tuple[bool, Any]]:
        """Each write in a savepoint of the open transaction, so that one that fails undoes
        only itself: (True, its value) or (False, its error), in order."""
        outcomes: list[tuple[bool, Any]] = []
        for fn in fns:
            conn.execute("SAVEPOINT job")
            try:
                value = fn(conn)
            except Exception as exc:  # handed to the awaiting coroutine
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((False, exc))
            else:
                conn.execute("RELEASE job")
                outcomes.append((True, value))
        return outcomes
