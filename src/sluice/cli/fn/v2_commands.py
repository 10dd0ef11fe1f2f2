"""`sluice fn list|inspect|invoke|config|create|delete`: today's `fn` CLI commands over Fn's
v2 API (apps, fns and triggers found by name, as the real CLI finds them)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from sluice.cli.fn.client import FnClient, Json
from sluice.cli.fn.session import with_fn_client
from sluice.cli.output import CommandError, json_option, print_json

INVOKE_ENDPOINT = "fnproject.io/fn/invokeEndpoint"
HTTP_ENDPOINT = "fnproject.io/trigger/httpEndpoint"
_TAB_WIDTH = 8


def tab_table(rows: list[list[str]]) -> str:
    """Columns as Go's tabwriter pads them with tabs (the `fn` CLI's tables): each cell but
    a line's last is followed by the tabs that reach its column's width (text + 1, rounded up
    to a multiple of 8)."""
    columns = max((len(r) for r in rows), default=0) - 1
    widths = [max(len(r[i]) for r in rows if len(r) > i + 1) + 1 for i in range(columns)]
    widths = [-(-w // _TAB_WIDTH) * _TAB_WIDTH for w in widths]
    lines = []
    for row in rows:
        cells = [
            cell + "\t" * -(-(widths[i] - len(cell)) // _TAB_WIDTH) if i < len(row) - 1 else cell
            for i, cell in enumerate(row)
        ]
        lines.append("".join(cells))
    return "\n".join(lines)


def items(client: FnClient, path: str, **params: str) -> list[Json]:
    """Every item of a v2 list, page after page."""
    items: list[Json] = []
    cursor = ""
    while True:
        page = client.json("GET", path, params={**params, "cursor": cursor, "per_page": 100})
        items += page.get("items") or []
        cursor = page.get("next_cursor") or ""
        if not cursor:
            return items


def find_app(client: FnClient, name: str) -> Json:
    for app in items(client, "/v2/apps", name=name):
        if app.get("name") == name:
            return app
    raise CommandError(f"app {name} not found")


def find_fn(client: FnClient, app: str, name: str) -> Json:
    app_id = find_app(client, app)["id"]
    for found in items(client, "/v2/fns", app_id=app_id, name=name):
        if found.get("name") == name:
            return found
    raise CommandError(f"function {name} not found")


def find_trigger(client: FnClient, app: str, fn: str, name: str) -> Json:
    found_fn = find_fn(client, app, fn)
    params = {"app_id": found_fn["app_id"], "fn_id": found_fn["id"], "name": name}
    for found in items(client, "/v2/triggers", **params):
        if found.get("name") == name:
            return found
    raise CommandError(f"trigger {name} not found")


def _property(value: Json, prop: str | None) -> Any:
    """`prop` (a dotted path such as annotations.x) of an object, or the object."""
    found: Any = value
    for key in (prop or "").split(".") if prop else []:
        if not isinstance(found, dict) or key not in found:
            raise CommandError(f"no property {prop}")
        found = found[key]
    return found


def _print(value: Any, as_json: bool = False) -> None:
    """A string as it is (a property such as an endpoint), else JSON; JSON alone with --json."""
    if isinstance(value, str) and not as_json:
        click.echo(value)
    else:
        print_json(value)


@click.group("list")
def list_() -> None:
    """List apps, functions or triggers."""


@list_.command("apps")
@json_option("Print the apps as JSON.")
@with_fn_client
def list_apps(client: FnClient, /, as_json: bool) -> None:
    """List apps."""
    apps = items(client, "/v2/apps")
    if as_json:
        print_json(apps)
        return
    if not apps:
        click.echo("No apps found", err=True)
        return
    click.echo(tab_table([["NAME", "ID", ""], *([a["name"], a["id"], ""] for a in apps)]))


@list_.command("fns")
@click.argument("app")
@json_option("Print the functions as JSON.")
@with_fn_client
def list_fns(client: FnClient, /, app: str, as_json: bool) -> None:
    """List the functions of APP."""
    fns = items(client, "/v2/fns", app_id=find_app(client, app)["id"])
    if as_json:
        print_json(fns)
        return
    if not fns:
        click.echo(f"No functions found for app: {app}", err=True)
        return
    rows = [["NAME", "IMAGE", "ID"], *([f["name"], f["image"], f["id"]] for f in fns)]
    click.echo(tab_table(rows))


@list_.command("triggers")
@click.argument("app")
@click.argument("function", required=False)
@json_option("Print the triggers as JSON.")
@with_fn_client
def list_triggers(client: FnClient, /, app: str, function: str | None, as_json: bool) -> None:
    """List the triggers of APP (or of its FUNCTION)."""
    app_id = find_app(client, app)["id"]
    params = {"app_id": app_id}
    if function:
        params["fn_id"] = find_fn(client, app, function)["id"]
    triggers = items(client, "/v2/triggers", **params)
    if as_json:
        print_json(triggers)
        return
    if not triggers:
        click.echo(f"No triggers found for app: {app}", err=True)
        return
    names = {f["id"]: f["name"] for f in items(client, "/v2/fns", app_id=app_id)}
    head = ["NAME", "ID", "TYPE", "SOURCE", "ENDPOINT"]
    rows = []
    for t in triggers:
        endpoint = (t.get("annotations") or {}).get(HTTP_ENDPOINT, "")
        row = [t["name"], t["id"], t["type"], t["source"], endpoint]
        rows.append(row if function else [names.get(t["fn_id"], ""), *row])
    click.echo(tab_table([head if function else ["FUNCTION", *head], *rows]))


@click.group("inspect")
def inspect() -> None:
    """Print an app, function or trigger as JSON."""


@inspect.command("app")
@click.argument("app")
@click.argument("prop", required=False)
@json_option("Print it as JSON (a string property too).")
@with_fn_client
def inspect_app(client: FnClient, /, app: str, prop: str | None, as_json: bool) -> None:
    """Print APP (or its property PROP, e.g. config)."""
    _print(_property(find_app(client, app), prop), as_json)


@inspect.command("fn")
@click.argument("app")
@click.argument("function")
@click.argument("prop", required=False)
@click.option("--endpoint", is_flag=True, help="Print the function's invoke endpoint.")
@json_option("Print it as JSON (a string property or the endpoint too).")
@with_fn_client
def inspect_fn(
    client: FnClient,
    /,
    app: str,
    function: str,
    prop: str | None,
    endpoint: bool,
    as_json: bool,
) -> None:
    """Print FUNCTION of APP (or its property PROP)."""
    found = find_fn(client, app, function)
    if endpoint:
        _print((found.get("annotations") or {}).get(INVOKE_ENDPOINT, ""), as_json)
        return
    _print(_property(found, prop), as_json)


@inspect.command("trigger")
@click.argument("app")
@click.argument("function")
@click.argument("trigger")
@click.argument("prop", required=False)
@click.option("--endpoint", is_flag=True, help="Print the trigger's URL.")
@json_option("Print it as JSON (a string property or the endpoint too).")
@with_fn_client
def inspect_trigger(
    client: FnClient,
    /,
    app: str,
    function: str,
    trigger: str,
    prop: str | None,
    endpoint: bool,
    as_json: bool,
) -> None:
    """Print TRIGGER of FUNCTION of APP (or its property PROP)."""
    found = find_trigger(client, app, function, trigger)
    if endpoint:
        _print((found.get("annotations") or {}).get(HTTP_ENDPOINT, ""), as_json)
        return
    _print(_property(found, prop), as_json)


@click.command("invoke")
@click.argument("args", nargs=-1, metavar="[detached] APP FUNCTION")
@click.option("--content-type", help="The body's Content-Type (default text/plain).")
@click.option("--display-call-id", is_flag=True, help="Print `Call ID: <id>` first.")
@click.option(
    "--fn-invoke-type",
    type=click.Choice(["sync", "detached"]),
    help="detached: answer at once; the call runs and is kept (see `fn calls`).",
)
@click.option("--endpoint", help="Invoke this URL instead of looking the function up.")
@with_fn_client
def invoke(
    client: FnClient,
    /,
    args: tuple[str, ...],
    content_type: str | None,
    display_call_id: bool,
    fn_invoke_type: str | None,
    endpoint: str | None,
) -> None:
    """Invoke FUNCTION of APP with stdin as the body; print its answer."""
    names = list(args)
    if names and names[0] == "detached":
        fn_invoke_type, names = "detached", names[1:]
    if not endpoint:
        if len(names) != 2:
            raise click.UsageError("missing app and function name")
        found = find_fn(client, *names)
        endpoint = (found.get("annotations") or {}).get(INVOKE_ENDPOINT)
        if not endpoint:
            raise CommandError(f"function {names[1]} has no invoke endpoint")
    body = b"" if sys.stdin.isatty() else sys.stdin.buffer.read()
    headers = {"content-type": content_type or "text/plain"}
    if fn_invoke_type:
        headers["fn-invoke-type"] = fn_invoke_type
    response = client.send("POST", endpoint, content=body, headers=headers)
    if display_call_id and response.headers.get("fn-call-id"):
        click.echo(f"Call ID: {response.headers['fn-call-id']}")
    if response.status_code >= 400:
        try:
            message = response.json().get("message")
        except (ValueError, AttributeError):
            message = None
        if message:
            click.echo(
                f"Error invoking function. status: {response.status_code} message: {message}"
            )
            sys.exit(1)
    text = response.text
    if text:
        click.echo(text, nl=not text.endswith("\n"))


@click.group("config")
def config() -> None:
    """Set a configuration value (an env var) of an app or a function."""


@config.command("app")
@click.argument("app")
@click.argument("key")
@click.argument("value")
@with_fn_client
def config_app(client: FnClient, /, app: str, key: str, value: str) -> None:
    """Set KEY to VALUE in APP's config (its functions' environment)."""
    found = find_app(client, app)
    client.json("PUT", f"/v2/apps/{found['id']}", body={"config": {key: value}})
    click.echo(f"{app} updated {key} with {value}")


@config.command("fn")
@click.argument("app")
@click.argument("function")
@click.argument("key")
@click.argument("value")
@with_fn_client
def config_fn(client: FnClient, /, app: str, function: str, key: str, value: str) -> None:
    """Set KEY to VALUE in FUNCTION's config."""
    found = find_fn(client, app, function)
    client.json("PUT", f"/v2/fns/{found['id']}", body={"config": {key: value}})
    click.echo(f"{app} {function} updated {key} with {value}")


