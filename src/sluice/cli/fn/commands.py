"""`sluice fn init|deploy|call|calls|logs|apps|routes` (v1, seed 004's CLI) and
`list|inspect|invoke|config|create|delete` (v2, today's CLI), worded as Fn's CLI words them."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import click

from sluice.cli.fn import templates, v2_commands, v2_deploy
from sluice.cli.fn.bundle import zip_directory
from sluice.cli.fn.client import FnClient, Json
from sluice.cli.fn.funcyaml import (
    FILE_NAME,
    FORMATS,
    FuncFile,
    FuncFileError,
    bump,
    load,
    write_version,
)
from sluice.cli.fn.session import with_fn_client
from sluice.cli.output import CommandError, json_option, note, print_json, show
from sluice.cli.progress import working


def _app(app: str) -> str:
    return f"/v1/apps/{quote(app, safe='')}"


def _route(path: str) -> str:
    return "/" + quote(path.lstrip("/"), safe="/")


@click.group("fn")
def fn() -> None:
    """Fn functions: init, deploy, call; calls and logs (use `alias fn="sluice fn"`)."""


# init / deploy ---------------------------------------------------------------------------------
@fn.command()
@click.argument("name", required=False)
@click.option(
    "--runtime",
    type=click.Choice(templates.INIT_RUNTIMES),
    required=True,
    help="The function's language (python and node: Fn's FDK, as today's `fn init`).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    help=(
        "http-stream (python's and node's default; go with fdk-go, which the server's"
        " SLUICE_GOPROXY must provide): Fn's FDKs, func.yaml as today's `fn init` writes it;"
        " default (go's default): body on stdin, output on stdout; json: a JSON object per"
        " call on stdin and per answer on stdout."
    ),
)
@click.option(
    "--trigger",
    type=click.Choice(["http"]),
    help="Add an http trigger at /NAME (functions of today's func.yaml).",
)
def init(name: str | None, runtime: str, format_: str | None, trigger: str | None) -> None:
    """Create a hello-world function in directory NAME (or here)."""
    language = templates.family(runtime)
    # Go: seed 004's stdin/stdout function, which builds with no module download (Go's FDK,
    # fdk-go, needs one: --format http-stream writes what today's `fn init` writes)
    format_ = format_ or ("default" if language == "go" else "http-stream")
    if (language, format_) not in templates.TEMPLATES:
        raise click.UsageError(f"the {runtime} runtime has no {format_} template (no FDK here)")
    target = Path(name) if name else Path.cwd()
    fn_name = target.resolve().name.lower()
    if (target / FILE_NAME).exists():
        raise CommandError(f"{target / FILE_NAME} exists already")
    if name:
        click.echo(f"Creating function at: ./{name}")
    target.mkdir(parents=True, exist_ok=True)
    made = templates.files(fn_name, runtime, format_)
    if trigger:
        if format_ != "http-stream":
            raise click.UsageError("--trigger is for functions of today's func.yaml (http-stream)")
        made["func.yaml"] += templates.trigger_yaml(fn_name)
    for file_name, text in made.items():
        (target / file_name).write_text(text, encoding="utf-8")
    click.echo("Function boilerplate generated.\nfunc.yaml created.")


def _route_body(func: FuncFile, version: str) -> Json:
    route: Json = {
        "path": func.route_path,
        "image": f"{func.name}:{version}",
        "type": func.type,
        "format": func.format,
        "runtime": func.runtime,
        "config": func.config,
        "headers": func.headers,
        "code": zip_directory(func.directory),
    }
    if func.cmd:
        route["cmd"] = func.cmd
    if func.annotations:
        route["annotations"] = func.annotations
    for key in ("memory", "timeout", "idle_timeout"):
        if getattr(func, key) is not None:
            route[key] = getattr(func, key)
    return {"route": route}


@fn.command()
@click.option("--app", required=True, help="The app to deploy to (created if missing).")
@click.option("--local", is_flag=True, help="Accepted for Fn's CLI: Sluice builds locally.")
@click.option("--no-bump", is_flag=True, help="Keep func.yaml's version.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=Path(),
    help="The function's directory (default: here).",
)
@with_fn_client
def deploy(client: FnClient, /, app: str, local: bool, no_bump: bool, directory: Path) -> None:
    """Build and deploy the function in this directory to APP: as a v2 function with its
    triggers for today's func.yaml (schema_version), as a route for the seed era's."""
    try:
        func = load(directory / FILE_NAME)
    except FuncFileError as exc:
        raise CommandError(str(exc)) from exc
    version = func.version if no_bump else bump(func.version)
    if func.schema_version is not None:
        click.echo(f"Deploying {func.name} to app: {app}")
        click.echo(f"Building image {func.name}:{version}")
        with working(f"building {func.name}:{version}"):
            v2_deploy.deploy(client, app, func, _route_body(func, version)["route"])
        # told once the server has built and taken it: a failed deploy bumps nothing
        if not no_bump:
            write_version(func, version)
            click.echo(f"Bumped to version {version}")
        return
    path = func.route_path
    click.echo(f"Deploying {func.name} to app: {app} at path: {path}")
    with working(f"building {func.name}:{version}"):
        answer = client.json(
            "PUT", _app(app) + "/routes" + _route(path), body=_route_body(func, version)
        )
    # told once the server has built and taken it: a failed deploy bumps nothing
    if not no_bump:
        write_version(func, version)
        click.echo(f"Bumped to version {version}")
    click.echo(f"Building image {func.name}:{version}")
    build = answer.get("route", {}).get("build") or {}
    if build.get("cached"):
        click.echo("Build cache hit: unchanged since the last build")
    click.echo(f"Updating route {path} using image {func.name}:{version}...")


# call ------------------------------------------------------------------------------------------
@fn.command()
@click.argument("app")
@click.argument("path")
@click.option("--display-call-id", is_flag=True, help="Print `Call ID: <id>` on stderr.")
@click.option("--method", "-m", help="HTTP method (default: GET from a terminal, else POST).")
@click.option("--content-type", default="application/json", show_default=True)
@with_fn_client
def call(
    client: FnClient,
    /,
    app: str,
    path: str,
    display_call_id: bool,
    method: str | None,
    content_type: str,
) -> None:
    """Call the route PATH of APP with stdin as the body; print the answer."""
    interactive = sys.stdin.isatty()
    body = b"" if interactive else sys.stdin.buffer.read()
    verb = (method or ("GET" if interactive else "POST")).upper()
    url = f"/r/{quote(app, safe='')}{_route(path)}"
    response = client.request(verb, url, content=body, headers={"content-type": content_type})
    if display_call_id and response.headers.get("fn_call_id"):
        note(f"Call ID: {response.headers['fn_call_id']}")
    click.echo(response.text, nl=not response.text.endswith("\n"))


# calls / logs ----------------------------------------------------------------------------------
def _call_block(found: Json) -> str:
    return (
        f"ID: {found.get('id', '')}\n"
        f"App: {found.get('app_name', '')}\n"
        f"Route: {found.get('path', '')}\n"
        f"Created At: {found.get('created_at', '')}\n"
        f"Started At: {found.get('started_at', '')}\n"
        f"Completed At: {found.get('completed_at', '')}\n"
        f"Status: {found.get('status', '')}\n"
    )


@fn.group()
def calls() -> None:
    """Calls of an app: status and times."""


def _newest_call(client: FnClient, app: str) -> str:
    """`last`: the id of the app's newest call."""
    newest = client.json("GET", f"{_app(app)}/calls", params={"per_page": 1})["calls"]
    if not newest:
        raise CommandError(f"app {app} has no calls yet")
    return str(newest[0]["id"])


