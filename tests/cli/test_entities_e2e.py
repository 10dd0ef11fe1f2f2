"""`sluice trigger`, `rule` and `package` as a user types them, against a real server; the curl
lines they print are run with the real `curl`."""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import sluice, sluice_json
from tests.support.seed import worker_with_delay
from tests.support.server import SluiceServer, wait_for

ECHO_JS = "function main(args) { return {got: args} }\n"
WORKER_RESULT = {"statusCode": 200, "body": {"payload": "Hello from the long running job!"}}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    """A server of this module alone, so that the seed's own names are free."""
    instance = SluiceServer(tmp_path_factory.mktemp("sluice-entities"))
    try:
        yield instance.start()
    finally:
        instance.close()


@pytest.fixture(scope="module")
def echo_js(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sources") / "echo.js"
    path.write_text(ECHO_JS)
    return str(path)


def run_curl(line: str) -> tuple[int, str]:
    """Run a printed curl line in a shell as it is (plus output flags): status and body."""
    assert line.startswith("curl ")
    done = subprocess.run(
        ["bash", "-c", line + " -sS -w '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def basic(srv: SluiceServer) -> str:
    return "Basic " + base64.b64encode(srv.auth.encode()).decode()


def table_row(table: str, name: str) -> list[str]:
    return next(line.split() for line in table.splitlines() if line.endswith(f" {name}"))


# The seed's Option 2 -----------------------------------------------------------------------------
def test_seed_option_2_through_the_cli(srv: SluiceServer, tmp_path: Path) -> None:
    worker = tmp_path / "worker.js"
    worker.write_text(worker_with_delay(1500))
    assert sluice(srv, "action", "create", "my-worker", str(worker), "-t", "120000").stdout == ""
    assert sluice(srv, "trigger", "create", "my-worker-trigger").stdout == ""
    rule = sluice(srv, "rule", "create", "async-rule", "my-worker-trigger", "my-worker")
    assert rule.stdout == ""

    lines = sluice(srv, "trigger", "get", "my-worker-trigger", "--curl").stdout.splitlines()
    url = f"{srv.url}/api/v1/namespaces/guest/triggers/my-worker-trigger"
    assert lines[0] == url
    assert lines[1] == f"curl -X POST {url} -H 'Authorization: {basic(srv)}'"
    assert len(lines) == 3
    status, body = run_curl(lines[1])
    assert status == 202, body
    trigger_id = json.loads(body)["activationId"]

    logs = sluice(srv, "activation", "logs", trigger_id).stdout.splitlines()
    assert len(logs) == 1
    entry = json.loads(logs[0])
    assert entry["rule"] == "guest/async-rule"
    assert entry["action"] == "guest/my-worker"
    assert entry["success"] is True
    worker_id = entry["activationId"]
    record = sluice_json(srv, "activation", "get", worker_id, "--wait")
    assert record["activationId"] == worker_id
    assert record["name"] == "my-worker"
    assert record["response"]["result"] == WORKER_RESULT
    assert record["duration"] >= 1400

    # the variant with a JSON body fires too
    status, body = run_curl(lines[2])
    assert status == 202, body
    assert len(json.loads(body)["activationId"]) == 32


def test_rule_disable_enable_and_fire(srv: SluiceServer, echo_js: str) -> None:
    sluice(srv, "action", "create", "r-echo", echo_js)
    sluice(srv, "trigger", "create", "r-trigger", "-p", "from", "trigger", "-p", "n", "1")
    sluice(srv, "rule", "create", "r-rule", "r-trigger", "r-echo")
    assert sluice(srv, "rule", "status", "r-rule").stdout == "active\n"
    assert table_row(sluice(srv, "trigger", "list").stdout, "r-trigger")[2] == "1"

    assert sluice(srv, "rule", "disable", "r-rule").stdout == ""
    assert sluice(srv, "rule", "status", "r-rule").stdout == "inactive\n"
    rules = sluice(srv, "rule", "list").stdout
    assert rules.splitlines()[0].split() == ["Datetime", "Status", "Version", "Rules"]
    assert table_row(rules, "r-rule")[2:] == ["inactive", "0.0.2", "r-rule"]
    triggers = sluice(srv, "trigger", "list").stdout
    assert triggers.splitlines()[0].split() == ["Datetime", "Status", "Version", "Trigger"]
    assert table_row(triggers, "r-trigger")[2:] == ["inactive", "0.0.1", "r-trigger"]
    not_fired = sluice(srv, "trigger", "fire", "r-trigger")
    assert not_fired.stdout == ""
    assert not_fired.stderr == "trigger r-trigger has no active rule: nothing ran\n"
    lines = sluice(srv, "trigger", "get", "r-trigger", "--curl").stdout.splitlines()
    assert run_curl(lines[1]) == (204, "")

    sluice(srv, "rule", "enable", "r-rule")
    assert table_row(sluice(srv, "trigger", "list").stdout, "r-trigger")[2:4] == ["1", "active"]
    fired = sluice_json(srv, "trigger", "fire", "r-trigger", "-p", "n", "2")
    assert list(fired) == ["activationId"]
    entry = json.loads(sluice(srv, "activation", "logs", fired["activationId"]).stdout)
    record = sluice_json(srv, "activation", "get", entry["activationId"], "--wait", "60")
    assert record["response"]["result"]["got"] == {"from": "trigger", "n": 2}

    rule = sluice_json(srv, "rule", "get", "r-rule")
    assert rule["trigger"] == {"path": "guest", "name": "r-trigger"}
    assert rule["action"] == {"path": "guest", "name": "r-echo"}
    assert rule["status"] == "active"
    assert sluice(srv, "rule", "list", "--count").stdout.startswith("You have ")
    assert "r-rule" in [item["name"] for item in sluice_json(srv, "rule", "list", "--json")]

    # point the rule at another action; delete it; the trigger stays
    sluice(srv, "action", "create", "r-echo-2", echo_js)
    moved = sluice_json(srv, "rule", "update", "r-rule", "r-trigger", "/guest/r-echo-2", "--json")
    assert moved["action"] == {"path": "guest", "name": "r-echo-2"}
    again = sluice(srv, "rule", "create", "r-rule", "r-trigger", "r-echo", ok=False)
    assert again.returncode == 153
    assert again.stderr.endswith("(409 Conflict)\n")
    assert sluice(srv, "rule", "delete", "r-rule").stdout == ""
    assert sluice(srv, "rule", "get", "r-rule", ok=False).stderr.endswith("(404 Not Found)\n")
    assert "rules" not in sluice_json(srv, "trigger", "get", "r-trigger")


def test_trigger_create_update_list_delete(srv: SluiceServer) -> None:
    stored = sluice_json(srv, "trigger", "create", "t-crud", "-a", "owner", "ops", "--json")
    assert stored["name"] == "t-crud"
    assert stored["annotations"] == [{"key": "owner", "value": "ops"}]
    sluice(srv, "trigger", "update", "t-crud", "-p", "level", "3")
    record = sluice_json(srv, "trigger", "get", "/guest/t-crud")
    assert record["version"] == "0.0.2"
    assert record["parameters"] == [{"key": "level", "value": 3}]
    assert record["annotations"] == [{"key": "owner", "value": "ops"}]
    assert sluice(srv, "trigger", "get", "t-crud", "--url").stdout == (
        f"{srv.url}/api/v1/namespaces/guest/triggers/t-crud\n"
    )
    names = [item["name"] for item in sluice_json(srv, "trigger", "list", "--json")]
    assert "t-crud" in names
    assert sluice(srv, "trigger", "list", "--count").stdout == (
        f"You have {len(names)} triggers in this namespace.\n"
    )
    assert len(sluice_json(srv, "trigger", "list", "--json", "--limit", "1")) == 1
    deleted = sluice_json(srv, "trigger", "delete", "t-crud", "--json")
    assert deleted["name"] == "t-crud"
    gone = sluice(srv, "trigger", "fire", "t-crud", ok=False)
    assert gone.returncode == 148
    assert gone.stderr.endswith("(404 Not Found)\n")


# Packages ----------------------------------------------------------------------------------------
def test_packages_and_bindings(srv: SluiceServer, echo_js: str) -> None:
    sluice(srv, "package", "create", "colors", "-p", "color", "red", "--shared", "yes")
    sluice(srv, "action", "create", "colors/show", echo_js)
    package = sluice_json(srv, "package", "get", "colors")
    assert package["publish"] is True
    assert package["parameters"] == [{"key": "color", "value": "red"}]
    assert [a["name"] for a in package["actions"]] == ["show"]

    bound = sluice_json(srv, "package", "bind", "colors", "blue", "-p", "color", "blue", "--json")
    assert bound["binding"] == {"namespace": "guest", "name": "colors"}
    result = sluice_json(srv, "action", "invoke", "blue/show", "-r", "-p", "size", "M")
    assert result == {"got": {"color": "blue", "size": "M"}}
    sluice(srv, "package", "bind", "/whisk.system/alarms", "my-alarms")
    alarms = sluice_json(srv, "package", "get", "my-alarms")
    assert alarms["binding"] == {"namespace": "whisk.system", "name": "alarms"}
    shared = sluice_json(srv, "package", "get", "/whisk.system/alarms")
    assert {a["name"] for a in shared["actions"]} >= {"alarm", "once"}

    sluice(srv, "package", "update", "colors", "--shared", "no")
    table = sluice(srv, "package", "list").stdout
    assert table.splitlines()[0].split() == ["Datetime", "Access", "Kind", "Version", "Packages"]
    assert table_row(table, "colors")[2:] == ["private", "package", "0.0.2", "colors"]
    assert table_row(table, "blue")[2:] == ["private", "binding", "0.0.1", "blue"]
    listed = sluice_json(srv, "package", "list", "--json")
    assert sluice(srv, "package", "list", "--count").stdout == (
        f"You have {len(listed)} packages in this namespace.\n"
    )

    not_empty = sluice(srv, "package", "delete", "colors", ok=False)
    assert not_empty.returncode == 153
    assert "Package not empty (contains 1 entity)" in not_empty.stderr
    assert not_empty.stderr.endswith("(409 Conflict)\n")
    sluice(srv, "package", "delete", "blue")
    sluice(srv, "package", "delete", "my-alarms")
    assert sluice(srv, "package", "delete", "colors", "--force").stdout == ""
    assert sluice(srv, "action", "get", "colors/show", ok=False).returncode == 148
    assert sluice(srv, "package", "get", "colors", ok=False).stderr.endswith("(404 Not Found)\n")


# Web actions and --curl --------------------------------------------------------------------------
def test_action_curl_lines_work_with_curl(srv: SluiceServer, echo_js: str) -> None:
    sluice(srv, "action", "create", "web-secret", echo_js, "--web", "true", "--web-secure", "s3")
    url, plain, with_body = sluice(srv, "action", "get", "web-secret", "--curl").stdout.splitlines()
    assert url == f"{srv.url}/api/v1/web/guest/default/web-secret.json"
    assert plain == f"curl {url} -H 'X-Require-Whisk-Auth: s3'"
    status, body = run_curl(plain)
    assert status == 200, body
    assert json.loads(body)["got"]["__ow_method"] == "get"
    status, body = run_curl(with_body)
    assert status == 200, body
    assert json.loads(body)["got"]["__ow_method"] == "post"
    assert run_curl(shlex.join(["curl", url]))[0] == 401

    sluice(srv, "action", "create", "web-key", echo_js, "--web", "true", "--web-secure", "true")
    url, plain, _ = sluice(srv, "action", "get", "web-key", "--curl").stdout.splitlines()
    assert plain == f"curl {url} -H 'Authorization: {basic(srv)}'"
    assert run_curl(plain)[0] == 200
    assert run_curl(shlex.join(["curl", url]))[0] == 401

    sluice(srv, "action", "create", "not-web", echo_js)
    url, plain, _ = sluice(srv, "action", "get", "not-web", "--curl").stdout.splitlines()
    assert url == f"{srv.url}/api/v1/namespaces/guest/actions/not-web"
    status, body = run_curl(plain)
    assert status == 202, body
    activation_id = json.loads(body)["activationId"]
    record = sluice_json(srv, "activation", "get", activation_id, "--wait", "60")
    assert record["response"]["success"] is True


# Alarm feeds -------------------------------------------------------------------------------------
def activations_of(srv: SluiceServer, name: str) -> list[Any] | None:
    found: list[Any] = sluice_json(srv, "activation", "list", name, "--json")
    return found or None


def read_alarm(srv: SluiceServer, trigger: str) -> Any:
    return sluice_json(
        srv,
        "action",
        "invoke",
        "/whisk.system/alarms/alarm",
        "-b",
        "-p",
        "lifecycleEvent",
        "READ",
        "-p",
        "triggerName",
        f"/guest/{trigger}",
    )["response"]


def test_a_once_alarm_fires_its_trigger(srv: SluiceServer, echo_js: str) -> None:
    sluice(srv, "action", "create", "alarm-echo", echo_js)
    soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
    created = sluice(
        srv,
        "trigger",
        "create",
        "my-trigger",
        "--feed",
        "/whisk.system/alarms/once",
        "-p",
        "date",
        soon,
    )
    assert created.stdout == ""
    sluice(srv, "rule", "create", "my-trigger-rule", "my-trigger", "alarm-echo")
    record = sluice_json(srv, "trigger", "get", "my-trigger")
    assert record["annotations"] == [{"key": "feed", "value": "/whisk.system/alarms/once"}]
    assert record["parameters"] == []

    fires = wait_for(lambda: activations_of(srv, "my-trigger"), 30, "the once alarm", every=0.5)
    fire = sluice_json(srv, "activation", "get", fires[0]["activationId"])
    entry = json.loads(fire["logs"][0])
    assert entry["action"] == "guest/alarm-echo"
    assert entry["success"] is True


def test_feed_lifecycle_on_create_and_delete(srv: SluiceServer) -> None:
    refused = sluice(
        srv,
        "trigger",
        "create",
        "bad-alarm",
        "--feed",
        "/whisk.system/alarms/alarm",
        "-p",
        "cron",
        "not cron",
        ok=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: the feed /whisk.system/alarms/alarm failed CREATE")
    gone = sluice(srv, "trigger", "get", "bad-alarm", ok=False)
    assert gone.stderr.endswith("(404 Not Found)\n")

    feed = ("--feed", "/whisk.system/alarms/alarm", "-p", "cron", "0 0 1 1 *")
    sluice(srv, "trigger", "create", "new-year", *feed)
    armed = read_alarm(srv, "new-year")
    assert armed["success"] is True
    assert armed["result"]["config"]["cron"] == "0 0 1 1 *"
    assert sluice(srv, "trigger", "delete", "new-year").stderr == ""
    assert read_alarm(srv, "new-year")["success"] is False
