"""The seed's two ways to run a long job asynchronously, with the real aio CLI, curl-like
HTTP, and the seed's worker.js / web-action.js (the worker's delay shortened)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.support.aio import AioCli
from tests.support.calls import wait_call
from tests.support.seed import WEB_ACTION_JS, worker_with_delay
from tests.support.server import SluiceServer, wait_for


def _files(tmp_path: Path) -> tuple[Path, Path]:
    worker = tmp_path / "worker.js"
    worker.write_text(worker_with_delay(2000))
    web = tmp_path / "web-action.js"
    web.write_text(WEB_ACTION_JS)
    return worker, web


def test_option_1_web_action(
    new_server: Callable[..., SluiceServer], aio_for: Callable[..., AioCli], tmp_path: Path
) -> None:
    srv = new_server().start()
    aio = aio_for(srv)
    worker, web = _files(tmp_path)
    aio.run_ok("rt:action:create", "my-worker", str(worker), "-t", "120000")
    aio.run_ok("rt:action:create", "test", str(web), "--web", "true")
    url = f"{srv.url}/api/v1/web/guest/default/test.json"

    # as written: the web action invokes `worker`, which does not exist
    as_written = httpx.get(url, timeout=30)
    assert as_written.status_code == 200
    assert "/actions/worker Returned HTTP 404" in as_written.json()["message"]

    # names made consistent: the id of the worker's call, at once
    aio.run_ok("rt:action:create", "worker", str(worker), "-t", "120000")
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200
    aid = answer.json()["activationId"]
    with srv.client() as c:
        assert wait_call(c, aid)["state"] == "success"
    result = aio.run_json("rt:activation:result", aid)
    assert result["result"]["body"] == {"payload": "Hello from the long running job!"}
    url_line = aio.run_ok("rt:action:get", "test", "--url")
    assert f"{srv.url}/api/v1/web/guest/default/test" in url_line


def test_option_2_trigger_and_rule(
    new_server: Callable[..., SluiceServer], aio_for: Callable[..., AioCli], tmp_path: Path
) -> None:
    server = new_server().start()  # the seed's names, verbatim, on a server of its own
    aio = aio_for(server)
    worker, _ = _files(tmp_path)
    aio.run_ok("rt:action:create", "my-worker", str(worker), "-t", "120000")
    aio.run_ok("rt:trigger:create", "my-worker-trigger")
    aio.run_ok("rt:rule:create", "async-rule", "my-worker-trigger", "my-worker")

    verbose = aio.run("rt:trigger:get", "my-worker-trigger", "-v")
    assert verbose.returncode == 0
    shown = verbose.stdout + verbose.stderr
    assert server.url in shown
    assert server.auth in shown

    token = base64.b64encode(server.auth.encode()).decode()
    fired = httpx.post(
        f"{server.url}/api/v1/namespaces/_/triggers/my-worker-trigger",
        headers={"Authorization": f"Basic {token}"},
    )
    assert fired.status_code == 202
    tid = fired.json()["activationId"]
    logs = aio.run_ok("rt:activation:logs", tid)
    line = next(entry for entry in logs.splitlines() if entry.startswith("{"))
    entry = json.loads(line)
    assert entry["rule"] == "guest/async-rule"
    assert entry["action"] == "guest/my-worker"
    with server.client() as c:
        assert wait_call(c, entry["activationId"])["state"] == "success"
    result = aio.run_json("rt:activation:result", entry["activationId"])
    assert result["result"]["body"] == {"payload": "Hello from the long running job!"}

    assert "Rules Disabled" in aio.run_ok("rt:rule:disable", "async-rule")
    assert aio.run_ok("rt:rule:status", "async-rule").strip().endswith("inactive")
    none_active = httpx.post(
        f"{server.url}/api/v1/namespaces/_/triggers/my-worker-trigger",
        headers={"Authorization": f"Basic {token}"},
    )
    assert none_active.status_code == 204
    assert "Rule Enabled" in aio.run_ok("rt:rule:enable", "async-rule")
    assert "1 active" in aio.run_ok("rt:trigger:list")
    assert "async-rule" in aio.run_ok("rt:rule:list")
    assert "trigger" in aio.run_ok("rt:activation:list")


def test_packages_with_aio(
    server: SluiceServer, aio_for: Callable[..., AioCli], tmp_path: Path
) -> None:
    aio = aio_for(server)
    code = tmp_path / "show.js"
    code.write_text("function main(a) { return a }")
    aio.run_ok("rt:package:create", "aio-pkg", "-p", "color", "red")
    aio.run_ok("rt:action:create", "aio-pkg/show", str(code))
    aio.run_ok("rt:package:bind", "aio-pkg", "aio-bound", "-p", "color", "blue")
    assert aio.run_json("rt:action:invoke", "aio-bound/show", "--result") == {"color": "blue"}
    got = aio.run_json("rt:package:get", "aio-pkg")
    assert [a["name"] for a in got["actions"]] == ["show"]
    assert "aio-bound" in aio.run_ok("rt:package:list")


def test_alarm_feed_with_aio(
    server: SluiceServer, aio_for: Callable[..., AioCli], tmp_path: Path
) -> None:
    aio = aio_for(server)
    code = tmp_path / "tick.js"
    code.write_text("function main(a) { return {ticked: true} }")
    aio.run_ok("rt:action:create", "on-tick", str(code))
    # room for the trigger (two feed calls, with aio's retries) and the rule to be made first
    soon = (datetime.now(UTC) + timedelta(seconds=12)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    aio.run_ok(
        "rt:trigger:create",
        "aio-once",
        "--feed",
        "/whisk.system/alarms/once",
        "--param",
        "date",
        soon,
    )
    aio.run_ok("rt:rule:create", "aio-once-rule", "aio-once", "on-tick")
    with server.client() as c:

        def fired() -> list[dict[str, object]]:
            found: list[dict[str, object]] = c.get(
                server.ns_path("activations?name=aio-once")
            ).json()
            return found

        wait_for(fired, 45, "the once alarm to fire", every=0.5)
    aio.run_ok("rt:trigger:delete", "aio-once")  # runs the feed's DELETE too
    with server.client() as c:
        schedules = c.post(
            "/api/v1/namespaces/whisk.system/actions/alarms/once?blocking=true",
            json={"lifecycleEvent": "READ", "triggerName": "/guest/aio-once"},
        )
        assert schedules.status_code == 502  # gone


def test_alarm_feed_parameters_as_aio_sends_them(
    server: SluiceServer, aio_for: Callable[..., AioCli]
) -> None:
    aio = aio_for(server)
    # `--param minutes 1` reaches the feed as the string "1", which upstream's feed takes
    aio.run_ok(
        "rt:trigger:create",
        "aio-every",
        "--feed",
        "/whisk.system/alarms/interval",
        "--param",
        "minutes",
        "1",
    )
    with server.client() as c:
        read = c.post(
            "/api/v1/namespaces/whisk.system/actions/alarms/interval?blocking=true",
            json={"lifecycleEvent": "READ", "triggerName": "/guest/aio-every"},
        ).json()
        assert read["response"]["result"]["config"]["minutes"] == 1
    refused = aio.run(
        "rt:trigger:create",
        "aio-half",
        "--feed",
        "/whisk.system/alarms/interval",
        "--param",
        "minutes",
        "1.5",
    )
    assert refused.returncode != 0
    assert "failed to create the trigger: 502 Bad Gateway" in refused.stderr
    with server.client() as c:
        assert c.put(server.ns_path("triggers/aio-half"), json={}).status_code == 200
        told = c.post(
            "/api/v1/namespaces/whisk.system/actions/alarms/interval?blocking=true",
            json={"lifecycleEvent": "CREATE", "triggerName": "/guest/aio-half", "minutes": "1.5"},
        ).json()
        assert "'minutes', a whole number from 1" in told["response"]["result"]["error"]
    aio.run_ok("rt:trigger:delete", "aio-every")
