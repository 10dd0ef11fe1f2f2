"""`sluice migrate --store URL` and `sluice serve --store/--migrate` on real PostgreSQL
databases: the schema made once, a stale one refused with the command that fixes it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.postgres import create_database, drop_database
from tests.support.server import SLUICE, SluiceServer

from sluice.store.postgres.migrate import latest_version, migrations


@pytest.fixture
def empty_url(pg_database: str) -> Iterator[str]:
    """A fresh database with no schema (pg_database: PostgreSQL is here), dropped after."""
    url = create_database("sluice_cli")
    yield url
    drop_database(url)


def _sluice(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    return subprocess.run(
        [str(SLUICE), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrate_applies_each_migration_once(empty_url: str) -> None:
    first = _sluice("migrate", "--store", empty_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        *(f"applied {m.version:04d}_{m.name}" for m in migrations()),
        f"schema at version {latest_version()} ({len(migrations())} migrations applied)",
    ]
    again = _sluice("migrate", SLUICE_STORE=empty_url)  # the URL from the environment
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"schema at version {latest_version()} (0 migrations applied)"


def test_migrate_needs_a_postgresql_url() -> None:
    missing = _sluice("migrate")
    assert missing.returncode == 2
    assert "--store" in missing.stderr
    other = _sluice("migrate", "--store", "sqlite:///tmp/x.db")
    assert other.returncode == 2
    assert "needs a postgresql:// URL" in other.stderr


def test_migrate_names_an_unreachable_server_without_its_password() -> None:
    done = _sluice("migrate", "--store", "postgresql://sluice:s3cret@127.0.0.1:1/sluice")
    assert done.returncode == 1
    assert "migrating postgresql://sluice:***@127.0.0.1:1/sluice failed" in done.stderr
    assert "s3cret" not in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_stale_schema_and_migrates_when_asked(
    empty_url: str, tmp_path: Path
) -> None:
    stale = SluiceServer(tmp_path / "stale", extra_env={"SLUICE_STORE": empty_url})
    try:
        with pytest.raises(AssertionError, match="run `sluice migrate --store URL`"):
            stale.start(timeout=60)
        assert stale.process is not None
        assert stale.process.wait(10) != 0
        told = stale.log_path.read_text()
        assert "Traceback" not in told
        [line] = [line for line in told.splitlines() if "ERROR" in line]
        assert "cannot start: the PostgreSQL schema at" in line
    finally:
        stale.close()
    server = SluiceServer(
        tmp_path / "migrating", extra_env={"SLUICE_STORE": empty_url, "SLUICE_MIGRATE": "true"}
    )
    try:
        server.start()
        with server.client() as client:
            assert client.get("/api/v1/namespaces").json() == ["guest"]
    finally:
        server.close()