@click.group("create")
def create() -> None:
    """Create an app or a trigger (functions: `fn deploy`)."""


@create.command("app")
@click.argument("app")
@click.option("--config", multiple=True, metavar="KEY=VALUE", help="App config.")
@click.option("--annotation", multiple=True, metavar="KEY=VALUE", help="JSON values.")
@with_fn_client
def create_app(
    client: FnClient, /, app: str, config: tuple[str, ...], annotation: tuple[str, ...]
) -> None:
    """Create APP."""
    body: Json = {"name": app, "config": dict(i.partition("=")[::2] for i in config)}
    if annotation:
        body["annotations"] = {k: _json_value(v) for k, _, v in map(_pair, annotation)}
    found = client.json("POST", "/v2/apps", body=body)
    click.echo(f"Successfully created app:  {found['name']}")


@create.command("trigger")
@click.argument("app")
@click.argument("function")
@click.argument("trigger")
@click.option("--type", "type_", default="http", show_default=True)
@click.option("--source", help="The trigger's path (default: /TRIGGER).")
@with_fn_client
def create_trigger(
    client: FnClient, /, app: str, function: str, trigger: str, type_: str, source: str | None
) -> None:
    """Create the http trigger TRIGGER of FUNCTION: it answers at /t/APP/SOURCE."""
    found = find_fn(client, app, function)
    body = {
        "name": trigger,
        "app_id": found["app_id"],
        "fn_id": found["id"],
        "type": type_,
        "source": source or f"/{trigger}",
    }
    made = client.json("POST", "/v2/triggers", body=body)
    click.echo(f"Successfully created trigger: {made['name']}")
    click.echo(f"Trigger Endpoint: {(made.get('annotations') or {}).get(HTTP_ENDPOINT)}")


