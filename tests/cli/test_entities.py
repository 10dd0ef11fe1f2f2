"""Triggers, rules and packages on the client side: curl lines, bodies, rows, option parsing."""

from __future__ import annotations

import base64
import itertools
import shlex
from typing import Any

import pytest
from click.testing import CliRunner

from sluice.cli.client import EntityName
from sluice.cli.curl import (
    action_curl,
    basic_auth,
    curl_command,
    trigger_curl,
    trigger_url,
    web_auth_headers,
)
from sluice.cli.main import main
from sluice.cli.packages import binding_body, package_body, package_row, shared_flag
from sluice.cli.rules import rule_body, rule_row
from sluice.cli.triggers import entity_body, trigger_body, trigger_row, trigger_status

HOST = "http://127.0.0.1:3233"
AUTH = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4V"
TOKEN = base64.b64encode(AUTH.encode()).decode()
UPDATED = 1795419064138


def record(
    namespace: str = "guest", name: str = "my-worker", notes: dict[str, Any] | None = None
) -> Any:
    return {
        "namespace": namespace,
        "name": name,
        "version": "0.0.1",
        "annotations": [{"key": k, "value": v} for k, v in (notes or {}).items()],
        "updated": UPDATED,
    }


def header_of(line: str, name: str) -> str | None:
    """The value of `-H 'name: value'` in a curl line, as the shell hands it to curl."""
    words = shlex.split(line)
    for flag, value in itertools.pairwise(words):
        if flag == "-H" and value.startswith(f"{name}: "):
            return value.removeprefix(f"{name}: ")
    return None


# Curl lines --------------------------------------------------------------------------------------
def test_basic_auth_is_the_base64_of_the_whole_key() -> None:
    assert basic_auth("u:k") == "Basic dTpr"
    assert basic_auth(AUTH) == f"Basic {TOKEN}"


def test_trigger_curl_lines() -> None:
    url = f"{HOST}/api/v1/namespaces/guest/triggers/my-worker-trigger"
    assert trigger_curl(HOST, AUTH, record(name="my-worker-trigger")) == [
        url,
        f"curl -X POST {url} -H 'Authorization: Basic {TOKEN}'",
        f"curl -X POST {url} -H 'Authorization: Basic {TOKEN}' "
        "-H 'Content-Type: application/json' -d '{}'",
    ]


def test_trigger_url_quotes_odd_names() -> None:
    assert trigger_url(HOST, record(name="a b")) == (
        f"{HOST}/api/v1/namespaces/guest/triggers/a%20b"
    )


def test_web_action_curl_with_a_secret() -> None:
    secret = 'it\'s "quoted" & $spaced'
    web = record(notes={"web-export": True, "require-whisk-auth": secret})
    url, plain, with_body = action_curl(HOST, AUTH, web)
    assert url == f"{HOST}/api/v1/web/guest/default/my-worker.json"
    assert shlex.split(plain) == ["curl", url, "-H", f"X-Require-Whisk-Auth: {secret}"]
    assert header_of(with_body, "X-Require-Whisk-Auth") == secret
    assert shlex.split(with_body)[1:3] == ["-X", "POST"]
    assert shlex.split(with_body)[-2:] == ["-d", "{}"]
    assert header_of(plain, "Authorization") is None


def test_web_action_curl_with_the_namespace_key() -> None:
    web = record(namespace="guest/pkg", notes={"web-export": True, "require-whisk-auth": True})
    url, plain, _ = action_curl(HOST, AUTH, web)
    assert url == f"{HOST}/api/v1/web/guest/pkg/my-worker.json"
    assert header_of(plain, "Authorization") == f"Basic {TOKEN}"
    assert header_of(plain, "X-Require-Whisk-Auth") is None


@pytest.mark.parametrize(
    ("required", "headers"),
    [
        (None, []),
        (False, []),
        (True, [("Authorization", f"Basic {TOKEN}")]),
        ("s3cret", [("X-Require-Whisk-Auth", "s3cret")]),
        (42, [("X-Require-Whisk-Auth", "42")]),
    ],
)
def test_web_auth_headers(required: Any, headers: list[tuple[str, str]]) -> None:
    notes = {} if required is None else {"require-whisk-auth": required}
    assert web_auth_headers(record(notes={"web-export": True, **notes}), AUTH) == headers


def test_open_web_action_curl_has_no_auth() -> None:
    _, plain, _ = action_curl(HOST, AUTH, record(notes={"web-export": True}))
    assert plain == f"curl {HOST}/api/v1/web/guest/default/my-worker.json"


def test_other_actions_get_a_non_blocking_invoke() -> None:
    for plain_record in (record(), record(notes={"web-export": False})):
        url, plain, _ = action_curl(HOST, AUTH, plain_record)
        assert url == f"{HOST}/api/v1/namespaces/guest/actions/my-worker"
        assert plain == f"curl -X POST {url} -H 'Authorization: Basic {TOKEN}'"
    url, _, _ = action_curl(HOST, AUTH, record(namespace="guest/pkg"))
    assert url == f"{HOST}/api/v1/namespaces/guest/actions/pkg/my-worker"


def test_curl_command_without_method_or_headers() -> None:
    assert curl_command("http://h/x?a=1&b=2") == "curl 'http://h/x?a=1&b=2'"


# Trigger bodies and rows -------------------------------------------------------------------------
def test_entity_body_sends_only_what_was_given() -> None:
    assert entity_body() == {}
    assert entity_body([("n", "1")], None, [("note", '"x"')]) == {
        "parameters": [{"key": "n", "value": 1}],
        "annotations": [{"key": "note", "value": "x"}],
    }


