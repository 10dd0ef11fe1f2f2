"""`sluice action ...`: create, update, get, list, delete and invoke (like `aio rt:action`)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import orjson

from sluice.cli.client import EntityName, Json, SluiceClient
from sluice.cli.curl import action_curl, action_url
from sluice.cli.output import (
    CommandError,
    F,
    annotation,
    entity_name,
    format_datetime,
    json_option,
    list_options,
    note,
    print_count,
    print_json,
    print_listing,
    show,
    with_client,
)
from sluice.cli.progress import working

Pair = tuple[str, str]

KINDS_BY_EXTENSION = {".js": "nodejs:default", ".py": "python:default"}
WEB_CHOICES = ("true", "yes", "false", "no", "raw")


# Parameters and annotations ----------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A `-p`/`-a` value: JSON when it parses as JSON, else the text itself."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def parse_pairs(pairs: Iterable[Pair]) -> dict[str, Any]:
    """`-p KEY VALUE` pairs as a dict; a later KEY wins."""
    return {key: parse_value(value) for key, value in pairs}


def load_param_file(path: Path | None) -> dict[str, Any]:
    """The JSON object in a `-P file.json`, or nothing."""
    if path is None:
        return {}
    try:
        value = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="'-P'") from exc
    if not isinstance(value, dict):
        raise click.BadParameter(f"{path} does not hold a JSON object", param_hint="'-P'")
    return value


def invoke_params(pairs: Iterable[Pair], param_file: Path | None) -> dict[str, Any]:
    """The file's parameters overlaid by the `-p` ones."""
    return {**load_param_file(param_file), **parse_pairs(pairs)}


def key_values(values: dict[str, Any], init: bool = False) -> list[Json]:
    """OpenWhisk's `[{"key": ..., "value": ...}]`, with `"init": true` for `--env` ones."""
    extra = {"init": True} if init else {}
    return [{"key": key, "value": value, **extra} for key, value in values.items()]


def web_annotations(web: str | None, secure: str | None) -> list[Json]:
    """What `--web` and `--web-secure` add, in aio's order."""
    found: list[Json] = []
    if web is not None:
        exported = web.lower() != "false" and web.lower() != "no"
        found.append({"key": "web-export", "value": exported})
        if web.lower() == "raw":
            found.append({"key": "raw-http", "value": True})
        if exported:
            found.append({"key": "final", "value": True})
    if secure is not None:
        flag = {"true": True, "false": False}.get(secure.lower(), secure)
        found.append({"key": "require-whisk-auth", "value": flag})
    return found


# The action body ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActionOptions:
    """The options `create` and `update` share, as click hands them over."""

    kind: str | None = None
    main: str | None = None
    timeout: int | None = None
    memory: int | None = None
    logs: int | None = None
    concurrency: int | None = None
    params: tuple[Pair, ...] = ()
    param_file: Path | None = None
    env: tuple[Pair, ...] = ()
    annotations: tuple[Pair, ...] = ()
    web: str | None = None
    web_secure: str | None = None
    as_json: bool = False


def read_exec(file: Path, kind: str | None, main: str | None) -> Json:
    """`exec` from a source file (kind from its extension) or a zip (base64, needs --kind)."""
    extension = file.suffix.lower()
    if extension == ".zip":
        if not kind:
            raise click.UsageError("an action from a .zip needs its kind: give --kind")
        code = base64.b64encode(file.read_bytes()).decode("ascii")
    else:
        kind = kind or KINDS_BY_EXTENSION.get(extension)
        if not kind:
            raise click.UsageError(f"cannot tell the kind of {file.name}: give --kind")
        try:
            code = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise click.UsageError(f"{file.name} is not UTF-8 text; zip it instead") from exc
    found: Json = {"kind": kind, "code": code}
    if main:
        found["main"] = main
    return found


