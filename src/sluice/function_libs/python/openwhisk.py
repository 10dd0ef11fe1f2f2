"""Call the platform from inside a Python function, like `require("openwhisk")` in Node.js.

    import openwhisk

    ow = openwhisk.client()                  # credentials from __OW_API_HOST / __OW_API_KEY
    started = ow.invoke("worker", {"n": 1})  # non-blocking: {"activationId": "..."}
    result = ow.invoke("adder", {"a": 1}, blocking=True, result=True)
    ow.fire("my-trigger", {"from": "python"})
    record = ow.activation(started["activationId"])

Calls it makes carry the running call's `traceparent` (__OW_TRACEPARENT): the calls they
start are spans of the same trace.

Only the standard library: functions run without Sluice's packages on their path.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class OpenWhiskError(Exception):
    def __init__(self, status: int, message: str, body: Any) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


class Client:
    def __init__(
        self,
        api_host: str | None = None,
        api_key: str | None = None,
        namespace: str | None = None,
        timeout: float = 70.0,
    ) -> None:
        host = api_host or os.environ.get("__OW_API_HOST", "")
        key = api_key or os.environ.get("__OW_API_KEY", "")
        if not host or not key:
            raise ValueError("no API host or key: set __OW_API_HOST and __OW_API_KEY")
        self.base = (host if "://" in host else "https://" + host).rstrip("/") + "/api/v1"
        self.namespace = namespace or os.environ.get("__OW_NAMESPACE", "_")
        self.timeout = timeout
        self._auth = "Basic " + base64.b64encode(key.encode()).decode()

    def _path(self, collection: str, name: str) -> str:
        """`name`, `pkg/name`, `/ns/name` or `/ns/pkg/name`."""
        if name.startswith("/"):
            namespace, _, rest = name[1:].partition("/")
        else:
            namespace, rest = self.namespace, name
        quoted = "/".join(urllib.parse.quote(p, safe="") for p in rest.split("/"))
        return f"/namespaces/{urllib.parse.quote(namespace)}/{collection}/{quoted}"

    def request(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: str(v).lower() for k, v in query.items()})
        data = json.dumps(body if body is not None else {}).encode() if method != "GET" else None
        req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http(s) only)
        req.add_header("Authorization", self._auth)
        req.add_header("Content-Type", "application/json")
        # the call this function runs for: what it starts joins the same trace
        traceparent = os.environ.get("__OW_TRACEPARENT")
        if traceparent:
            req.add_header("traceparent", traceparent)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")
            message = parsed.get("error", "") if isinstance(parsed, dict) else str(parsed)
            if exc.code == 202 or (exc.code == 502 and isinstance(parsed, dict)):
                return parsed
            raise OpenWhiskError(exc.code, str(message), parsed) from None
        return json.loads(raw) if raw else None

    def invoke(
        self,
        name: str,
        params: dict[str, Any] | None = None,
        blocking: bool = False,
        result: bool = False,
    ) -> Any:
        """Non-blocking: {"activationId"}. Blocking: the activation (or its result), or
        {"activationId"} when it outlasted the wait."""
        return self.request(
            "POST", self._path("actions", name), params or {}, blocking=blocking, result=result
        )

    def fire(self, trigger: str, params: dict[str, Any] | None = None) -> Any:
        """{"activationId"} of the trigger's activation, or None when no rule is active."""
        return self.request("POST", self._path("triggers", trigger), params or {})

    def activation(self, activation_id: str) -> Any:
        return self.request("GET", f"/namespaces/{self.namespace}/activations/{activation_id}")

    def result(self, activation_id: str) -> Any:
        path = f"/namespaces/{self.namespace}/activations/{activation_id}/result"
        return self.request("GET", path)


def client(**options: Any) -> Client:
    return Client(**options)
