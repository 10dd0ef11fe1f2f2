"""The SQLite writer: writes sent together share a transaction, and one that fails undoes only
its own changes; relaxed writes run inline while the writer is idle, and never stop the event
loop for a lock another process holds."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from sluice.store.sqlite.db import Database

T = TypeVar("T")


class Refused(Exception):
    pass


def _insert(name: str, fail: bool = False) -> Callable[[sqlite3.Connection], str]:
    def write(conn: sqlite3.Connection) -> str:
        conn.execute(
            "INSERT INTO namespaces (name, uuid, key_hash, generation, created)"
            " VALUES (?, ?, 'h', 1, 0)",
            (name, f"uuid-{name}"),
        )
        if fail:  # after its own insert: that insert must not stay
            raise Refused(name)
        return name

    return write


def _names(db: Database) -> set[str]:
    return {row[0] for row in db.reader.execute("SELECT name FROM namespaces")}


def _with_db(path: Path, scenario: Callable[[Database], Awaitable[T]], sync: str = "FULL") -> T:
    """Run `scenario` on an open database at `path`, closed afterwards whatever happens."""

    async def run() -> T:
        db = Database(path, sync)
        await db.open()
        try:
            return await scenario(db)
        finally:
            await db.close()

    return asyncio.run(run())


def test_a_failing_write_among_many_undoes_only_itself(tmp_path: Path) -> None:
    async def scenario(db: Database) -> tuple[list[object], set[str]]:
        writes = [db.write(_insert(f"ns{i}", fail=i % 10 == 3)) for i in range(60)]
        results = await asyncio.gather(*writes, return_exceptions=True)
        return results, _names(db)

    results, names = _with_db(tmp_path / "sluice.db", scenario)
    failed = {i for i, result in enumerate(results) if isinstance(result, Refused)}
    assert failed == {i for i in range(60) if i % 10 == 3}
    assert names == {f"ns{i}" for i in range(60) if i not in failed}
    assert [results[i] for i in range(60) if i not in failed] == sorted(
        names, key=lambda n: int(n[2:])
    )


def test_the_writes_of_one_loop_turn_share_one_commit_and_one_sync(tmp_path: Path) -> None:
    async def scenario(db: Database) -> tuple[list[object], int, int, set[str]]:
        commits, syncs = db.inline_commits, db.wal_syncs
        # started together, so their first steps run in the same loop turn; the first of
        # the turn fails, and the relaxed writes join the durable ones' transaction
        writes = [
            db.write(_insert(f"ns{i}", fail=i in (0, 7)), durable=i % 4 != 1) for i in range(40)
        ]
        results = await asyncio.gather(*writes, return_exceptions=True)
        return results, db.inline_commits - commits, db.wal_syncs - syncs, _names(db)

    results, commits, syncs, names = _with_db(tmp_path / "sluice.db", scenario)
    assert [i for i, r in enumerate(results) if isinstance(r, Refused)] == [0, 7]
    assert names == {f"ns{i}" for i in range(40) if i not in (0, 7)}
    assert (commits, syncs) == (1, 1)


def test_a_relaxed_write_outside_a_turn_commits_without_yielding_the_loop(
    tmp_path: Path,
) -> None:
    async def scenario(db: Database) -> tuple[bool, int, set[str]]:
        commits = db.inline_commits
        other_ran = asyncio.Event()
        other = asyncio.get_running_loop().call_soon(other_ran.set)
        await db.write(_insert("relaxed"), durable=False)
        ran_meanwhile = other_ran.is_set()
        other.cancel()
        return ran_meanwhile, db.inline_commits - commits, _names(db)

    assert _with_db(tmp_path / "sluice.db", scenario) == (False, 1, {"relaxed"})


def test_closing_commits_the_open_turn(tmp_path: Path) -> None:
    path = tmp_path / "sluice.db"

    async def scenario(db: Database) -> asyncio.Future[str]:
        write = asyncio.ensure_future(db.write(_insert("last")))
        await asyncio.sleep(0)  # its first step runs: the turn is open, not yet committed
        assert not write.done()
        return write

    async def names(db: Database) -> set[str]:
        return _names(db)

    write = _with_db(path, scenario)
    assert write.result() == "last"
    assert _with_db(path, names) == {"last"}


def test_an_open_turn_leaves_the_write_lock_to_other_processes(tmp_path: Path) -> None:
    """A turn's writes run when it is committed: until then (while the loop answers other
    requests) another process may write, and the turn's writes still land after it."""
    path = tmp_path / "sluice.db"

    async def scenario(db: Database) -> tuple[str, set[str]]:
        write = asyncio.ensure_future(db.write(_insert("turn")))
        await asyncio.sleep(0)  # its first step runs: the turn is open, not yet committed
        assert not write.done()
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the turn held it
            other.execute(
                "INSERT INTO namespaces (name, uuid, key_hash, generation, created)"
                " VALUES ('other', 'uuid-other', 'h', 1, 0)"
            )
            # the turn commits meanwhile: the file is busy, so the writer thread waits for it
            await asyncio.sleep(0.05)
            other.execute("COMMIT")
        finally:
            other.close()
        return await write, _names(db)

    assert _with_db(path, scenario) == ("turn", {"other", "turn"})