@click.group("delete")
def delete() -> None:
    """Delete an app (with its functions), a function or a trigger."""


@delete.command("app")
@click.argument("app")
@with_fn_client
def delete_app(client: FnClient, /, app: str) -> None:
    """Delete APP, its functions and their triggers."""
    client.request("DELETE", f"/v2/apps/{find_app(client, app)['id']}")
    click.echo(f"App {app} deleted")


@delete.command("fn")
@click.argument("app")
@click.argument("function")
@with_fn_client
def delete_fn(client: FnClient, /, app: str, function: str) -> None:
    """Delete FUNCTION of APP and its triggers."""
    client.request("DELETE", f"/v2/fns/{find_fn(client, app, function)['id']}")
    click.echo(f"Function {function} deleted")


@delete.command("trigger")
@click.argument("app")
@click.argument("function")
@click.argument("trigger")
@with_fn_client
def delete_trigger(client: FnClient, /, app: str, function: str, trigger: str) -> None:
    """Delete TRIGGER of FUNCTION of APP."""
    found = find_trigger(client, app, function, trigger)
    client.request("DELETE", f"/v2/triggers/{found['id']}")
    click.echo(f"{app} {function} {trigger} deleted")


COMMANDS = [list_, inspect, invoke, config, create, delete]


def _pair(text: str) -> tuple[str, str, str]:
    return text.partition("=")


def _json_value(text: str) -> Any:
    """An annotation's value: JSON when it parses, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text