def action_body(name: EntityName, file: Path | None, options: ActionOptions) -> Json:
    """The PUT body: only what was given (an update merges it into the stored action)."""
    body: Json = {"name": name.path}
    if file is not None:
        body["exec"] = read_exec(file, options.kind, options.main)
    elif options.kind or options.main:
        raise click.UsageError("--kind and --main need the action's FILE")
    limits = {
        key: value
        for key, value in (
            ("timeout", options.timeout),
            ("memory", options.memory),
            ("logs", options.logs),
            ("concurrency", options.concurrency),
        )
        if value is not None
    }
    if limits:
        body["limits"] = limits
    parameters = key_values(invoke_params(options.params, options.param_file)) + key_values(
        parse_pairs(options.env), init=True
    )
    if parameters:
        body["parameters"] = parameters
    annotations = key_values(parse_pairs(options.annotations)) + web_annotations(
        options.web, options.web_secure
    )
    if annotations:
        body["annotations"] = annotations
    return body


# Shared click options ----------------------------------------------------------------------------
def param_options(fn: F) -> F:
    """`-p KEY VALUE` (repeatable) and `-P file.json`."""
    fn = click.option(
        "-P",
        "--param-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A JSON object of parameters (-p ones win).",
    )(fn)
    return click.option(
        "-p",
        "--param",
        "params",
        nargs=2,
        multiple=True,
        metavar="KEY VALUE",
        help="A parameter; VALUE is JSON if it parses, else a string. Repeatable.",
    )(fn)


