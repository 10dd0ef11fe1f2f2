"""The SQLite writer thread: writes sent together share a transaction, and one that fails
undoes only its own changes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from sluice.store.sqlite_db import Database


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


def test_a_failing_write_among_many_undoes_only_itself(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[object], set[str]]:
        db = Database(tmp_path / "sluice.db")
        await db.open()
        try:
            writes = [db.write(_insert(f"ns{i}", fail=i % 10 == 3)) for i in range(60)]
            results = await asyncio.gather(*writes, return_exceptions=True)
            return results, _names(db)
        finally:
            await db.close()

    results, names = asyncio.run(scenario())
    failed = {i for i, result in enumerate(results) if isinstance(result, Refused)}
    assert failed == {i for i in range(60) if i % 10 == 3}
    assert names == {f"ns{i}" for i in range(60) if i not in failed}
    assert [results[i] for i in range(60) if i not in failed] == sorted(
        names, key=lambda n: int(n[2:])
    )


def test_a_write_alone_that_fails_leaves_nothing(tmp_path: Path) -> None:
    async def scenario() -> set[str]:
        db = Database(tmp_path / "sluice.db")
        await db.open()
        try:
            with pytest.raises(Refused):
                await db.write(_insert("lone", fail=True))
            await db.write(_insert("after"))
            return _names(db)
        finally:
            await db.close()

    assert asyncio.run(scenario()) == {"after"}
