"""A bounded fuzz of every route of every dialect against a real server: no input may get
a 5xx or a connection closed without an answer.

Each route of the app's own table gets EXAMPLES requests drawn by Hypothesis (from a seed
of the route's: the same requests every run), with and without credentials; a request that writes an
entity is followed by one that uses it (invoke what was just deployed), so that stored
input reaches the answer path too. A 5xx is the server's failure unless it relays a call's
outcome as the dialect's contract says (OpenWhisk's 502 for a failed blocking call,
OpenFaaS's status of a failed function, Fn's 502), and that call did not end as a platform
error. Every failure of a route is listed at once, not shrunk."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import seed as seeded
from tests.http.fuzz_inputs import FuzzRequest, explicit, requests
from tests.http.fuzz_routes import Template, templates
from tests.http.fuzz_seed import Seed, basic, plant, restore
from tests.http.fuzz_tally import TALLY
from tests.support.server import SluiceServer

from sluice.ids import CallId

TEMPLATES = templates()
#: requests per route; with follow-ups about 1,500 in all
EXAMPLES = 32


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SluiceServer, Seed]]:
    server = SluiceServer(
        tmp_path_factory.mktemp("fuzz"), extra_env={"SLUICE_BLOCKING_WAIT_MS": "5000"}
    )
    try:
        server.start()
        yield server, plant(server)
    finally:
        server.close()


def _call_id(response: httpx.Response) -> CallId | None:
    """The call whose outcome a response relays, if it says."""
    headers = response.headers
    for text in (
        headers.get("x-openwhisk-activation-id"),
        headers.get("fn_call_id"),
        headers.get("location", "").rpartition("/")[2] if "x-duration-seconds" in headers else "",
    ):
        found = CallId.parse(text) if text else None
        if found is not None:
            return found
    return None


def _relayed(client: httpx.Client, seed: Seed, response: httpx.Response) -> bool:
    """Whether a 5xx is a call's own outcome, as its dialect relays one (not the platform's)."""
    call_id = _call_id(response)
    if call_id is None or response.status_code == 503:
        return False
    if "x-openwhisk-activation-id" in response.headers and response.status_code != 502:
        return False
    state = client.get(
        f"/sluice/v1/namespaces/_/calls/{call_id.hex}",
        headers={"authorization": basic(seed.guest_key)},
    )
    return state.status_code == 200 and state.json()["state"] != "platform_error"


def send(client: httpx.Client, seed: Seed, request: FuzzRequest) -> tuple[str | None, int]:
    """A failure's description (None: none), and the status (0: no answer)."""
    TALLY["requests"] += 1
    try:
        response = client.request(
            request.method,
            request.path,
            params=request.query,
            headers=request.headers,
            content=request.body,
        )
    except httpx.TransportError as exc:
        TALLY["resets"] += 1
        return f"no answer ({exc!r}) to {request.describe()}", 0
    status = response.status_code
    TALLY[f"status {status // 100}xx"] += 1
    if status < 500:
        return None, status
    if _relayed(client, seed, response):
        TALLY["function 5xx"] += 1
        return None, status
    TALLY["server 5xx"] += 1
    return f"{status} {response.text[:300]!r} to {request.describe()}", status


def follow_up(template: Template, request: FuzzRequest) -> FuzzRequest | None:
    """After a write that succeeded, the request that uses what was written."""
    auth = [h for h in request.headers if h[0] == "authorization"]
    path, method = request.path, request.method
    if method not in ("PUT", "POST", "PATCH"):
        return None
    if template.path.endswith("/actions/{name:path}") and method == "PUT":
        return FuzzRequest("POST", path, [("blocking", "true")], auth, b'{"s": 201}')
    if template.path.endswith("/triggers/{name}") and method == "PUT":
        return FuzzRequest("POST", path, [], auth, b"{}")
    if template.path.endswith(("/packages/{name}", "/rules/{name}")):
        return FuzzRequest("GET", path, [], auth, None)
    if template.path == "/v1/apps/{app}/routes/{path:path}":
        app, _, route = path.removeprefix("/v1/apps/").partition("/routes/")
        return FuzzRequest("POST", f"/r/{app}/{route}", [], auth, b"{}")
    if template.path == "/system/functions" and request.body:
        try:
            service = json.loads(request.body).get("service")
        except (ValueError, AttributeError):
            return None
        return FuzzRequest("POST", f"/function/{service}", [], [], b"hello")
    return None


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.path for t in TEMPLATES])
def test_no_input_gets_a_5xx_or_no_answer(
    template: Template, fuzzed: tuple[SluiceServer, Seed]
) -> None:
    server, seed = fuzzed
    with server.client() as owner:
        restore(owner)
    failures: list[str] = []
    sent: set[str] = set()

    with httpx.Client(base_url=server.url, timeout=60) as client:
        # a seed of the route's own: the same requests every run, not the same for all routes
        @seeded(int.from_bytes(hashlib.sha256(template.path.encode()).digest()[:8]))
        @settings(
            max_examples=EXAMPLES,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(request=requests(template, seed))
        def fuzz(request: FuzzRequest) -> None:
            # Hypothesis draws some requests again (it mutates what it drew before): each
            # is sent once, and another drawn in its place
            assume(request.describe() not in sent)
            sent.add(request.describe())
            failure, status = send(client, seed, request)
            if failure is None and 200 <= status < 300:
                then = follow_up(template, request)
                failure = send(client, seed, then)[0] if then is not None else None
            if failure is not None:
                failures.append(failure)

        for given_request in explicit(template, seed):
            fuzz = example(request=given_request)(fuzz)
        fuzz()
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