@calls.command("get")
@click.argument("app")
@click.argument("call_id", metavar="CALL_ID|last")
@json_option("Print the call as JSON.")
@with_fn_client
def calls_get(client: FnClient, /, app: str, call_id: str, as_json: bool) -> None:
    """Print call CALL_ID of APP; `last` for the newest."""
    if call_id == "last":
        call_id = _newest_call(client, app)
    found = client.json("GET", f"{_app(app)}/calls/{quote(call_id, safe='')}")
    show(found["call"], as_json, _call_block)


@calls.command("cancel")
@click.argument("app")
@click.argument("call_id", metavar="CALL_ID")
@with_fn_client
def calls_cancel(client: FnClient, /, app: str, call_id: str) -> None:
    """Cancel call CALL_ID of APP (queued: at once; running: its process is stopped)."""
    client.json("DELETE", f"{_app(app)}/calls/{quote(call_id, safe='')}")
    click.echo(f"Cancelled call {call_id}")


def _unix_seconds(text: str | None, option: str) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError as exc:
        raise click.BadParameter(f"'{text}' is not an RFC 3339 time", param_hint=option) from exc


@calls.command("list")
@click.argument("app")
@click.option("--path", help="Only calls of this route.")
@click.option("--cursor", help="Start after this call id (a previous page's next cursor).")
@click.option("--from-time", help="Created at or after (RFC 3339).")
@click.option("--to-time", help="Created at or before (RFC 3339).")
@click.option("-n", "--per-page", type=click.IntRange(1, 100), default=30, show_default=True)
@json_option()
@with_fn_client
def calls_list(
    client: FnClient,
    /,
    app: str,
    path: str | None,
    cursor: str | None,
    from_time: str | None,
    to_time: str | None,
    per_page: int,
    as_json: bool,
) -> None:
    """List the calls of APP, newest first."""
    params = {
        "path": path,
        "cursor": cursor,
        "from_time": _unix_seconds(from_time, "--from-time"),
        "to_time": _unix_seconds(to_time, "--to-time"),
        "per_page": per_page,
    }
    found = client.json("GET", f"{_app(app)}/calls", params=params)
    if as_json:
        print_json(found)
        return
    for item in found.get("calls", []):
        click.echo(_call_block(item))
    if found.get("next_cursor"):
        note(f"more: --cursor {found['next_cursor']}")


