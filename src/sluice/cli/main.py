"""The `sluice` command: the server, its admin commands, and a client for its API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sluice.config import Settings

from sluice.cli.actions import action
from sluice.cli.activations import activation
from sluice.cli.fn.commands import fn
from sluice.cli.functions import function
from sluice.cli.migrate import migrate as migrate_command
from sluice.cli.namespaces import namespace
from sluice.cli.nats_nkey import nats_nkey
from sluice.cli.packages import package
from sluice.cli.rules import rule
from sluice.cli.secrets import secret
from sluice.cli.triggers import trigger


def _settings(**overrides: Any) -> Settings:
    from sluice.config import Settings  # pydantic-settings is slow to import: serve only

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _has_secret(url: str) -> bool:
    """A password in the user part or a parameter, or a NATS token (a lone user name)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.password or "password" in parse_qs(parts.query):
        return True
    return parts.scheme in ("nats", "tls") and bool(parts.username)


@click.group()
@click.option("--apihost", envvar=None, help="Sluice API URL (default: the client config).")
@click.option("--auth", "-u", help="Namespace key uuid:key (default: the client config).")
@click.option("--namespace", help="Namespace (default: the client config).")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Server data dir, for serve and admin commands [env SLUICE_DATA_DIR].",
)
@click.pass_context
def main(
    ctx: click.Context,
    apihost: str | None,
    auth: str | None,
    namespace: str | None,
    data_dir: Path | None,
) -> None:
    """Sluice: serverless functions with durable async calls."""
    ctx.obj = {
        "apihost": apihost,
        "auth": auth,
        "namespace": namespace,
        "server_settings": lambda **kw: _settings(data_dir=data_dir, **kw),
    }


@main.command()
@click.option("--host", help="Address to listen on [env SLUICE_HOST; default 127.0.0.1].")
@click.option("--port", type=int, help="Port [env SLUICE_PORT; default 3233].")
@click.option("--sync", type=click.Choice(["FULL", "NORMAL"]), help="Durability of accepts.")
@click.option(
    "--store",
    help="postgresql://... to keep entities and calls in PostgreSQL"
    " [env SLUICE_STORE; default the embedded SQLite file in the data dir].",
)
@click.option(
    "--migrate",
    is_flag=True,
    default=None,
    help="Apply pending PostgreSQL schema migrations first [env SLUICE_MIGRATE].",
)
@click.option(
    "--role",
    type=click.Choice(["all", "api", "worker", "scheduler"]),
    help="What this process runs: the HTTP API, the worker loop, alarms and housekeeping,"
    " or all three [env SLUICE_ROLE; default all].",
)
@click.option(
    "--queue",
    help="nats://host:4222 to deliver calls through NATS JetStream, as several processes"
    " or hosts need [env SLUICE_QUEUE; default embedded].",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    sync: str | None,
    store: str | None,
    migrate: bool | None,
    role: str | None,
    queue: str | None,
) -> None:
    """Run Sluice: API, scheduler and workers in one process (or one role, with --role)."""
    from sluice.cli.serve import run_server
    from sluice.cli.startup import configure_logging

    configure_logging()
    for flag, value, variable in (
        ("--store", store, "SLUICE_STORE"),
        ("--queue", queue, "SLUICE_QUEUE"),
    ):
        if value and _has_secret(value):
            click.echo(
                f"warning: the {flag} URL has a password or token, which any user of this machine"
                f" can read in the process list: set {variable} instead",
                err=True,
            )
    try:
        settings = ctx.obj["server_settings"](
            host=host, port=port, sync=sync, store=store, migrate=migrate, role=role, queue=queue
        )
    except ValueError as exc:  # pydantic's ValidationError: a bad flag or SLUICE_* value
        raise click.UsageError(str(exc)) from exc
    if settings.worker_process and (settings.role != "all" or settings.queue != "embedded"):
        raise click.UsageError(
            "SLUICE_WORKER_PROCESS splits one embedded Sluice in two processes:"
            " it needs --role all and the embedded queue"
        )
    if settings.role != "all" and settings.queue == "embedded":
        raise click.UsageError(
            f"--role {settings.role} shares work with other processes: it needs --queue nats://..."
        )
    run_server(settings)


main.add_command(namespace)
main.add_command(action)
main.add_command(activation)
main.add_command(trigger)
main.add_command(rule)
main.add_command(package)
main.add_command(fn)
main.add_command(migrate_command)
main.add_command(function)
main.add_command(secret)
main.add_command(nats_nkey)
