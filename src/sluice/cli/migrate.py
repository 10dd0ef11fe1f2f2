"""`sluice migrate`: create or upgrade the PostgreSQL schema (versioned migrations)."""

from __future__ import annotations

import asyncio

import click


@click.command("migrate")
@click.option(
    "--store",
    envvar="SLUICE_STORE",
    required=True,
    help="PostgreSQL URL: postgresql://user:password@host:port/database [env SLUICE_STORE].",
)
def migrate(store: str) -> None:
    """Apply the PostgreSQL schema migrations not yet applied (each once; safe to re-run)."""
    import psycopg

    from sluice.store.postgres.db import is_postgres_url
    from sluice.store.postgres.migrate import latest_version, redacted
    from sluice.store.postgres.migrate import migrate as apply_migrations

    if not is_postgres_url(store):
        raise click.BadParameter("needs a postgresql:// URL", param_hint="--store")
    try:
        applied = asyncio.run(apply_migrations(store))
    except psycopg.Error as exc:
        raise click.ClickException(f"migrating {redacted(store)} failed: {exc}") from exc
    for migration in applied:
        click.echo(f"applied {migration.version:04d}_{migration.name}")
    click.echo(f"schema at version {latest_version()} ({len(applied)} migrations applied)")
