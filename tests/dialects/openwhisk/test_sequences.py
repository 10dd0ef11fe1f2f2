"""Sequences (exec kind `sequence`): made with the real aio CLI, the openwhisk npm client and
plain HTTP; each step a call of its own whose `cause` is the sequence; errors end them;
packages, bindings and other namespaces' shared packages; nesting up to OpenWhisk's limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.support.aio import AioCli, node_tools_dir
from tests.support.calls import wait_call
from tests.support.ow_client import ow_call
from tests.support.server import TEST_QUEUE, SluiceServer, put_action, wait_for

from sluice.ids import CallId

INC = """
function main(a) { return {n: Number(a.n || 0) + 1, seen: (a.seen || []).concat([a.tag || '-'])} }
"""
FAIL = "function main(a) { return {error: 'no more, n=' + a.n} }"
CRASH = "function main(a) { throw new Error('boom') }"


def _seq(c: httpx.Client, name: str, components: list[str], **fields: object) -> httpx.Response:
    body = {"exec": {"kind": "sequence", "components": components}, **fields}
    return c.put(f"/api/v1/namespaces/_/actions/{name}?overwrite=true", json=body)


def _invoke(c: httpx.Client, name: str, params: dict[str, object]) -> httpx.Response:
    return c.post(f"/api/v1/namespaces/_/actions/{name}?blocking=true", json=params)


def _annotations(record: dict[str, object]) -> dict[str, object]:
    items = record["annotations"]
    assert isinstance(items, list)
    return {item["key"]: item["value"] for item in items}


@pytest.fixture(scope="module")
def incs(server: SluiceServer) -> None:
    with server.client() as c:
        assert put_action(c, "inc", INC).status_code == 200
        assert put_action(c, "fail", FAIL).status_code == 200
        assert put_action(c, "crash", CRASH).status_code == 200


def test_create_get_and_the_wire_shape(server: SluiceServer, incs: None) -> None:
    with server.client() as c:
        made = _seq(c, "s-shape", ["inc", "/_/inc", "/guest/inc"])
        assert made.status_code == 200, made.text
        body = made.json()
        assert body["exec"] == {
            "kind": "sequence",
            "components": ["/guest/inc", "/guest/inc", "/guest/inc"],
        }
        assert {"key": "exec", "value": "sequence"} in body["annotations"]
        got = c.get(server.ns_path("actions/s-shape")).json()
        assert got["exec"] == body["exec"]
        listed = c.get(server.ns_path("actions")).json()
        assert any(a["name"] == "s-shape" for a in listed)


@pytest.mark.parametrize(
    ("components", "message"),
    [
        (["missing"], "Sequence component does not exist."),
        (["inc", "nopkg/missing"], "Sequence component does not exist."),
        ([], "No component specified for the sequence."),
        (["inc"] * 51, "Too many actions in the sequence."),
        (["/guest"], "The name '/guest' is not fully qualified."),
    ],
)
def test_bad_components_are_400(
    server: SluiceServer, incs: None, components: list[str], message: str
) -> None:
    with server.client() as c:
        r = _seq(c, "s-bad", components)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == message
        assert c.get(server.ns_path("actions/s-bad")).status_code == 404


def test_blocking_sequence_passes_each_result_on(server: SluiceServer, incs: None) -> None:
    with server.client() as c:
        assert _seq(c, "s-three", ["inc", "inc", "inc"]).status_code == 200
        r = _invoke(c, "s-three", {"n": 1, "tag": "x"})
        assert r.status_code == 200, r.text
        record = r.json()
        assert record["response"]["success"] is True
        assert record["response"]["result"] == {"n": 4, "seen": ["x", "-", "-"]}
        notes = _annotations(record)
        assert notes["topmost"] is True
        assert notes["kind"] == "sequence"
        assert notes["path"] == "guest/s-three"
        assert notes["limits"]["memory"] == 256
        assert "causedBy" not in notes
        assert "cause" not in record
        steps = record["logs"]
        assert len(steps) == 3
        assert len(set(steps)) == 3
        for place, step in enumerate(steps):
            got = c.get(server.ns_path(f"activations/{step}")).json()
            assert got["cause"] == record["activationId"]
            assert got["name"] == "inc"
            assert _annotations(got)["causedBy"] == "sequence"
            assert got["response"]["result"]["n"] == place + 2
        assert record["duration"] <= record["end"] - record["start"]


def test_non_blocking_sequence_ends_with_its_record(server: SluiceServer, incs: None) -> None:
    with server.client() as c:
        assert _seq(c, "s-async", ["inc", "inc"]).status_code == 200
        r = c.post(server.ns_path("actions/s-async"), json={"n": 10})
        assert r.status_code == 202
        aid = r.json()["activationId"]
        assert wait_call(c, aid)["state"] == "success"
        record = c.get(server.ns_path(f"activations/{aid}")).json()
        assert record["response"]["result"]["n"] == 12
        assert len(record["logs"]) == 2


def test_an_error_in_the_middle_ends_the_sequence(server: SluiceServer, incs: None) -> None:
    with server.client() as c:
        assert _seq(c, "s-fail", ["inc", "fail", "inc"]).status_code == 200
        r = _invoke(c, "s-fail", {"n": 1})
        assert r.status_code == 502
        record = r.json()
        assert record["response"]["status"] == "application error"
        assert record["response"]["result"] == {"error": "no more, n=2"}
        assert len(record["logs"]) == 2  # the last step never ran
        assert _seq(c, "s-crash", ["inc", "crash", "inc"]).status_code == 200
        crashed = _invoke(c, "s-crash", {}).json()
        assert crashed["response"]["status"] == "action developer error"
        assert len(crashed["logs"]) == 2


def test_nested_sequences_and_their_limit(server: SluiceServer, incs: None) -> None:
    with server.client() as c:
        assert _seq(c, "s-inner", ["inc", "inc"]).status_code == 200
        assert _seq(c, "s-outer", ["inc", "s-inner", "inc"]).status_code == 200
        record = _invoke(c, "s-outer", {"n": 0}).json()
        assert record["response"]["result"]["n"] == 4
        inner = c.get(server.ns_path(f"activations/{record['logs'][1]}")).json()
        assert inner["name"] == "s-inner"
        assert inner["cause"] == record["activationId"]
        notes = _annotations(inner)
        assert notes["topmost"] is False
        assert notes["causedBy"] == "sequence"
        assert notes["kind"] == "sequence"
        for step in inner["logs"]:
            assert (
                c.get(server.ns_path(f"activations/{step}")).json()["cause"]
                == (inner["activationId"])
            )
        # 26 + 26 atomic actions inlined are past OpenWhisk's 50
        assert _seq(c, "s-26", ["inc"] * 26).status_code == 200
        too_long = _seq(c, "s-52", ["s-26", "s-26"])
        assert too_long.status_code == 400
        assert too_long.json()["error"] == "Too many actions in the sequence."
        # a sequence may not hold itself
        cyclic = _seq(c, "s-inner", ["inc", "s-outer"])
        assert cyclic.status_code == 400
        assert cyclic.json()["error"] == "Sequence may not refer to itself."


def test_components_in_packages_bindings_and_shared_packages(
    server: SluiceServer, incs: None
) -> None:
    with server.client() as c:
        assert c.put(server.ns_path("packages/tools?overwrite=true"), json={}).status_code == 200
        marks = "function main(a) { return {...a, marks: (a.marks || []).concat([a.mark])} }"
        assert put_action(c, "tools/mark", marks).is_success
        binding = {
            "binding": {"namespace": "guest", "name": "tools"},
            "parameters": [{"key": "mark", "value": "bound"}],
        }
        assert c.put(server.ns_path("packages/tools-b?overwrite=true"), json=binding).is_success
    key = server.admin("namespace", "create", "seq-team")
    with server.client(auth=key) as o:  # another namespace shares a package
        assert o.put("/api/v1/namespaces/_/packages/pub", json={"publish": True}).is_success
        assert put_action(o, "pub/inc", INC).is_success
    with server.client() as c:
        components = ["tools/mark", "tools-b/mark", "inc", "/seq-team/pub/inc"]
        assert _seq(c, "s-places", components).status_code == 200
        record = _invoke(c, "s-places", {"n": 0, "tag": "given"}).json()
        assert record["response"]["success"] is True, record
        assert record["response"]["result"]["n"] == 2
        assert record["response"]["result"]["seen"] == ["given", "-"]
        # the package has no `mark`; its binding's lies under what the step before passed
        marked = c.get(server.ns_path(f"activations/{record['logs'][1]}/result")).json()
        assert marked["result"]["marks"] == [None, "bound"]
        shared = c.get(server.ns_path(f"activations/{record['logs'][3]}")).json()
        assert _annotations(shared)["path"] == "seq-team/pub/inc"
        assert shared["namespace"] == "guest"


def test_a_component_deleted_after_create_fails_at_invoke(server: SluiceServer, incs: None) -> None:
    with server.client() as c:
        assert put_action(c, "doomed", INC).status_code == 200
        assert _seq(c, "s-doomed", ["inc", "doomed"]).status_code == 200
        assert c.delete(server.ns_path("actions/doomed")).status_code == 200
        record = _invoke(c, "s-doomed", {}).json()
        assert record["response"]["status"] == "application error"
        assert record["response"]["result"] == {"error": "Sequence component does not exist."}
        assert len(record["logs"]) == 1


def _aio(server: SluiceServer, home: Path) -> AioCli:
    return AioCli(node_tools_dir(), server.url, server.namespace, server.auth, home)


def test_the_aio_cli_creates_and_invokes_a_sequence(
    server: SluiceServer, incs: None, tmp_path: Path
) -> None:
    aio = _aio(server, tmp_path / "aio-home")
    aio.run_ok("rt:action:create", "aio-seq", "--sequence", "inc,inc")
    printed = aio.run_ok("rt:action:get", "aio-seq")  # the name, then the action
    got = json.loads(printed.partition("\n")[2])
    assert got["exec"] == {"kind": "sequence", "components": ["/guest/inc", "/guest/inc"]}
    done = aio.run_json("rt:action:invoke", "aio-seq", "--param", "n", "5", "--result")
    assert done == {"n": 7, "seen": ["-", "-"]}
    aid = aio.run_json("rt:action:invoke", "aio-seq", "--param", "n", "1")["activationId"]
    with server.client() as c:
        assert wait_call(c, aid)["state"] == "success"
    record = aio.run_json("rt:activation:get", aid)
    assert record["response"]["result"]["n"] == 3
    assert len(record["logs"]) == 2
    # by name: the session's server is shared, so the newest five may be other tests' calls
    listed = aio.run_ok("rt:activation:list", "aio-seq", "--limit", "5")
    assert aid in listed
    assert "aio-seq" in listed
    assert " inc " not in listed


def test_the_openwhisk_client_creates_gets_invokes_and_deletes(
    server: SluiceServer, incs: None
) -> None:
    outcome = ow_call(
        """
        const made = await ow.actions.create({name: 'ow-seq', sequence: ['/guest/inc', 'inc']})
        const got = await ow.actions.get({name: 'ow-seq'})
        const done = await ow.actions.invoke({name: 'ow-seq', blocking: true, params: {n: 2}})
        const id = (await ow.actions.invoke({name: 'ow-seq', params: {n: 0}})).activationId
        const also = await ow.actions.create({
          name: 'ow-seq2', action: {exec: {kind: 'sequence', components: ['/_/inc']}}
        })
        return {made, got, done, id, also}
        """,
        apihost=server.url,
        api_key=server.auth,
        namespace="guest",
    )
    assert outcome.ok, outcome.error
    value = outcome.value
    assert value["made"]["exec"]["kind"] == "sequence"
    assert value["got"]["exec"]["components"] == ["/guest/inc", "/guest/inc"]
    assert value["done"]["response"]["result"]["n"] == 4
    assert value["also"]["exec"]["components"] == ["/guest/inc"]
    with server.client() as c:
        # the async call ends before its sequence is deleted (one deleted first fails it)
        assert wait_call(c, value["id"])["state"] == "success"
        record = c.get(server.ns_path(f"activations/{value['id']}")).json()
    assert record["response"]["result"]["n"] == 2
    deleted = ow_call(
        """
        await ow.actions.delete({name: 'ow-seq'})
        await ow.actions.delete({name: 'ow-seq2'})
        return {}
        """,
        apihost=server.url,
        api_key=server.auth,
        namespace="guest",
    )
    assert deleted.ok, deleted.error
    with server.client() as c:
        assert c.get(server.ns_path("actions/ow-seq")).status_code == 404
        assert c.get(server.ns_path("actions/ow-seq2")).status_code == 404


def test_every_dialect_sees_a_sequence_as_a_function(server: SluiceServer, incs: None) -> None:
    with server.client() as c:
        assert _seq(c, "s-faas", ["inc", "inc"]).status_code == 200
        sync = c.post("/function/s-faas", json={"n": 1})
        assert sync.status_code == 200, sync.text
        assert sync.json()["n"] == 3
        queued = c.post("/async-function/s-faas", json={"n": 5})
        assert queued.status_code == 202
        call_id = queued.headers["x-call-id"]
        assert wait_call(c, call_id)["state"] == "success"
        status = c.get(f"/async-function/{call_id}").json()
        assert status["status"] == "success"
        result = c.get(server.ns_path(f"activations/{call_id.replace('-', '')}/result")).json()
        assert json.loads(json.dumps(result))["result"]["n"] == 7


NAP = """
function main(a) {
  return new Promise(r => setTimeout(() => r({...a, naps: (a.naps || 0) + 1}), a.ms || 0))
}
"""


def _activations(c: httpx.Client, server: SluiceServer, name: str) -> list[dict[str, object]]:
    listed = c.get(server.ns_path("activations"), params={"name": name, "limit": 50})
    assert listed.status_code == 200, listed.text
    found: list[dict[str, object]] = listed.json()
    return found


def test_an_async_sequence_killed_between_steps_goes_on_after_restart(
    new_server: Callable[..., SluiceServer],
) -> None:
    srv = new_server().start()
    with srv.client() as c:
        assert put_action(c, "first", NAP).status_code == 200
        assert put_action(c, "slow", NAP, parameters=[{"key": "ms", "value": 4000}]).is_success
        assert put_action(c, "last", NAP).status_code == 200
        assert _seq(c, "s-durable", ["first", "slow", "last"]).status_code == 200
        aid = c.post(srv.ns_path("actions/s-durable"), json={"n": 1}).json()["activationId"]
        first = wait_for(lambda: _activations(c, srv, "first") or None, 30, "the first step")
        assert _activations(c, srv, "slow") == []
    # the first step has ended and the second runs (it naps 4 s): a crash between the two
    srv.kill()
    srv.start()
    with srv.client() as c:
        end = wait_call(c, aid, timeout=90)
        assert end["state"] == "success"
        assert end["attempts"] == 2  # taken up again after the crash, not accepted anew
        record = c.get(srv.ns_path(f"activations/{aid}")).json()
        assert record["response"]["result"] == {"n": 1, "naps": 3, "ms": 4000}
        steps = record["logs"]
        assert len(steps) == 3
        # the first step was not run again: its one activation is the sequence's first
        assert [a["activationId"] for a in _activations(c, srv, "first")] == [steps[0]]
        assert first[0]["activationId"] == steps[0]
        for name, step in zip(("first", "slow", "last"), steps, strict=True):
            got = c.get(srv.ns_path(f"activations/{step}")).json()
            assert got["name"] == name
            assert got["cause"] == aid
        assert len(_activations(c, srv, "slow")) == 1


def test_fn_sees_a_sequence_in_an_app_and_its_calls(server: SluiceServer, incs: None) -> None:
    with server.client() as c:
        assert c.put(server.ns_path("packages/seqapp?overwrite=true"), json={}).is_success
        assert put_action(c, "seqapp/inc", INC).is_success
        assert _seq(c, "seqapp/twice", ["seqapp/inc", "seqapp/inc"]).status_code == 200
        aid = c.post(server.ns_path("actions/seqapp/twice"), json={"n": 1}).json()["activationId"]
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.auth}"}, timeout=90
    ) as fn:
        ulid = CallId.parse(aid)
        assert ulid is not None
        got = fn.get(f"/v1/apps/seqapp/calls/{ulid.ulid}", params={"wait": 60})
        assert got.status_code == 200, got.text
        assert got.json()["call"]["status"] == "success"
        assert got.json()["call"]["path"] == "/twice"
        # an Fn request is the first step's input as Fn gives it to any function; each
        # step after it gets the one before's result
        once = fn.post("/r/seqapp/inc", json={"n": 3})
        assert once.status_code == 200, once.text
        answer = fn.post("/r/seqapp/twice", json={"n": 3})
        assert answer.status_code == 200, answer.text
        assert answer.json()["n"] == once.json()["n"] + 1


def test_a_sequence_may_be_a_web_action(server: SluiceServer, incs: None) -> None:
    web = [{"key": "web-export", "value": True}]
    with server.client() as c:
        assert _seq(c, "s-web", ["inc", "inc"], annotations=web).status_code == 200
    answer = httpx.get(f"{server.url}/api/v1/web/guest/default/s-web.json", params={"n": "1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["n"] == 3


def test_a_shared_sequence_runs_for_whoever_may_invoke_its_components(
    server: SluiceServer, incs: None
) -> None:
    with server.client() as c:
        made = c.put(server.ns_path("packages/pub2?overwrite=true"), json={"publish": True})
        assert made.is_success
        assert put_action(c, "pub2/inc", INC).is_success
        assert _seq(c, "pub2/wrap", ["/guest/pub2/inc", "/guest/pub2/inc"]).status_code == 200
        assert _seq(c, "pub2/private", ["/guest/pub2/inc", "/guest/inc"]).status_code == 200
    key = server.admin("namespace", "create", "seq-guests")
    with server.client(auth=key) as o:
        answer = o.post("/api/v1/namespaces/guest/actions/pub2/wrap?blocking=true", json={"n": 1})
        assert answer.status_code == 200, answer.text
        record = answer.json()
        assert record["namespace"] == "seq-guests"
        assert record["response"]["result"]["n"] == 3
        step = o.get(f"/api/v1/namespaces/_/activations/{record['logs'][0]}").json()
        assert step["namespace"] == "seq-guests"
        assert _annotations(step)["path"] == "guest/pub2/inc"
        # as OpenWhisk: the caller must be allowed each component (here guest's own `inc`)
        refused = o.post("/api/v1/namespaces/guest/actions/pub2/private?blocking=true")
        assert refused.status_code == 403, refused.text
    with server.client() as c:  # the calls are the caller's, not the owner's
        assert c.get(server.ns_path(f"activations/{record['activationId']}")).status_code == 404


@pytest.mark.skipif(bool(TEST_QUEUE), reason="a worker process of its own needs the embedded queue")
def test_a_worker_process_of_its_own_conducts_sequences(
    new_server: Callable[..., SluiceServer],
) -> None:
    # the API process accepts; the worker process runs the sequence and accepts its steps
    srv = new_server(SLUICE_WORKER_PROCESS="true").start()
    with srv.client() as c:
        assert put_action(c, "inc", INC).status_code == 200
        assert _seq(c, "s-apart", ["inc", "inc", "inc"]).status_code == 200
        record = _invoke(c, "s-apart", {"n": 0}).json()
        assert record["response"]["result"]["n"] == 3, record
        assert len(record["logs"]) == 3


def _fn_calls(fn: httpx.Client, app: str) -> list[dict[str, object]]:
    listed = fn.get(f"/v1/apps/{app}/calls")
    assert listed.status_code == 200, listed.text
    calls: list[dict[str, object]] = listed.json()["calls"]
    return calls


@pytest.mark.parametrize("route", ["fn", "openfaas"])
def test_cancelling_a_sequence_cancels_its_running_step(
    server: SluiceServer, incs: None, route: str
) -> None:
    with server.client() as c:
        assert c.put(server.ns_path(f"packages/capp{route}?overwrite=true"), json={}).is_success
        nap = [{"key": "ms", "value": 30000}]
        assert put_action(c, f"capp{route}/nap", NAP, parameters=nap).is_success
        assert put_action(c, f"capp{route}/inc", INC).is_success
        components = [f"capp{route}/nap", f"capp{route}/inc"]
        assert _seq(c, f"capp{route}/stop", components).status_code == 200
        aid = c.post(server.ns_path(f"actions/capp{route}/stop"), json={}).json()["activationId"]
    seq = CallId.parse(aid)
    assert seq is not None
    app = f"capp{route}"
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.auth}"}, timeout=90
    ) as fn:

        def running_nap() -> dict[str, object] | None:
            found = [
                call
                for call in _fn_calls(fn, app)
                if call["path"] == "/nap" and call["status"] == "running"
            ]
            return found[0] if found else None

        nap_call = wait_for(running_nap, 30, "the sequence's first step running")
        if route == "fn":
            stopped = fn.delete(f"/v1/apps/{app}/calls/{seq.ulid}")
        else:
            with server.client() as c:
                stopped = c.delete(f"/async-function/{seq.uuid}")
        assert stopped.status_code == 202, stopped.text
        for call_id in (seq.ulid, nap_call["id"]):
            got = fn.get(f"/v1/apps/{app}/calls/{call_id}", params={"wait": 20})
            assert got.json()["call"]["status"] == "cancelled", got.text
        # the step after it was never made
        assert [call["path"] for call in _fn_calls(fn, app)].count("/inc") == 0