def action_options(fn: F) -> F:
    """Everything `create` and `update` accept besides NAME and FILE."""
    options = [
        click.option(
            "--kind", help="Runtime kind, e.g. nodejs:20 (default: from FILE's extension)."
        ),
        click.option("--main", help="Entry point (default: main)."),
        click.option("-t", "--timeout", type=click.IntRange(min=1), help="Time limit, ms."),
        click.option("-m", "--memory", type=click.IntRange(min=1), help="Memory limit, MB."),
        click.option("-l", "--logs", type=click.IntRange(min=0), help="Log size limit, MB."),
        click.option("-c", "--concurrency", type=click.IntRange(min=1), help="Calls at once."),
        param_options,
        click.option(
            "--env",
            nargs=2,
            multiple=True,
            metavar="KEY VALUE",
            help="An init parameter (environment of the function). Repeatable.",
        ),
        click.option(
            "-a",
            "--annotation",
            "annotations",
            nargs=2,
            multiple=True,
            metavar="KEY VALUE",
            help="An annotation; VALUE is JSON if it parses. Repeatable.",
        ),
        click.option(
            "--web",
            type=click.Choice(WEB_CHOICES, case_sensitive=False),
            help="Make it a web action (raw: raw HTTP), or not.",
        ),
        click.option("--web-secure", metavar="SECRET", help="Secret web callers must send."),
        json_option("Print the stored action."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def put_action(
    client: SluiceClient,
    name: EntityName,
    file: Path | None,
    options: ActionOptions,
    overwrite: bool,
) -> None:
    body = action_body(name, file, options)
    # the server builds at the put (a zip's dependencies, a Go binary): it may take a while
    with working(f"{'updating' if overwrite else 'creating'} action {name.path}"):
        stored = client.put_action(name, body, overwrite)
    if options.as_json:
        print_json(stored)


# Commands ----------------------------------------------------------------------------------------
@click.group("action")
def action() -> None:
    """Create, update, get, list, delete and invoke actions."""


_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@action.command("create")
@click.argument("name", callback=entity_name)
@click.argument("file", type=_FILE)
@action_options
@with_client
def create(client: SluiceClient, /, name: EntityName, file: Path, **options: Any) -> None:
    """Create action NAME from FILE (.js, .py, or .zip with --kind)."""
    put_action(client, name, file, ActionOptions(**options), overwrite=False)


@action.command("update")
@click.argument("name", callback=entity_name)
@click.argument("file", type=_FILE, required=False)
@action_options
@with_client
def update(client: SluiceClient, /, name: EntityName, file: Path | None, **options: Any) -> None:
    """Update action NAME: what is given replaces, the rest is kept."""
    put_action(client, name, file, ActionOptions(**options), overwrite=True)


@action.command("get")
@click.argument("name", callback=entity_name)
@click.option("--code", is_flag=True, help="Print the action's code only.")
@click.option("--url", is_flag=True, help="Print the action's web or API URL only.")
@click.option("--curl", is_flag=True, help="Print its URL and curl lines calling it.")
@json_option("Print it as JSON (with --code: {code}; --url: {url}; --curl: {curl: [lines]}).")
@with_client
def get(
    client: SluiceClient, /, name: EntityName, code: bool, url: bool, curl: bool, as_json: bool
) -> None:
    """Print action NAME (without its code)."""
    record = client.get_action(name, code=code)
    if code:
        show({"code": action_code(record)}, as_json, lambda v: v["code"])
    elif url:
        show({"url": action_url(client.config.apihost, record)}, as_json, lambda v: v["url"])
    elif curl:
        lines = action_curl(client.config.apihost, client.config.auth, record)
        show({"curl": lines}, as_json, lambda v: "\n".join(v["curl"]))
    else:
        show(record, as_json)


def action_code(record: Json) -> str:
    exec_ = record.get("exec") or {}
    if exec_.get("binary"):
        raise CommandError("the action's code is binary (a zip): not printed")
    return str(exec_.get("code", ""))


@action.command("list")
@list_options("actions")
@with_client
def list_(
    client: SluiceClient, /, limit: int | None, skip: int | None, count: bool, as_json: bool
) -> None:
    """List actions, newest first."""
    if count:
        print_count(client.count_actions(), "actions", as_json)
        return
    own = f"{client.config.namespace}/"
    found = client.list_actions(limit, skip)
    print_listing(found, as_json, ACTION_COLUMNS, lambda item: action_row(item, own))


ACTION_COLUMNS = ("Datetime", "Access", "Kind", "Version", "Actions")


def action_row(item: Json, own_prefix: str) -> list[str]:
    """One row of `action list`: the entity path loses the caller's own namespace."""
    secured = annotation(item, "require-whisk-auth") not in (None, False)
    if annotation(item, "web-export", False) is True:
        access = "web (secured)" if secured else "web"
    else:
        access = "private"
    path = f"{item.get('namespace', '')}/{item.get('name', '')}"
    return [
        format_datetime(item.get("updated")),
        access,
        str(annotation(item, "exec") or (item.get("exec") or {}).get("kind") or "--"),
        str(item.get("version", "")),
        path.removeprefix(own_prefix),
    ]


@action.command("delete")
@click.argument("name", callback=entity_name)
@json_option("Print the deleted action.")
@with_client
def delete(client: SluiceClient, /, name: EntityName, as_json: bool) -> None:
    """Delete action NAME."""
    deleted = client.delete_action(name)
    if as_json:
        print_json(deleted)


@action.command("invoke")
@click.argument("name", callback=entity_name)
@param_options
@click.option("-b", "--blocking", is_flag=True, help="Wait for the activation and print it.")
@click.option("-r", "--result", is_flag=True, help="Wait and print only the result.")
@with_client
def invoke(
    client: SluiceClient,
    /,
    name: EntityName,
    params: tuple[Pair, ...],
    param_file: Path | None,
    blocking: bool,
    result: bool,
) -> None:
    """Invoke action NAME; without --blocking print the activation id at once."""
    waits = blocking or result
    with working(f"running {name.path}") if waits else nullcontext():
        invoked = client.invoke(name, invoke_params(params, param_file), waits)
    if not invoked.finished and (blocking or result):
        activation_id = invoked.body["activationId"]
        print_json(invoked.body)
        note(
            f"still running after the server's wait; "
            f"use `sluice activation get {activation_id} --wait` to wait for it"
        )
    elif result:
        print_json((invoked.body.get("response") or {}).get("result"))
    else:
        print_json(invoked.body)
