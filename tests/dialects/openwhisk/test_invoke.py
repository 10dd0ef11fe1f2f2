"""Invoking actions: non-blocking accept, blocking waits and their cap, outcomes, records."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.calls import wait_call
from tests.support.server import SluiceServer, put_action

SLEEPER = """
function main(args) {
  return new Promise(resolve => setTimeout(() => resolve({slept: args.ms}), args.ms || 0));
}
exports.main = main;
"""
ENV_DUMP = """
function main() {
  const keys = ['__OW_API_HOST', '__OW_API_KEY', '__OW_NAMESPACE', '__OW_ACTION_NAME',
                '__OW_ACTIVATION_ID', '__OW_DEADLINE', 'SLUICE_SECRET', 'HOME'];
  const out = {};
  for (const k of keys) out[k] = process.env[k] || null;
  console.log('dumped env');
  console.error('to stderr');
  return out;
}
"""


def test_non_blocking_then_get_result_and_logs(server: SluiceServer) -> None:
    with server.client() as c:
        assert put_action(c, "sleeper", SLEEPER).status_code == 200
        r = c.post(server.ns_path("actions/sleeper?blocking=false"), json={"ms": 300})
        assert r.status_code == 202
        aid = r.json()["activationId"]
        assert len(aid) == 32
        assert r.headers["x-openwhisk-activation-id"] == aid
        # while it runs the OpenWhisk routes answer 404, as upstream does
        assert c.get(server.ns_path(f"activations/{aid}")).status_code in (404, 200)
        assert wait_call(c, aid)["state"] == "success"
        record = c.get(server.ns_path(f"activations/{aid}")).json()
        assert record["activationId"] == aid
        assert record["name"] == "sleeper"
        assert record["response"]["result"] == {"slept": 300}
        assert record["response"]["success"] is True
        assert record["response"]["status"] == "success"
        assert record["duration"] >= 300
        keys = {a["key"] for a in record["annotations"]}
        assert {"path", "kind", "limits", "waitTime", "timeout"} <= keys
        result = c.get(server.ns_path(f"activations/{aid}/result")).json()
        assert result["result"] == {"slept": 300}
        assert result["success"] is True


def test_blocking_answers_record_or_result(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "blocker", SLEEPER)
        r = c.post(server.ns_path("actions/blocker?blocking=true"), json={"ms": 1})
        assert r.status_code == 200
        assert r.json()["response"]["result"] == {"slept": 1}
        r = c.post(server.ns_path("actions/blocker?blocking=true&result=true"), json={"ms": 2})
        assert r.status_code == 200
        assert r.json() == {"slept": 2}
        # warm: the second run did not initialise a process
        warm = c.post(server.ns_path("actions/blocker?blocking=true"), json={}).json()
        assert "initTime" not in {a["key"] for a in warm["annotations"]}


def test_failures_answer_502_with_the_record(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "app-error", "function main() { return {error: 'nope'} }")
        r = c.post(server.ns_path("actions/app-error?blocking=true"))
        assert r.status_code == 502
        assert r.json()["response"]["status"] == "application error"
        assert r.json()["response"]["result"] == {"error": "nope"}
        put_action(c, "dev-error", "function main() { throw new Error('boom') }")
        r = c.post(server.ns_path("actions/dev-error?blocking=true"))
        assert r.status_code == 502
        assert r.json()["response"]["status"] == "action developer error"
        assert "boom" in r.json()["response"]["result"]["error"]
        put_action(c, "not-dict", "function main() { return 42 }")
        r = c.post(server.ns_path("actions/not-dict?blocking=true&result=true"))
        assert r.status_code == 502
        assert r.json() == {"error": "The action did not return a dictionary."}


def test_timeout_kills_the_call(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "too-slow", SLEEPER, limits={"timeout": 500})
        r = c.post(server.ns_path("actions/too-slow?blocking=true"), json={"ms": 5000})
        assert r.status_code == 502
        record = r.json()
        assert record["response"]["status"] == "action developer error"
        assert record["response"]["result"] == {
            "error": "The action exceeded its time limits of 500 milliseconds."
        }
        timeout = next(a for a in record["annotations"] if a["key"] == "timeout")
        assert timeout["value"] is True


def test_function_environment(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "env-dump", ENV_DUMP)
        record = c.post(server.ns_path("actions/env-dump?blocking=true")).json()
        env = record["response"]["result"]
        assert env["__OW_NAMESPACE"] == "guest"
        assert env["__OW_ACTION_NAME"] == "/guest/env-dump"
        assert env["__OW_ACTIVATION_ID"] == record["activationId"]
        assert env["__OW_API_HOST"] == server.url
        assert int(env["__OW_DEADLINE"]) > record["start"]
        assert env["SLUICE_SECRET"] is None
        assert env["__OW_API_KEY"] != server.auth  # a key of its own, never stored
        logs = record["logs"]
        assert len(logs) == 2
        assert logs[0].endswith("Z stdout: dumped env")
        assert logs[1].endswith("Z stderr: to stderr")
    with server.client(auth=env["__OW_API_KEY"]) as fn:
        assert fn.get("/api/v1/namespaces").json() == ["guest"]


def test_python_action(server: SluiceServer) -> None:
    code = (
        "def main(args):\n    print('hi from python')\n    return {'sum': args['a'] + args['b']}\n"
    )
    with server.client() as c:
        put_action(c, "py-sum", code, kind="python:3")
        r = c.post(server.ns_path("actions/py-sum?blocking=true"), json={"a": 2, "b": 3})
        assert r.status_code == 200, r.text
        assert r.json()["response"]["result"] == {"sum": 5}
        assert r.json()["logs"][0].endswith("stdout: hi from python")


def test_activation_list_filters(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "listed", "function main(a) { return a }")
        ids = [
            c.post(server.ns_path("actions/listed?blocking=true"), json={"i": i}).json()[
                "activationId"
            ]
            for i in range(3)
        ]
        mine = c.get(server.ns_path("activations?name=listed")).json()
        assert [a["activationId"] for a in mine[:3]] == ids[::-1]
        assert all(a["statusCode"] == 0 and "duration" in a for a in mine)
        assert c.get(server.ns_path("activations?name=listed&count=true")).json() == {
            "activations": 3
        }
        docs = c.get(server.ns_path("activations?name=listed&docs=true&limit=1")).json()
        assert docs[0]["response"]["result"] == {"i": 2}
        since = mine[1]["start"]
        newer = c.get(server.ns_path(f"activations?name=listed&since={since}")).json()
        assert {a["activationId"] for a in newer} >= {ids[1], ids[2]}


def test_blocking_cap_answers_202_and_the_call_runs_on(
    new_server: Callable[..., SluiceServer],
) -> None:
    srv = new_server(SLUICE_BLOCKING_WAIT_MS="1000").start()
    with srv.client() as c:
        put_action(c, "slow", SLEEPER)
        r = c.post(srv.ns_path("actions/slow?blocking=true"), json={"ms": 2500})
        assert r.status_code == 202
        aid = r.json()["activationId"]
        state = c.get(f"/sluice/v1/namespaces/_/calls/{aid}").json()
        assert state["state"] in ("running", "success")
        assert wait_call(c, aid)["state"] == "success"
        assert c.get(srv.ns_path(f"activations/{aid}/result")).json()["result"] == {"slept": 2500}


def test_every_id_spelling_reaches_the_call(server: SluiceServer) -> None:
    with server.client() as c:
        put_action(c, "ids", "function main() { return {} }")
        aid = c.post(server.ns_path("actions/ids?blocking=true")).json()["activationId"]
        state = c.get(f"/sluice/v1/namespaces/_/calls/{aid}").json()
        for spelling in (state["id"], state["uuid"], state["activationId"]):
            got = c.get(server.ns_path(f"activations/{spelling}"))
            assert got.status_code == 200
            assert got.json()["activationId"] == aid


def test_unknown_action_is_refused_at_accept(server: SluiceServer) -> None:
    with server.client() as c:
        r = c.post(server.ns_path("actions/no-such-action?blocking=false"))
        assert r.status_code == 404
        assert r.json()["error"] == "The requested resource does not exist."


PEEK = """
const fs = require('fs');
function main(args) {
  const out = {};
  for (const p of args.paths) {
    try { out[p] = fs.readdirSync(p).length + ' entries'; }
    catch (e) {
      try { fs.readFileSync(p); out[p] = 'readable'; } catch (e2) { out[p] = 'hidden'; }
    }
  }
  return out;
}
"""


def test_functions_cannot_see_the_data_dir(server: SluiceServer) -> None:
    data = server.data_dir
    paths = [str(data / "secret"), str(data / "sluice.db"), str(server.client_config)]
    with server.client() as c:
        put_action(c, "peek", PEEK)
        seen = c.post(
            server.ns_path("actions/peek?blocking=true&result=true"), json={"paths": paths}
        ).json()
    assert seen == dict.fromkeys(paths, "hidden")
    assert (data / "secret").exists()
    assert server.client_config.exists()


SHARED_SLEEPER = """
const me = require('crypto').randomUUID();  // a pid would not do: sandboxes have their own
exports.main = async (args) => {
  const id = process.env.__OW_ACTIVATION_ID;
  console.log('start ' + id);
  await new Promise(resolve => setTimeout(resolve, args.ms));
  console.error('end ' + id);
  return {process: me, id};
};
"""


def test_calls_share_a_process_up_to_the_action_concurrency(
    new_server: Callable[..., SluiceServer],
) -> None:
    srv = new_server(SLUICE_NAMESPACE_CONCURRENCY="100").start()
    calls, concurrency = 50, 10
    with srv.client() as c:
        limits = {"concurrency": concurrency}
        assert put_action(c, "shared", SHARED_SLEEPER, limits=limits).status_code == 200
        ids = []
        for _ in range(calls):
            r = c.post(srv.ns_path("actions/shared?blocking=false"), json={"ms": 1500})
            assert r.status_code == 202
            ids.append(r.json()["activationId"])
        processes = set()
        for aid in ids:
            assert wait_call(c, aid)["state"] == "success"
            record = c.get(srv.ns_path(f"activations/{aid}")).json()
            assert record["response"]["result"]["id"] == aid
            processes.add(record["response"]["result"]["process"])
            texts = sorted(line.split(" ", 1)[1] for line in record["logs"])
            assert texts == [f"stderr: end {aid}", f"stdout: start {aid}"]
        assert len(processes) <= calls // concurrency
