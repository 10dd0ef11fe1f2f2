"""Fn's route fields: what a route may hold, checked, with Fn's defaults and limits.

A route is stored as an action; these rules say which route fields are valid and how they
become the action's exec, limits and environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sluice.answers import valid_header
from sluice.errors import BadRequest

TYPES = ("sync", "async")
#: route format -> action kind
FORMAT_KINDS = {"default": "fn:default", "http-stream": "fn:http-stream", "json": "fn:json"}
RUNTIMES = ("go", "python", "node")
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_S = 30
DEFAULT_IDLE_TIMEOUT_S = 30
MAX_IDLE_TIMEOUT_S = 3600
#: the command that runs a function written for (runtime, format), as Fn's images run it
DEFAULT_CMDS = {
    ("go", "default"): "./func",
    ("go", "http-stream"): "./func",
    ("python", "default"): "python3 func.py",
    ("python", "http-stream"): "/python/bin/fdk /function/func.py handler",
    ("node", "default"): "node func.js",
    ("node", "http-stream"): "node func.js",
    ("go", "json"): "./func",
    ("python", "json"): "python3 func.py",
    ("node", "json"): "node func.js",
}
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"
_PATH = re.compile(rf"^(?:/{_SEGMENT})+$")
_APP = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class RouteFields:
    """A route as Fn describes it, plus what Sluice needs to run it (runtime, cmd)."""

    path: str
    image: str = ""
    type: str = "sync"
    format: str = "default"
    memory: int = DEFAULT_MEMORY_MB
    timeout: int = DEFAULT_TIMEOUT_S
    idle_timeout: int = DEFAULT_IDLE_TIMEOUT_S
    headers: dict[str, list[str]] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    runtime: str = ""
    cmd: str = ""
    #: Fn v2's own annotations of the function (the server's are added when shown)
    annotations: dict[str, Any] = field(default_factory=dict)
    #: Fn v2's triggers of the function: {name, type, source, annotations, created_at,
    #: updated_at}; changed only through `Apps.set_triggers`
    triggers: list[dict[str, Any]] = field(default_factory=list)

    def doc(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "image": self.image,
            "type": self.type,
            "format": self.format,
            "memory": self.memory,
            "timeout": self.timeout,
            "idle_timeout": self.idle_timeout,
            "headers": self.headers,
            "config": self.config,
            "runtime": self.runtime,
            "cmd": self.cmd,
            "annotations": self.annotations,
            "triggers": self.triggers,
        }


def check_app_name(name: str) -> str:
    if not _APP.match(name):
        raise BadRequest(
            f"Invalid app name '{name[:255]}': use 1 to 255 letters, digits, '-' or '_'."
        )
    return name


def check_path(path: str) -> str:
    if not _PATH.match(path):
        raise BadRequest(
            f"Invalid route path '{path[:255]}': it must start with '/' and have segments of"
            " letters, digits, '_', '-' and '.' (no ':' parameters, no root route)."
        )
    return path


def route_name(path: str) -> str:
    """The action name of the route at `path` ("/a/b" -> "a@b")."""
    return check_path(path)[1:].replace("/", "@")


def route_path(name: str) -> str:
    return "/" + name.replace("@", "/")


def _int(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadRequest(f"Invalid route {key} {value!r}: it must be an integer {low}..{high}.")
    return value


def _choice(body: dict[str, Any], key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = body.get(key, default)
    if value not in allowed:
        raise BadRequest(f"Invalid route {key} {value!r}: use one of {', '.join(allowed)}.")
    return str(value)


def config_map(value: Any, what: str) -> dict[str, str]:
    """Fn's config: variable names to string values."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid {what}: it must be an object of names to strings.")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise BadRequest(f"Invalid {what} key {key!r}: use letters, digits and '_'.")
        if not isinstance(item, str | int | float | bool):
            raise BadRequest(f"Invalid {what} value for {key}: it must be a string.")
        out[key] = str(item)
    return out


