"""Versioned migrations of the PostgreSQL schema (store/migrations/postgres/NNNN_name.sql).

Each file runs once, in its own transaction, recorded in `schema_version`; a session advisory
lock makes concurrent `sluice migrate` runs (several hosts starting with --migrate) take turns,
so a re-run, or a second host, finds the work done and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from sluice.errors import CannotStart
from sluice.timing import now_ms

#: the advisory lock key migrations hold ("sluice" in hex digits, near enough)
_LOCK_KEY = 0x51_1CE_0001
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class SchemaError(CannotStart):
    """The database's schema is not the one this Sluice needs."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration this Sluice ships, oldest first."""
    folder = resources.files("sluice.store").joinpath("migrations/postgres")
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    return migrations()[-1].version


#: libpq's URL parameters that hold a secret (the password, the client key's passphrase)
_SECRET_PARAMS = frozenset({"password", "sslpassword"})


def redacted(url: str) -> str:
    """The URL without its password (in the user part or a parameter), for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    params = parse_qsl(parts.query, keep_blank_values=True)
    if any(name in _SECRET_PARAMS for name, _ in params):
        shown = [(name, "***" if name in _SECRET_PARAMS else value) for name, value in params]
        query = urlencode(shown, safe="/*")
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    return urlunsplit(parts._replace(netloc=netloc))


async def schema_version(conn: psycopg.AsyncConnection[Any]) -> int:
    """The newest migration applied to the database; 0 for an empty one."""
    row = await (await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")).fetchone()
    if not row or not row[0]:
        return 0
    row = await (
        await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
    ).fetchone()
    return int(row[0]) if row else 0


async def migrate(url: str) -> list[Migration]:
    """Bring the database at `url` up to date; the migrations this run applied."""
    applied: list[Migration] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied BIGINT NOT NULL)"
            )
            current = await schema_version(conn)
            for migration in migrations():
                if migration.version <= current:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_version (version, name, applied) VALUES (%s, %s, %s)",
                        (migration.version, migration.name, now_ms()),
                    )
                applied.append(migration)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


async def check_schema(conn: psycopg.AsyncConnection[Any], url: str) -> None:
    """Refuse to run on a database whose schema is older or newer than this Sluice's."""
    have, want = await schema_version(conn), latest_version()
    if have < want:
        raise SchemaError(
            f"the PostgreSQL schema at {redacted(url)} is at version {have}, this Sluice needs"
            f" {want}: run `sluice migrate --store URL`, or start with --migrate"
            " (SLUICE_MIGRATE=true)"
        )
    if have > want:
        raise SchemaError(
            f"the PostgreSQL schema at {redacted(url)} is at version {have}, newer than this"
            f" Sluice knows ({want}): upgrade Sluice"
        )
