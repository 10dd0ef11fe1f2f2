"""The `sluice` command: the server, its admin commands, and a client for its API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sluice.config import Settings

from sluice.cli.actions import action
from sluice.cli.activations import activation
from sluice.cli.context import context
from sluice.cli.fn.commands import fn
from sluice.cli.functions import function
from sluice.cli.migrate import migrate as migrate_command
from sluice.cli.namespaces import namespace
from sluice.cli.nats_nkey import nats_nkey
from sluice.cli.packages import package
from sluice.cli.prune import prune
from sluice.cli.rules import rule
from sluice.cli.secrets import secret
from sluice.cli.top import top
from sluice.cli.triggers import trigger


class BadSetting(click.ClickException):
    """A setting (a flag or a SLUICE_* variable) whose value cannot be used: one line, exit 2."""

    exit_code = 2


def _settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    from sluice.config import Settings  # pydantic-settings is slow to import: serve only

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise BadSetting(_told_in_one_line(exc)) from None


def _told_in_one_line(exc: Any) -> str:
    """pydantic's report as `SLUICE_PORT: <why> (got 'abc')`, each bad setting told once."""
    told = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        why = str(error["msg"]).removeprefix("Value error, ")
        got = error.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
        told.append(f"SLUICE_{name.upper()}: {why}{shown}")
    return "bad setting " + "; ".join(told)


def _has_secret(url: str) -> bool:
    """A password in the user part or a parameter, or a NATS token (a lone user name)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    if parts.password or "password" in parse_qs(parts.query):
        return True
    return parts.scheme in ("nats", "tls") and bool(parts.username)


#: the options every command takes, before or after its name (`sluice --data-dir D serve`
#: and `sluice serve --data-dir D`)
_SHARED_OPTIONS = (
    (("--apihost",), {"help": "Sluice API URL (default: the client config)."}),
    (("--auth", "-u"), {"help": "Namespace key uuid:key (default: the client config)."}),
    (("--namespace",), {"help": "Namespace (default: the client config)."}),
    (
        ("--data-dir",),
        {
            "type": click.Path(path_type=Path),
            "help": "Server data dir, for serve and admin commands [env SLUICE_DATA_DIR].",
        },
    ),
)


def _shared_options(fn: Any) -> Any:
    for decls, attrs in reversed(_SHARED_OPTIONS):
        fn = click.option(*decls, **attrs)(fn)
    return fn


def _keep_on_root(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A shared option given after a command's name: kept where the whole command reads it."""
    if value is not None and param.name is not None:
        ctx.find_root().obj[param.name] = value
    return value


def _share_options(group: click.Group) -> None:
    """Every command under `group` takes the shared options too."""
    for command in group.commands.values():
        for decls, attrs in _SHARED_OPTIONS:
            command.params.append(
                click.Option(list(decls), expose_value=False, callback=_keep_on_root, **attrs)
            )
        if isinstance(command, click.Group):
            _share_options(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sluice", prog_name="sluice", message="%(prog)s %(version)s")
@_shared_options
@click.pass_context
def main(
    ctx: click.Context,
    apihost: str | None,
    auth: str | None,
    namespace: str | None,
    data_dir: Path | None,
) -> None:
    """Sluice: serverless functions with durable async calls."""
    ctx.obj = {"apihost": apihost, "auth": auth, "namespace": namespace, "data_dir": data_dir}
    ctx.obj["server_settings"] = lambda **kw: _settings(data_dir=ctx.obj["data_dir"], **kw)


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
    settings = ctx.obj["server_settings"](
        host=host, port=port, sync=sync, store=store, migrate=migrate, role=role, queue=queue
    )
    if settings.worker_process is None:  # the default: accepting apart from running
        embedded = settings.role == "all" and settings.queue == "embedded"
        settings = settings.model_copy(update={"worker_process": embedded})
    elif settings.worker_process and (settings.role != "all" or settings.queue != "embedded"):
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
main.add_command(context)
main.add_command(top)
activation.add_command(prune)
_share_options(main)