def test_trigger_body_with_a_feed_keeps_the_parameters_for_the_feed() -> None:
    params = [("cron", "* * * * *")]
    assert trigger_body(params, None, [], None) == {
        "parameters": [{"key": "cron", "value": "* * * * *"}]
    }
    assert trigger_body(params, None, [("a", "b")], "/whisk.system/alarms/alarm") == {
        "annotations": [
            {"key": "a", "value": "b"},
            {"key": "feed", "value": "/whisk.system/alarms/alarm"},
        ]
    }


def test_trigger_status_counts_active_rules() -> None:
    assert trigger_status({}) == "inactive"
    rules = {
        "guest/r1": {"action": {"path": "guest", "name": "a"}, "status": "active"},
        "guest/r2": {"action": {"path": "guest", "name": "a"}, "status": "inactive"},
        "guest/r3": {"action": {"path": "guest", "name": "b"}, "status": "active"},
    }
    assert trigger_status({"rules": rules}) == "2 active"
    assert trigger_status({"rules": {"guest/r2": rules["guest/r2"]}}) == "inactive"


def test_trigger_row() -> None:
    row = trigger_row({**record(name="t"), "rules": {"guest/r": {"status": "active"}}}, "guest/")
    assert row[1:] == ["1 active", "0.0.1", "t"]
    assert trigger_row(record(namespace="other", name="t"), "guest/")[3] == "other/t"


# Rules -------------------------------------------------------------------------------------------
def test_rule_body_names_are_fully_qualified() -> None:
    body = rule_body(EntityName.parse("t"), EntityName.parse("pkg/a"), "guest")
    assert body == {"trigger": "/guest/t", "action": "/guest/pkg/a"}
    body = rule_body(EntityName.parse("/other/t"), EntityName.parse("/other/a"), "_")
    assert body == {"trigger": "/other/t", "action": "/other/a"}
    assert rule_body(EntityName.parse("t"), EntityName.parse("a"), "_")["trigger"] == "/_/t"


def test_rule_row() -> None:
    assert rule_row({**record(name="r"), "status": "inactive"}, "guest/")[1:] == [
        "inactive",
        "0.0.1",
        "r",
    ]
    assert rule_row(record(name="r"), "guest/")[1] == "--"


# Packages ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shared", "publish"),
    [(None, None), ("yes", True), ("YES", True), ("true", True), ("no", False), ("false", False)],
)
def test_shared_flag(shared: str | None, publish: bool | None) -> None:
    assert shared_flag(shared) is publish


def test_package_body() -> None:
    assert package_body((), None, (), None) == {}
    assert package_body((("color", "red"),), None, (), "yes") == {
        "parameters": [{"key": "color", "value": "red"}],
        "publish": True,
    }


def test_binding_body() -> None:
    assert binding_body(EntityName.parse("/whisk.system/alarms"), "guest") == {
        "binding": {"namespace": "whisk.system", "name": "alarms"}
    }
    assert binding_body(EntityName.parse("colors"), "guest", (("color", "blue"),)) == {
        "parameters": [{"key": "color", "value": "blue"}],
        "binding": {"namespace": "guest", "name": "colors"},
    }


def test_package_rows() -> None:
    shared = {**record(name="colors"), "publish": True, "binding": False}
    assert package_row(shared, "guest/")[1:] == ["shared", "package", "0.0.1", "colors"]
    binding = {
        **record(name="blue"),
        "publish": False,
        "binding": {"namespace": "guest", "name": "colors"},
    }
    assert package_row(binding, "guest/")[1:] == ["private", "binding", "0.0.1", "blue"]


# Option parsing (stops before any request) -------------------------------------------------------
def run(*args: str) -> Any:
    """The `sluice` group with a key and a host nothing listens on."""
    return CliRunner().invoke(main, ["--apihost", "http://127.0.0.1:9", "--auth", "u:k", *args])


@pytest.mark.parametrize(
    "args",
    [
        ("trigger", "get", "pkg/t"),
        ("trigger", "create", "/guest"),
        ("rule", "create", "r", "pkg/t", "a"),
        ("rule", "status", "guest/pkg/r"),
        ("package", "get", "a/b"),
        ("package", "bind", "a/b", "c"),
    ],
)
def test_names_that_cannot_be_triggers_rules_or_packages(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert "Invalid value for" in result.stderr


def test_bad_feed_name_stops_before_the_trigger_is_created() -> None:
    result = run("trigger", "create", "t", "--feed", "/whisk.system")
    assert result.exit_code == 2
    assert "Invalid value for '--feed'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("package", "create", "p", "--shared", "maybe"), "Invalid value for '--shared'"),
        (("trigger", "update", "t", "--feed", "x"), "No such option '--feed'"),
        (("trigger", "create", "t", "-p", "only-key"), "'-p' requires 2 arguments"),
        (("rule", "create", "r", "t"), "Missing argument 'ACTION'"),
        (("package", "bind", "colors"), "Missing argument 'BINDING_NAME'"),
    ],
)
def test_usage_errors(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_unreachable_server_is_reported_for_the_new_commands() -> None:
    for args in (("trigger", "fire", "t"), ("rule", "enable", "r"), ("package", "list")):
        result = run(*args)
        assert result.exit_code == 3
        assert result.stderr.startswith("error: cannot reach Sluice at http://127.0.0.1:9")