def annotation_map(value: Any, old: dict[str, Any], what: str) -> dict[str, Any]:
    """Fn's annotations merged over `old`: non-empty keys without blanks, JSON values; a
    key given as "" or null is removed."""
    if value is None:
        return dict(old)
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid {what} annotations: it must be an object.")
    out = dict(old)
    for key, item in value.items():
        if not key or not key.isascii() or any(c.isspace() for c in key) or len(key) > 128:
            raise BadRequest(
                "Invalid annotation key, annotation keys must be non-empty ascii strings"
                " excluding whitespace"
            )
        if item is None or item == "":
            out.pop(key, None)
        else:
            out[key] = item
    return out


def _headers(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("Invalid route headers: it must be an object of names to values.")
    out: dict[str, list[str]] = {}
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        if not all(isinstance(v, str) for v in items):
            raise BadRequest(f"Invalid route header {key!r}: values must be strings.")
        # sent with every answer of the route: each must be a header HTTP can carry
        if not all(valid_header(str(key), v) and _latin1(v) for v in items):
            raise BadRequest(
                f"Invalid route header {str(key)[:80]!r}: a name of letters, digits and"
                " '-', values of Latin-1 text without control characters."
            )
        out[str(key)] = list(items)
    return out


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def merge_route(
    path: str,
    body: dict[str, Any],
    old: RouteFields | None,
    max_timeout_s: int,
    default_format: str = "default",
) -> RouteFields:
    """`body`'s fields over `old`'s (or Fn's defaults), checked. A v2 function's format
    defaults to http-stream, the only one Fn's v2 runs."""
    base: dict[str, Any] = old.doc() if old is not None else {}
    merged = {**base, **{k: v for k, v in body.items() if v is not None}}
    if "config" in body and old is not None:
        merged["config"] = {
            **old.config,
            **config_map(body["config"], "route config"),
        }
        merged["config"] = {k: v for k, v in merged["config"].items() if v != ""}
    body_path = body.get("path")
    if body_path is not None and body_path != path:
        raise BadRequest(f"The route path in the body ({body_path!r}) differs from the URL's.")
    for key in ("image", "runtime", "cmd"):
        if not isinstance(merged.get(key, ""), str):
            raise BadRequest(f"Invalid route {key}: it must be a string.")
    runtime = merged.get("runtime", "")
    if runtime and runtime not in RUNTIMES:
        raise BadRequest(f"Invalid route runtime {runtime!r}: use one of {', '.join(RUNTIMES)}.")
    format_ = _choice(merged, "format", default_format, tuple(FORMAT_KINDS))
    cmd = merged.get("cmd") or DEFAULT_CMDS.get((runtime, format_), "")
    if not cmd:
        raise BadRequest(
            "Invalid route: give its cmd (the command that runs the function) or its runtime"
            f" ({', '.join(RUNTIMES)})."
        )
    return RouteFields(
        path=check_path(path),
        image=merged.get("image", ""),
        type=_choice(merged, "type", "sync", TYPES),
        format=format_,
        memory=_int(merged, "memory", DEFAULT_MEMORY_MB, 1, 8192),
        timeout=_int(merged, "timeout", DEFAULT_TIMEOUT_S, 1, max_timeout_s),
        idle_timeout=_int(merged, "idle_timeout", DEFAULT_IDLE_TIMEOUT_S, 1, MAX_IDLE_TIMEOUT_S),
        headers=_headers(merged.get("headers")),
        config=config_map(merged.get("config"), "route config"),
        runtime=runtime,
        cmd=cmd,
        annotations=annotation_map(body.get("annotations"), old.annotations if old else {}, "fn"),
        triggers=list(old.triggers) if old is not None else [],
    )


def route_from_doc(doc: dict[str, Any]) -> RouteFields:
    known = {k: v for k, v in doc.items() if k in RouteFields.__dataclass_fields__}
    return RouteFields(**known)