def test_a_write_alone_that_fails_leaves_nothing(tmp_path: Path) -> None:
    async def scenario(db: Database) -> set[str]:
        with pytest.raises(Refused):
            await db.write(_insert("lone", fail=True))
        await db.write(_insert("after"))
        return _names(db)

    assert _with_db(tmp_path / "sluice.db", scenario) == {"after"}


def test_a_relaxed_write_that_fails_leaves_nothing(tmp_path: Path) -> None:
    async def scenario(db: Database) -> set[str]:
        with pytest.raises(Refused):
            await db.write(_insert("lone", fail=True), durable=False)
        await db.write(_insert("after"), durable=False)
        return _names(db)

    assert _with_db(tmp_path / "sluice.db", scenario) == {"after"}


#: another process holding the file's write lock until told to let go
_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


def test_a_relaxed_write_waits_for_another_process_without_stopping_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sluice.db"

    async def scenario(db: Database) -> tuple[int, set[str]]:
        holder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _HOLDER,
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert holder.stdin is not None
        assert holder.stdout is not None
        try:
            assert await holder.stdout.readline() == b"locked\n"
            write = asyncio.ensure_future(db.write(_insert("late"), durable=False))
            ticks = 0
            while ticks < 20:  # the loop runs on while the write waits for the lock
                await asyncio.sleep(0.005)
                ticks += 1
            assert not write.done()
            holder.stdin.write(b"go\n")
            await holder.stdin.drain()
            assert await asyncio.wait_for(write, 30) == "late"
            return ticks, _names(db)
        finally:
            await holder.wait()

    ticks, names = _with_db(path, scenario)
    assert ticks == 20
    assert names == {"late"}


def test_relaxed_writes_do_not_grow_the_wal_without_bound(tmp_path: Path) -> None:
    path = tmp_path / "sluice.db"
    wal = path.with_name(path.name + "-wal")

    async def scenario(db: Database) -> tuple[int, int]:
        start = wal.stat().st_size
        for i in range(100):
            await db.write(_insert(f"first{i}"), durable=False)
        per_100 = wal.stat().st_size - start
        for i in range(6000):
            await db.write(_insert(f"ns{i}"), durable=False)
        return per_100, wal.stat().st_size

    per_100, size = _with_db(path, scenario)
    assert per_100 > 0
    # without checkpoints the WAL would hold all 6,100 commits' pages
    assert size < per_100 * 61 / 2


def test_relaxed_and_durable_writes_mixed_all_land(tmp_path: Path) -> None:
    async def scenario(db: Database) -> tuple[list[object], set[str]]:
        results: list[object] = []
        for round_ in range(20):  # bursts: some relaxed writes go inline, some join batches
            writes = [db.write(_insert(f"ns{round_}-{i}"), durable=i % 3 == 0) for i in range(30)]
            results += await asyncio.gather(*writes)
            await asyncio.sleep(0.006 if round_ % 2 else 0)
        return results, _names(db)

    results, names = _with_db(tmp_path / "sluice.db", scenario)
    expected = {f"ns{r}-{i}" for r in range(20) for i in range(30)}
    assert set(results) == expected
    assert names == expected


def test_the_database_and_its_wal_are_readable_by_their_owner_alone(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sluice.db"

    async def scenario(db: Database) -> dict[str, int]:
        await db.write(_insert("ns"))
        files = (path, path.with_name("sluice.db-wal"), path.with_name("sluice.db-shm"))
        return {file.name: file.stat().st_mode & 0o777 for file in files}

    assert _with_db(path, scenario) == {
        "sluice.db": 0o600,
        "sluice.db-wal": 0o600,
        "sluice.db-shm": 0o600,
    }


@pytest.mark.parametrize("level", ["FULL", "NORMAL"])
def test_only_durable_writes_at_full_wait_for_a_wal_sync(tmp_path: Path, level: str) -> None:
    async def scenario(db: Database) -> tuple[int, int, int, set[str]]:
        before = db.wal_syncs
        await db.write(_insert("relaxed"), durable=False)
        after_relaxed = db.wal_syncs
        await db.write(_insert("durable"))
        return before, after_relaxed, db.wal_syncs, _names(db)

    before, after_relaxed, after_durable, names = _with_db(tmp_path / "sluice.db", scenario, level)
    assert names == {"relaxed", "durable"}
    assert after_relaxed == before
    assert after_durable == (before + 1 if level == "FULL" else 0)
