"""Hypothesis strategies for hostile requests: any method, path segments that name real
things or nothing, query values past SQLite's integers (2^63 and up), negative, floats,
unicode and empty, credentials good and bad, odd headers, and bodies that are malformed
JSON, the wrong types in a valid body, deep nesting, huge strings within the limits, or
bytes."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from tests.http.fuzz_routes import Template
from tests.http.fuzz_seed import ECHO_JS, FAAS_FUNCTION, FN_PATH, Seed, basic
from tests.runtime.helpers import zip_b64

Json = Any

#: well-formed call ids of no call
SOME_HEX = "0123456789abcdef0123456789abcdef"
SOME_UUID = "01234567-89ab-cdef-0123-456789abcdef"
SOME_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

#: most hostile first: Hypothesis draws the first of a list most often
HUGE_INTS = [2**63, 2**64 - 1, 10**30, -(2**63) - 1, 2**64, 2**63 - 1, -1, 0]
NUMBERISH = [
    *map(str, HUGE_INTS),
    *["1.5", "-0.0", "1e309", "-1e309", "nan", "NaN", "inf", "-inf", "0x1f", " 7", "7 "],
    *["1_000", "\u0663", "\u00b2", "+3", "", "true", "null", "99999999999999999999.5"],
]
ODD_TEXT = [
    *["", " ", "_", ".", "..", "%", "%00", "\x00", "\u00e9", "\u2603", "\U0001f986", "\u202e"],
    *["a" * 300, "<b>", "'\"", "../../etc/passwd", "\r", "\n", "a/b", "a.b.c", "\\"],
]
HEADER_NAMES = [
    *["x-callback-url", "x-delay-seconds", "x-run-at", "idempotency-key", "x-call-id"],
    *["fn-invoke-type", "accept", "x-require-whisk-auth", "x-request-id", "origin"],
    *["access-control-request-headers", "x-forwarded-for", "cookie", "range", "expect"],
    *["content-encoding", "accept-encoding", "x-correlation-id", "traceparent"],
]
CONTENT_TYPES = [
    *["application/json", "application/json; charset=utf-8", "text/plain", "text/html"],
    *["application/x-www-form-urlencoded", "application/octet-stream", "multipart/form-data"],
    *["application/vnd.x+json", "", "*/*", "text/plain; charset=\u00ff", "json"],
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FOO"]
#: a value each query parameter's route takes, so that one hostile value is not hidden
#: behind another's 400
VALID_QUERY = {
    **{"skip": "0", "limit": "5", "count": "false", "docs": "true", "name": "fz-echo"},
    **{"since": "0", "upto": "0", "blocking": "true", "result": "false", "timeout": "1000"},
    **{"overwrite": "true", "code": "false", "force": "false", "wait": "0", "per_page": "10"},
    **{"cursor": "", "from_time": "0", "to_time": "0", "path": "/fz", "function": FAAS_FUNCTION},
    **{"s": "201", "b": "x"},
}
QUERY_KEYS = list(VALID_QUERY)
#: what a request's hostile part is; the rest of it is what the route takes
FOCUS = ("query", "query", "body", "body", "segment", "header", "auth", "method", "everything")
#: the request parameter limit (SLUICE_REQUEST_MAX_BYTES's default) and either side of it
LIMIT = 1_048_576


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, bytes]]
    body: bytes | None

    def describe(self) -> str:
        body = "" if self.body is None else f" body[{len(self.body)}]={self.body[:300]!r}"
        return f"{self.method} {self.path} query={self.query} headers={self.headers}{body}"


def numberish() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NUMBERISH), st.integers().map(str), st.floats().map(repr))


def text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=30))


def header_value() -> st.SearchStrategy[bytes]:
    """What a client can put in a header: visible latin-1, no control characters."""
    visible = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
    words = st.one_of(
        st.sampled_from([s for s in NUMBERISH + ODD_TEXT if s.isprintable()]),
        st.text(alphabet=visible, max_size=40),
        st.just(SOME_UUID),
        st.just("http://127.0.0.1:9/cb"),
    )
    return words.map(lambda s: s.strip().encode("latin-1", "replace"))


def hostile_json(depth: int = 3) -> st.SearchStrategy[Json]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(HUGE_INTS),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(NUMBERISH + ODD_TEXT),
        st.text(max_size=20),
        st.just("x" * 70_000),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.one_of(st.sampled_from(QUERY_KEYS), text()), inner, max_size=3),
        ),
        max_leaves=depth * 3,
    )


def nested(depth: int, as_dict: bool) -> bytes:
    if as_dict:
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth + b"]" * depth


def mutated(value: Json) -> st.SearchStrategy[Json]:
    """`value` with any of its fields kept, dropped, or given a hostile value."""
    if isinstance(value, dict):
        fields = {key: mutated(item) for key, item in value.items()}
        return st.one_of(
            st.fixed_dictionaries(fields),
            st.fixed_dictionaries({}, optional=fields),
            st.fixed_dictionaries(fields, optional={"extra": hostile_json()}),
        )
    if isinstance(value, list):
        return st.one_of(st.lists(st.one_of(*[mutated(v) for v in value]), max_size=3))
    return st.one_of(st.just(value), st.just(value), hostile_json(1))


def valid_body(template: Template, method: str) -> Json:
    """A body the route would accept, for `mutated` to break."""
    path = template.path
    action = {
        "exec": {"kind": "nodejs:default", "code": ECHO_JS},
        "limits": {"timeout": 1000, "memory": 256, "logs": 10, "concurrency": 1},
        "parameters": [{"key": "a", "value": 1}, {"key": "s", "value": 200, "init": False}],
        "annotations": [{"key": "web-export", "value": True}, {"key": "raw-http", "value": 1}],
        "publish": False,
    }
    answer = {"s": 200, "h": {"x-a": "b", "content-type": "text/plain"}, "b": "hi", "base64": False}
    #: what the alarm feeds (/whisk.system/alarms/*) take, beside the echo's fields
    feed = {
        **{"lifecycleEvent": "CREATE", "triggerName": "/_/fz-trig", "cron": "* * * * *"},
        **{"timezone": "UTC", "minutes": 5, "date": "2030-01-01T00:00:00Z", "startDate": 0},
    }
    route = {
        "path": FN_PATH,
        "runtime": "python",
        "image": "fz:1",
        "type": "sync",
        "format": "default",
        "memory": 128,
        "timeout": 30,
        "idle_timeout": 30,
        "headers": {"X-A": ["b"]},
        "config": {"A": "b"},
        "cmd": "python3 func.py",
        "code": zip_b64({"func.py": "print('hi')"}),
    }
    deployment = {
        "service": FAAS_FUNCTION,
        "envProcess": "cat",
        "image": "fz/of:1",
        "envVars": {"exec_timeout": "10s", "mode": "http"},
        "labels": {"a": "b"},
        "annotations": {"com.openfaas.queue": "q", "com.openfaas.retry.attempts": "2"},
        "limits": {"memory": "128Mi"},
    }
    if "/actions/" in path:
        return action if method == "PUT" else {**answer, **feed}
    if "/triggers/" in path:
        return {"parameters": [{"key": "a", "value": 1}]} if method == "PUT" else {"a": 1}
    if "/rules/" in path:
        if method == "PUT":
            return {"trigger": "/_/fz-trig", "action": "/_/fz-echo", "status": "active"}
        return {"status": "inactive"}
    if "/packages/" in path:
        binding = {"namespace": "guest", "name": "fz-pkg"}
        return {"parameters": [{"key": "a", "value": 1}], "binding": binding, "publish": True}
    if path.startswith("/v1/apps"):
        if "routes" in path:
            return {"route": route}
        return {"app": {"name": "fz-new", "config": {"A": "b"}}}
    if path.startswith("/system/functions"):
        return deployment if method != "DELETE" else {"functionName": "fz-gone"}
    return answer


def pick(draw: st.DrawFn, *choices: tuple[int, st.SearchStrategy[Any]]) -> Any:
    """A draw from one of `choices`, each as likely as its weight."""
    n = draw(st.integers(0, sum(weight for weight, _ in choices) - 1))
    for weight, strategy in choices:
        if n < weight:
            return draw(strategy)
        n -= weight
    raise AssertionError("unreachable")


def chance(draw: st.DrawFn, percent: int) -> bool:
    return draw(st.integers(0, 99)) < percent


def _form(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs).encode()


def hostile_body(draw: st.DrawFn, template: Template, method: str) -> bytes | None:
    valid = mutated(valid_body(template, method)).map(lambda v: json.dumps(v).encode())
    malformed = [b"{", b'{"a":', b"[1,2", b"nul", b"\xff\xfe", b'{"a":1}x', b"NaN", b"1e99999"]
    odd = [b"\x00" * 200_000, nested(130, as_dict=True), nested(260, False), nested(1100, False)]
    huge = [b"x" * (LIMIT + 10), json.dumps({"b": "y" * (LIMIT - 100)}).encode()]
    body: bytes | None = pick(
        draw,
        (50, valid),
        (12, hostile_json().map(lambda v: json.dumps(v).encode())),
        (12, st.sampled_from(malformed + odd)),
        (10, st.binary(max_size=200)),
        (10, st.lists(st.tuples(text(), text()), max_size=3).map(_form)),
        (6, st.sampled_from(huge)),
    )
    return body


def hostile_segment(draw: st.DrawFn) -> str:
    value: str = pick(
        draw,
        (40, text()),
        (40, numberish()),
        (20, st.sampled_from([SOME_HEX, SOME_UUID, SOME_ULID])),
    )
    return value


def hostile_credentials(draw: st.DrawFn, seed: Seed) -> str | None:
    uuid = seed.guest_key.partition(":")[0]
    bad = [
        "Basic",
        "Basic !!!",
        basic("nope"),
        "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
        basic(f"{uuid}:{'0' * 64}"),
        basic(seed.guest_key + "x"),
        "Bearer",
        "Bearer x",
        "Digest abc",
        "Basic \u00ff\u00fe",
        "Bearer \u00e9:\u00e9",
    ]
    auth: str | None = pick(
        draw,
        (25, st.just("Bearer " + seed.guest_key)),
        (25, st.just(basic(seed.other_key))),
        (25, st.none()),
        (25, st.sampled_from(bad)),
    )
    return auth


#: the query parameters each kind of route reads (by how its path ends), for the fuzz to
#: reach them more often than by chance; any route may get any of QUERY_KEYS too
ROUTE_KEYS = {
    "/activations": ["skip", "limit", "count", "docs", "name", "since", "upto"],
    "/actions": ["skip", "limit", "count"],
    "/triggers": ["skip", "limit", "count"],
    "/rules": ["skip", "limit", "count"],
    "/packages": ["skip", "limit", "count"],
    "/actions/{name:path}": ["blocking", "result", "timeout", "overwrite", "code"],
    "/{name}": ["overwrite", "force", "wait"],
    "/calls": ["per_page", "cursor", "from_time", "to_time", "path"],
    "/calls/{call}": ["wait"],
    "/calls/{id}": ["wait"],
    "/log": ["wait"],
    "/routes": ["per_page", "cursor"],
    "/apps": ["per_page", "cursor"],
    "/dead-letters": ["function"],
    "{rest:path}": ["s", "b"],
}


def route_keys(template: Template) -> list[str]:
    for ending, keys in ROUTE_KEYS.items():
        if template.path.endswith(ending):
            return keys
    return QUERY_KEYS


def past_int64(template: Template, seed: Seed) -> list[FuzzRequest]:
    """Each query parameter the route reads at 2^63, the first integer SQLite cannot hold,
    by each of its methods, the rest of the request as the route takes it: every run,
    whatever Hypothesis draws."""
    if not any(template.path.endswith(ending) for ending in ROUTE_KEYS):
        return []
    path = _seed_path(template, seed)
    auth = [("authorization", basic(seed.guest_key).encode())]
    return [
        FuzzRequest(method, path, [(key, str(2**63))], auth, _valid_bytes(template, method))
        for method in template.methods
        if method not in ("HEAD", "OPTIONS")
        for key in route_keys(template)
    ]


#: answers a function may give that HTTP cannot carry as they are (for ANSWER_JS's fields)
BAD_ANSWERS = [
    *[{"s": status, "b": "body"} for status in (0, 99, 101, 204, 304, 1000, 2**63)],
    *[{"h": {"x-a": "a\nb"}}, {"h": {"bad name": "x"}}, {"h": {"content-type": "\u20ac"}}],
    *[{"h": {"content-type": []}}, {"h": {"content-length": "1"}}, {"h": {"x-a": "\u20ac"}}],
]
#: route headers Fn sends with every answer of the route, that HTTP cannot carry
BAD_ROUTE_HEADERS = [{"X-A": ["a\nb"]}, {"bad name": ["x"]}, {"X-A": ["\u20ac"]}]


def explicit(template: Template, seed: Seed) -> list[FuzzRequest]:
    """The requests each run sends whatever Hypothesis draws: integers past SQLite's,
    JSON nested past what orjson writes, answers and route headers HTTP cannot carry."""
    auth = [("authorization", basic(seed.guest_key).encode())]
    as_json = [*auth, ("content-type", b"application/json")]
    deep = [
        FuzzRequest(method, _seed_path(template, seed), [], as_json, nested(200, as_dict=True))
        for method in template.methods
        if method in ("PUT", "POST", "PATCH")
    ]
    answers: list[FuzzRequest] = []
    if template.path.startswith(("/api/v1/web/", "/function/{name}")):
        path = "/api/v1/web/_/default/fz-web.http" if "web" in template.path else "/function/fz-web"
        path = path.replace("/_/", f"/{seed.known['ns'][1]}/")
        answers = [
            FuzzRequest("POST", path, [], as_json, json.dumps(a).encode()) for a in BAD_ANSWERS
        ]
    if template.path == "/v1/apps/{app}/routes/{path:path}":
        route = valid_body(template, "PUT")["route"]
        answers = [
            FuzzRequest(
                "PUT",
                _seed_path(template, seed),
                [],
                as_json,
                json.dumps({"route": {**route, "headers": h}}).encode(),
            )
            for h in BAD_ROUTE_HEADERS
        ]
    return past_int64(template, seed) + deep + answers


def _seed_path(template: Template, seed: Seed) -> str:
    """The route's path naming the seed's first entity of each parameter."""
    values = {name: (seed.known.get(name) or ["x"])[0] for name, _ in template.params}
    return template.fill({k: quote(v) for k, v in values.items()})


def _valid_bytes(template: Template, method: str) -> bytes | None:
    if method not in ("PUT", "POST", "PATCH"):
        return None
    return json.dumps(valid_body(template, method)).encode()


def hostile_query(draw: st.DrawFn, template: Template) -> list[tuple[str, str]]:
    """One parameter with a hostile value (mostly one the route reads), now and then beside
    others that are fine, or a name no route reads."""
    value = pick(
        draw,
        (40, st.sampled_from([str(v) for v in HUGE_INTS])),
        (30, numberish()),
        (30, text()),
    )
    keys = route_keys(template)
    key = pick(draw, (70, st.sampled_from(keys)), (30, st.sampled_from(QUERY_KEYS)))
    pairs = [(key, value)]
    if chance(draw, 30):
        others = draw(st.lists(st.sampled_from(keys), max_size=3))
        pairs += [(other, VALID_QUERY[other]) for other in others if other != key]
    if chance(draw, 10):
        pairs.append((draw(text()), draw(numberish())))
    return pairs


@st.composite
def requests(draw: st.DrawFn, template: Template, seed: Seed) -> FuzzRequest:
    focus = draw(st.sampled_from(FOCUS))
    wild = focus == "everything"
    method = draw(
        st.sampled_from(METHODS if focus in ("method", "everything") else template.methods)
    )
    values = {
        name: draw(st.sampled_from(seed.known.get(name) or ["x"])) for name, _ in template.params
    }
    if (focus == "segment" or wild) and values:
        for name in draw(st.lists(st.sampled_from(sorted(values)), min_size=1, unique=True)):
            values[name] = hostile_segment(draw)
    slashes = dict(template.params)
    path = template.fill({k: quote(v, safe="/" if slashes[k] else "") for k, v in values.items()})
    auth = hostile_credentials(draw, seed) if focus == "auth" or wild else basic(seed.guest_key)
    headers = [("authorization", auth.encode())] if auth is not None else []
    content_type = draw(st.sampled_from(CONTENT_TYPES)) if focus == "header" or wild else None
    if content_type is not None:
        headers.append(("content-type", content_type.encode("latin-1", "replace")))
    if focus == "header" or wild:
        pairs = st.tuples(st.sampled_from(HEADER_NAMES), header_value())
        headers += draw(st.lists(pairs, min_size=1, max_size=3))
    query = hostile_query(draw, template) if focus == "query" or wild else []
    if focus == "body" or wild:
        body = hostile_body(draw, template, method)
    else:
        body = _valid_bytes(template, method)
    return FuzzRequest(method, path, query, headers, body)
