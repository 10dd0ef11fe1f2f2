"""URLs and ready-to-paste curl lines for an action or a trigger (`get --url`, `get --curl`).

What the seed hoped `aio rt:trigger:get -v` would show: where to send the request and with
which credentials. `--curl` prints three lines: the URL, a curl line as it is, and the same
line with a JSON body for parameters.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from sluice.cli.output import annotation

Header = tuple[str, str]
#: the body of the "with parameters" variant, for the user to fill in
JSON_BODY = "{}"


def basic_auth(auth: str) -> str:
    """`Basic <base64 of uuid:key>`, the Authorization value of the namespace's key."""
    return "Basic " + base64.b64encode(auth.encode()).decode("ascii")


def _segment(text: str) -> str:
    return quote(text, safe="")


def _place(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """(namespace, package or "", name) of a record whose `namespace` may be `ns/pkg`."""
    namespace, _, package = str(record["namespace"]).partition("/")
    return namespace, package, str(record["name"])


def is_web_action(record: Mapping[str, Any]) -> bool:
    return annotation(record, "web-export", False) is True


def web_url(apihost: str, record: Mapping[str, Any], extension: str = "") -> str:
    """`{apihost}/api/v1/web/{ns}/{package or default}/{name}{extension}`."""
    namespace, package, name = _place(record)
    return (
        f"{apihost}/api/v1/web/{_segment(namespace)}/{_segment(package or 'default')}/"
        f"{_segment(name)}{extension}"
    )


def invoke_url(apihost: str, record: Mapping[str, Any]) -> str:
    """`{apihost}/api/v1/namespaces/{ns}/actions/[{package}/]{name}`."""
    namespace, package, name = _place(record)
    path = f"{_segment(package)}/{_segment(name)}" if package else _segment(name)
    return f"{apihost}/api/v1/namespaces/{_segment(namespace)}/actions/{path}"


def action_url(apihost: str, record: Mapping[str, Any]) -> str:
    """The web URL of a web action (no extension), else its invoke URL."""
    return web_url(apihost, record) if is_web_action(record) else invoke_url(apihost, record)


def trigger_url(apihost: str, record: Mapping[str, Any]) -> str:
    """`{apihost}/api/v1/namespaces/{ns}/triggers/{name}`: POST fires it."""
    namespace, _, name = _place(record)
    return f"{apihost}/api/v1/namespaces/{_segment(namespace)}/triggers/{_segment(name)}"


def web_auth_headers(record: Mapping[str, Any], auth: str) -> list[Header]:
    """What `require-whisk-auth` asks of a web request: the namespace's Basic credentials
    (true), the secret in `X-Require-Whisk-Auth` (a string or number), or nothing."""
    required = annotation(record, "require-whisk-auth")
    if required is True:
        return [("Authorization", basic_auth(auth))]
    if required is None or required is False:
        return []
    return [("X-Require-Whisk-Auth", str(required))]


def curl_command(
    url: str, method: str | None = None, headers: Sequence[Header] = (), data: str | None = None
) -> str:
    """One shell line; every word quoted as the shell needs."""
    words = ["curl"]
    if method:
        words += ["-X", method]
    words.append(url)
    for name, value in headers:
        words += ["-H", f"{name}: {value}"]
    if data is not None:
        words += ["-H", "Content-Type: application/json", "-d", data]
    return shlex.join(words)


def _usage(url: str, method: str | None, headers: Sequence[Header]) -> list[str]:
    """The URL, the plain curl line, and the one with a JSON body (always a POST)."""
    return [
        url,
        curl_command(url, method, headers),
        curl_command(url, "POST", headers, JSON_BODY),
    ]


def trigger_curl(apihost: str, auth: str, record: Mapping[str, Any]) -> list[str]:
    """Firing a trigger: POST with the namespace's Basic credentials."""
    return _usage(trigger_url(apihost, record), "POST", [("Authorization", basic_auth(auth))])


def action_curl(apihost: str, auth: str, record: Mapping[str, Any]) -> list[str]:
    """A web action: its `.json` URL, with the auth `require-whisk-auth` asks for; any other
    action: a non-blocking invoke (answers `{"activationId"}`) with Basic credentials."""
    if is_web_action(record):
        return _usage(web_url(apihost, record, ".json"), None, web_auth_headers(record, auth))
    return _usage(invoke_url(apihost, record), "POST", [("Authorization", basic_auth(auth))])