@fn.group()
def logs() -> None:
    """Call logs."""


@logs.command("get")
@click.argument("app")
@click.argument("call_id", metavar="CALL_ID|last")
@json_option("Print the log as JSON ({call_id, log}).")
@with_fn_client
def logs_get(client: FnClient, /, app: str, call_id: str, as_json: bool) -> None:
    """Print the log (stdout and stderr) of call CALL_ID of APP; `last` for the newest."""
    if call_id == "last":
        call_id = _newest_call(client, app)
    found = client.json("GET", f"{_app(app)}/calls/{quote(call_id, safe='')}/log")
    if as_json:
        print_json(found["log"])
    else:
        click.echo(found["log"]["log"], nl=False)


# apps / routes ---------------------------------------------------------------------------------
@fn.group()
def apps() -> None:
    """Apps: groups of routes (OpenWhisk packages)."""


@apps.command("list")
@json_option("Print the apps as JSON.")
@with_fn_client
def apps_list(client: FnClient, /, as_json: bool) -> None:
    """List apps."""
    found = client.json("GET", "/v1/apps")["apps"]
    if found or as_json:
        show(found, as_json, lambda items: "\n".join(item["name"] for item in items))


@apps.command("create")
@click.argument("app")
@click.option("--config", multiple=True, metavar="KEY=VALUE", help="App config (env vars).")
@with_fn_client
def apps_create(client: FnClient, /, app: str, config: tuple[str, ...]) -> None:
    """Create APP."""
    pairs = dict(item.partition("=")[::2] for item in config)
    found = client.json("POST", "/v1/apps", body={"app": {"name": app, "config": pairs}})
    click.echo(f"Successfully created app: {found['app']['name']}")


@apps.command("inspect")
@click.argument("app")
@json_option("Print it as JSON (as it is printed anyway).")
@with_fn_client
def apps_inspect(client: FnClient, /, app: str, as_json: bool) -> None:
    """Print APP as JSON."""
    show(client.json("GET", _app(app))["app"], as_json)


@apps.command("delete")
@click.argument("app")
@with_fn_client
def apps_delete(client: FnClient, /, app: str) -> None:
    """Delete APP and its routes."""
    client.json("DELETE", _app(app))
    click.echo(f"App {app} deleted")


@fn.group()
def routes() -> None:
    """Routes: the functions of an app."""


@routes.command("list")
@click.argument("app")
@json_option("Print the routes as JSON.")
@with_fn_client
def routes_list(client: FnClient, /, app: str, as_json: bool) -> None:
    """List the routes of APP."""
    found = client.json("GET", f"{_app(app)}/routes")["routes"]
    if found or as_json:
        show(found, as_json, lambda items: "\n".join(map(_route_line, items)))


def _route_line(item: Json) -> str:
    return f"{item['path']}\t{item['image']}\t{item['type']}\t{item['format']}"


@routes.command("inspect")
@click.argument("app")
@click.argument("path")
@json_option("Print it as JSON (as it is printed anyway).")
@with_fn_client
def routes_inspect(client: FnClient, /, app: str, path: str, as_json: bool) -> None:
    """Print route PATH of APP as JSON."""
    show(client.json("GET", f"{_app(app)}/routes{_route(path)}")["route"], as_json)


@routes.command("delete")
@click.argument("app")
@click.argument("path")
@with_fn_client
def routes_delete(client: FnClient, /, app: str, path: str) -> None:
    """Delete route PATH of APP."""
    client.json("DELETE", f"{_app(app)}/routes{_route(path)}")
    click.echo(f"Route {path} deleted")


for command in v2_commands.COMMANDS:
    fn.add_command(command)
