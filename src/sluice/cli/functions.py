"""`sluice function`: OpenFaaS-style functions through the gateway's /system API, and calls
through /function and /async-function."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from sluice.cli.client import SluiceClient
from sluice.cli.fn.bundle import zip_directory
from sluice.cli.output import (
    CommandError,
    json_option,
    note,
    print_listing,
    show,
    with_client,
)
from sluice.cli.progress import working
from sluice.cli.template_env import dockerfile_env

Json = dict[str, Any]
FUNCTION_COLUMNS = ("Function", "Invocations", "Replicas", "Process")


def _pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"{option} takes KEY=VALUE, not '{item}'")
        out[key] = value
    return out


def deployment(name: str, options: dict[str, Any]) -> Json:
    """The FunctionDeployment JSON the options describe; a --dir that is an OpenFaaS
    template (a Dockerfile with the watchdog's ENV lines) gives the command, mode and port
    its image would run with, unless options say otherwise."""
    template = dockerfile_env(options["dir"]) if options["dir"] is not None else {}
    process = options["process"] or template.pop("fprocess", None)
    template.pop("fprocess", None)
    if not process:
        raise CommandError("give the command with --process (or a template's --dir)")
    env = {**template, **_pairs(options["env"], "--env")}
    annotations = _pairs(options["annotation"], "--annotation")
    if options["http"]:
        env["mode"] = "http"
    if options["timeout"]:
        env["exec_timeout"] = options["timeout"]
    if options["queue"]:
        annotations["com.openfaas.queue"] = options["queue"]
    spec: Json = {
        "service": name,
        "envProcess": process,
        "envVars": env,
        "labels": _pairs(options["label"], "--label"),
        "annotations": annotations,
    }
    if options["secret"]:
        spec["secrets"] = list(options["secret"])
    if options["memory"]:
        spec["limits"] = {"memory": options["memory"]}
    if options["dir"] is not None:
        spec["code"] = zip_directory(options["dir"])
    return spec


@click.group("function")
def function() -> None:
    """Deploy, list, get, remove and call OpenFaaS-style functions."""


@function.command("deploy")
@click.argument("name")
@click.option(
    "--process", help="The command to run, e.g. 'figlet' (default: a template's fprocess)."
)
@click.option(
    "--dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A directory of files the command runs beside (uploaded as a zip).",
)
@click.option("--http", is_flag=True, help="The command is an HTTP server on $PORT (mode=http).")
@click.option("--env", multiple=True, metavar="KEY=VALUE", help="Environment (envVars).")
@click.option("--label", multiple=True, metavar="KEY=VALUE", help="A label.")
@click.option("--annotation", multiple=True, metavar="KEY=VALUE", help="An annotation.")
@click.option("--secret", multiple=True, metavar="NAME", help="A secret it reads (sluice secret).")
@click.option("--memory", help="Memory limit, e.g. 256Mi.")
@click.option("--timeout", help="Longest run, e.g. 30s, 5m, 3h (exec_timeout).")
@click.option("--queue", help="A named queue of its own (com.openfaas.queue).")
@with_client
def deploy(client: SluiceClient, /, name: str, **options: Any) -> None:
    """Deploy function NAME: create it, or replace it when it exists."""
    spec = deployment(name, options)
    with working(f"deploying {name}"):  # the server builds a template's function at deploy
        replaced = client.request("PUT", "/system/functions", body=spec, accept=(404,))
        if replaced.status_code == 404:
            client.request("POST", "/system/functions", body=spec)
    click.echo(f"Deployed. {name}: {client.config.apihost}/function/{name}")


@function.command("list")
@json_option("Print the FunctionStatus list as JSON.")
@with_client
def list_(client: SluiceClient, /, as_json: bool) -> None:
    """List functions (every action of the namespace)."""
    found = client.json("GET", "/system/functions")
    print_listing(found, as_json, FUNCTION_COLUMNS, _row)


def _row(item: Json) -> list[str]:
    count = item.get("invocationCount", 0)
    return [item["name"], str(int(count)), str(item.get("replicas", 0)), item.get("envProcess", "")]


@function.command("get")
@click.argument("name")
@json_option("Print it as JSON (as it is printed anyway).")
@with_client
def get(client: SluiceClient, /, name: str, as_json: bool) -> None:
    """Print function NAME's FunctionStatus."""
    show(client.json("GET", f"/system/function/{name}"), as_json)


@function.command("remove")
@click.argument("name")
@with_client
def remove(client: SluiceClient, /, name: str) -> None:
    """Remove function NAME."""
    client.request("DELETE", "/system/functions", body={"functionName": name})
    click.echo(f"Removed. {name}")


@function.command("invoke")
@click.argument("name")
@click.option("--async", "run_async", is_flag=True, help="Queue it (/async-function): 202.")
@click.option("--callback", help="X-Callback-Url: where the answer is POSTed.")
@click.option("--content-type", default="text/plain", show_default=True)
@with_client
def invoke(
    client: SluiceClient,
    /,
    name: str,
    run_async: bool,
    callback: str | None,
    content_type: str,
) -> None:
    """Call function NAME with stdin as the body; print its answer (or the call id)."""
    headers = {"content-type": content_type}
    if callback:
        headers["x-callback-url"] = callback
    route = "async-function" if run_async else "function"
    body = sys.stdin.buffer.read()
    answer = client.request("POST", f"/{route}/{name}", content=body, headers=headers)
    if answer.status_code == 202:
        note("Function submitted asynchronously.")
        click.echo(answer.headers.get("x-call-id", ""))
        return
    sys.stdout.buffer.write(answer.content)
