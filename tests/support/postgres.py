"""The machine's PostgreSQL for tests: started when it is installed but down, one fresh
database per user (a test session, a server), dropped afterwards.

SLUICE_TEST_PG names the server and an existing database to connect to for admin work
(default: the local cluster's `test` database, user postgres, trust auth)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ADMIN_URL = os.environ.get("SLUICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_CONF = Path("/etc/postgresql")


def _reachable() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def postgres_unavailable() -> str | None:
    """None when PostgreSQL answers (started here if installed and down); else why not."""
    if _reachable():
        return None
    versions = sorted(_CONF.iterdir()) if _CONF.is_dir() else []
    if not versions:
        return f"PostgreSQL is not reachable at {ADMIN_URL} and not installed here"
    started = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", "start"],
        capture_output=True,
        text=True,
        check=False,
    )
    if _reachable():
        return None
    return f"PostgreSQL at {ADMIN_URL} is down and would not start: {started.stderr.strip()}"


def _with_database(admin: str, name: str) -> str:
    return urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))


def create_database(prefix: str = "sluice_test", admin: str = ADMIN_URL) -> str:
    """A new empty database on the server of `admin` (a URL of a database there); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(admin, name)


def drop_database(url: str, admin: str = ADMIN_URL) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_bytes(url: str) -> bytes:
    """Every row of every table of the database, as PostgreSQL's text dump of it."""
    out = bytearray()
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        for (table,) in tables:
            with conn.cursor().copy(f'COPY "{table}" TO STDOUT') as copy:
                for chunk in copy:
                    out += chunk
    return bytes(out)


if __name__ == "__main__":  # scripts/test: is there a PostgreSQL to run the tests on?
    import sys

    reason = postgres_unavailable()
    if reason is not None:
        print(f"note: skipping the PostgreSQL pass: {reason}", file=sys.stderr)
    sys.exit(reason is not None)
