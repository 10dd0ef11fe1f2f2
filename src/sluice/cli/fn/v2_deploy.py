"""`fn deploy` of today's func.yaml: the app made if missing, the function created or
updated through Fn's v2 API, then its func.yaml triggers created or moved."""

from __future__ import annotations

import click

from sluice.cli.client import ClientError
from sluice.cli.fn.client import FnClient, Json
from sluice.cli.fn.funcyaml import FuncFile
from sluice.cli.fn.v2_commands import HTTP_ENDPOINT, find_app, items

#: route fields v2 does not take (headers are v1's; the path is the function's name)
_NOT_V2 = ("path", "headers")


def _app(client: FnClient, name: str) -> Json:
    try:
        return find_app(client, name)
    except click.ClickException:
        return client.json("POST", "/v2/apps", body={"name": name})


def deploy(client: FnClient, app_name: str, func: FuncFile, route: Json) -> None:
    app = _app(client, app_name)
    body = {k: v for k, v in route.items() if k not in _NOT_V2}
    body.update(name=func.name, app_id=app["id"])
    found = [f for f in items(client, "/v2/fns", app_id=app["id"], name=func.name)]
    image = body["image"]
    if found:
        click.echo(f"Updating function {func.name} using image {image}...")
        made = client.json("PUT", f"/v2/fns/{found[0]['id']}", body=body)
    else:
        made = client.json("POST", "/v2/fns", body=body)
        click.echo(f"Successfully created function: {func.name} with {image}")
    for trigger in func.triggers:
        _trigger(client, made, trigger)


def _trigger(client: FnClient, fn: Json, wanted: dict[str, str]) -> None:
    params = {"app_id": fn["app_id"], "fn_id": fn["id"], "name": wanted["name"]}
    existing = items(client, "/v2/triggers", **params)
    try:
        if not existing:
            body = {**wanted, "app_id": fn["app_id"], "fn_id": fn["id"]}
            made = client.json("POST", "/v2/triggers", body=body)
            click.echo(f"Successfully created trigger: {made['name']}")
        elif existing[0]["source"] != wanted["source"]:
            made = client.json(
                "PUT", f"/v2/triggers/{existing[0]['id']}", body={"source": wanted["source"]}
            )
        else:
            made = existing[0]
    except ClientError as exc:
        raise ClientError(exc.status, f"trigger {wanted['name']}: {exc}") from exc
    click.echo(f"Trigger Endpoint: {(made.get('annotations') or {}).get(HTTP_ENDPOINT)}")
