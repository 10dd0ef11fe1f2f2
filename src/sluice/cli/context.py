"""`sluice context`: print and set where the `sluice` CLI goes (API host, key, namespace), as
`wsk property get|set`, `faas-cli login` and `fn use context` do. The values live in the
client config file that the first `sluice serve` writes, so a key shown once is not lost."""

from __future__ import annotations

import shlex
from typing import Any

import click

from sluice.cli.clientconfig import (
    DEFAULT_APIHOST,
    ClientConfig,
    client_config_path,
    load_client_config,
    normalize_apihost,
    read_wskprops,
    write_client_config,
)
from sluice.cli.output import fitted_table, json_option, reported_errors, show

_FIELDS = ("apihost", "auth", "namespace")


@click.group("context")
def context() -> None:
    """Print or set the API host, key and namespace the CLI uses (the client config)."""


@context.command("get")
@click.argument("field", required=False, type=click.Choice(_FIELDS))
@click.option(
    "--export",
    "as_export",
    is_flag=True,
    help="As `export` lines for the aio CLI and the openwhisk npm client.",
)
@json_option("Print {apihost, namespace, auth, file} (or FIELD alone) as JSON.")
@click.pass_context
def get(ctx: click.Context, field: str | None, as_export: bool, as_json: bool) -> None:
    """Print what commands use (flags, SLUICE_*, AIO_RUNTIME_*, then the file); FIELD alone
    prints one value (`export AIO_RUNTIME_AUTH=$(sluice context get auth)`)."""
    options: dict[str, Any] = ctx.find_root().obj or {}
    with reported_errors():
        config = load_client_config(
            options.get("apihost"), options.get("auth"), options.get("namespace")
        )
    settings = {
        "apihost": config.apihost,
        "namespace": config.namespace,
        "auth": config.auth,
        "file": str(client_config_path()),
    }
    if field is not None:
        show({field: settings[field]}, as_json, lambda value: str(value[field]))
    elif as_export and not as_json:
        click.echo(_exports(config))
    else:
        show(settings, as_json, lambda value: fitted_table(("setting", "value"), value.items()))


def _exports(config: ClientConfig) -> str:
    host, namespace, key = (shlex.quote(v) for v in (config.apihost, config.namespace, config.auth))
    return "\n".join(
        [
            f"export AIO_RUNTIME_APIHOST={host} AIO_RUNTIME_NAMESPACE={namespace}"
            f" AIO_RUNTIME_AUTH={key} USE_RUNTIME_AUTH=true",
            f"export __OW_API_HOST={host} __OW_NAMESPACE={namespace} __OW_API_KEY={key}",
        ]
    )


@context.command("set")
@click.pass_context
def set_(ctx: click.Context) -> None:
    """Save the --apihost, --auth and --namespace given (each kept as it was when not given):
    `sluice context set --apihost http://host:3233 --auth UUID:KEY`."""
    options: dict[str, Any] = ctx.find_root().obj or {}
    given = {name: options.get(name) for name in _FIELDS if options.get(name)}
    if not given:
        raise click.UsageError("give --apihost, --auth or --namespace to set")
    path = client_config_path()
    with reported_errors():
        saved = read_wskprops(path)
    values = {name: given.get(name) or saved.get(name.upper(), "") for name in _FIELDS}
    if not values["auth"]:
        raise click.UsageError(f"{path} has no key yet: give --auth UUID:KEY too")
    write_client_config(
        path,
        normalize_apihost(values["apihost"] or DEFAULT_APIHOST),
        values["auth"],
        values["namespace"] or "_",
    )
    click.echo(f"saved {', '.join(sorted(given))} in {path}")
