"""A small typed client for Sluice's OpenWhisk REST API (and its live call state route)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote

import httpx
import orjson

from sluice.cli.clientconfig import CALLER_NAMESPACE, ClientConfig

Json = dict[str, Any]

#: the server holds a blocking invoke (and a call-state long poll) up to 60 s
READ_TIMEOUT_SECONDS = 90.0
CONNECT_TIMEOUT_SECONDS = 10.0
#: what `?wait=` may ask of the call-state route at most
MAX_CALL_WAIT_SECONDS = 60.0


class ClientError(Exception):
    """An error answer from the server (`status` set) or no answer at all (`status` None)."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.message} ({status_text(self.status)})"


def status_text(status: int) -> str:
    """`404 Not Found`; just the number for a status without a standard phrase."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


@dataclass(frozen=True)
class EntityName:
    """An entity's name as typed: `name`, `pkg/name`, `/ns/name`, `/ns/pkg/name`, `ns/pkg/name`.

    `namespace` is None when the name does not say; `path` is `name` or `pkg/name`.
    """

    namespace: str | None
    path: str

    @classmethod
    def parse(cls, text: str) -> EntityName:
        parts = text.split("/")
        if text.startswith("/"):
            parts = parts[1:]
            if len(parts) not in (2, 3):
                raise ValueError(f"'{text}' is not /namespace/name or /namespace/package/name")
            namespace: str | None = parts[0]
            rest = parts[1:]
        elif len(parts) == 3:
            namespace, rest = parts[0], parts[1:]
        elif len(parts) in (1, 2):
            namespace, rest = None, parts
        else:
            raise ValueError(f"'{text}' has too many parts for an entity name")
        if not all(rest) or namespace == "":
            raise ValueError(f"'{text}' has an empty part")
        return cls(namespace, "/".join(rest))

    @property
    def package(self) -> str | None:
        return self.path.split("/")[0] if "/" in self.path else None

    @property
    def leaf(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Invoked:
    """What an invoke answered: 202 `{"activationId"}`, or 200/500/502 with the activation."""

    status: int
    body: Json

    @property
    def finished(self) -> bool:
        return self.status != 202


#: the most of a plain-text error shown: OpenFaaS's errors are text, and a failed build's
#: carries its log (the compiler's or pip's own words come last)
_TEXT_ERROR_MAX = 8192


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    text = response.text.strip()
    if not text or text.startswith(("{", "<")):
        return "request failed"
    return text if len(text) <= _TEXT_ERROR_MAX else "..." + text[-_TEXT_ERROR_MAX:]


_ENTITY_PATH = re.compile(
    r"/(?:api|sluice)/v1/namespaces/(?P<ns>[^/]+)"
    r"/(?P<kind>actions|triggers|rules|packages|activations|calls)"
    r"/(?P<name>[^?]+?)(?:/(?:result|logs))?$"
)
_KINDS = {
    "actions": "action",
    "triggers": "trigger",
    "rules": "rule",
    "packages": "package",
    "activations": "activation",
    "calls": "call",
}


def what_is_missing(path: str) -> str | None:
    """`action guest/hello` for a 404 on that entity's route: OpenWhisk's answer only says
    "The requested resource does not exist."."""
    found = _ENTITY_PATH.fullmatch(path)
    if found is None:
        return None
    namespace, name = unquote(found["ns"]), unquote(found["name"])
    named = (
        name
        if found["kind"] in ("activations", "calls") or namespace == "_"
        else f"{namespace}/{name}"
    )
    return f"{_KINDS[found['kind']]} {named}"


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ClientError(response.status_code, "the server's answer is not JSON") from exc


def _drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class SluiceClient:
    """One connection pool to one Sluice server, authenticated as one namespace key."""

    def __init__(self, config: ClientConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        user, _, password = config.auth.partition(":")
        self._http = httpx.Client(
            base_url=config.apihost,
            auth=httpx.BasicAuth(user, password),
            headers={"accept": "application/json", "user-agent": "sluice-cli"},
            timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
            transport=transport,
        )

    def __enter__(self) -> SluiceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Plumbing --------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Json | None = None,
        accept: tuple[int, ...] = (),
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send `body` as JSON (or raw `content`); an answer outside 2xx (and not in
        `accept`) raises ClientError."""
        if body is not None:
            content = orjson.dumps(body)
            headers = {**(headers or {}), "content-type": "application/json"}
        try:
            response = self._http.request(
                method, path, params=_drop_none(params or {}), content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise ClientError(
                None, f"Sluice at {self.config.apihost} did not answer in time"
            ) from exc
        except httpx.HTTPError as exc:
            raise ClientError(
                None, f"cannot reach Sluice at {self.config.apihost}: is `sluice serve` running?"
            ) from exc
        if response.is_success or response.status_code in accept:
            return response
        message = _error_message(response)
        missing = what_is_missing(path) if response.status_code == 404 else None
        raise ClientError(response.status_code, f"{missing}: {message}" if missing else message)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _decode(self._request(method, path, **kwargs))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any route (other dialects' too), with the namespace's key; see `_request`."""
        return self._request(method, path, **kwargs)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any route's JSON answer, with the namespace's key."""
        return self._json(method, path, **kwargs)

    def _namespace(self, name: EntityName | None = None) -> str:
        namespace = (name.namespace if name else None) or self.config.namespace
        return quote(namespace or CALLER_NAMESPACE, safe="")

    def _collection(self, collection: str, name: EntityName | None = None) -> str:
        """`/api/v1/namespaces/{ns}/{collection}`, in the name's namespace if it has one."""
        return f"/api/v1/namespaces/{self._namespace(name)}/{collection}"

    def _entity(self, collection: str, name: EntityName) -> str:
        return f"{self._collection(collection, name)}/{quote(name.path, safe='/')}"

    # Namespaces ------------------------------------------------------------------------------
    def namespaces(self) -> list[str]:
        found: list[str] = self._json("GET", "/api/v1/namespaces")
        return found

    # Entities: actions, triggers, rules, packages ----------------------------------------------
    def put_entity(
        self, collection: str, name: EntityName, body: Json, overwrite: bool = False
    ) -> Json:
        """Create (409 if it exists) or, with `overwrite`, update: the server merges `body`."""
        params = {"overwrite": "true"} if overwrite else None
        found: Json = self._json("PUT", self._entity(collection, name), params=params, body=body)
        return found

    def get_entity(
        self, collection: str, name: EntityName, params: Mapping[str, Any] | None = None
    ) -> Json:
        found: Json = self._json("GET", self._entity(collection, name), params=params)
        return found

    def list_entities(
        self, collection: str, limit: int | None = None, skip: int | None = None
    ) -> list[Json]:
        params = {"limit": limit, "skip": skip}
        found: list[Json] = self._json("GET", self._collection(collection), params=params)
        return found

    def count_entities(self, collection: str) -> int:
        found: Json = self._json("GET", self._collection(collection), params={"count": "true"})
        return int(found[collection])

    def delete_entity(
        self, collection: str, name: EntityName, params: Mapping[str, Any] | None = None
    ) -> Json:
        found: Json = self._json("DELETE", self._entity(collection, name), params=params)
        return found

    # Actions ---------------------------------------------------------------------------------
    def put_action(self, name: EntityName, body: Json, overwrite: bool) -> Json:
        return self.put_entity("actions", name, body, overwrite)

    def get_action(self, name: EntityName, code: bool) -> Json:
        return self.get_entity("actions", name, {"code": "true" if code else "false"})

    def list_actions(self, limit: int | None = None, skip: int | None = None) -> list[Json]:
        return self.list_entities("actions", limit, skip)

    def count_actions(self) -> int:
        return self.count_entities("actions")

    def delete_action(self, name: EntityName) -> Json:
        return self.delete_entity("actions", name)

    def invoke(self, name: EntityName, params: Json, blocking: bool) -> Invoked:
        """A failed blocking invoke (500/502 with the activation) is an answer, not an error."""
        query = {"blocking": "true" if blocking else "false"}
        accept = (500, 502) if blocking else ()
        response = self._request(
            "POST", self._entity("actions", name), params=query, body=params, accept=accept
        )
        body = _decode(response)
        if not (isinstance(body, dict) and "activationId" in body):
            raise ClientError(response.status_code, _error_message(response))
        return Invoked(response.status_code, body)

    # Triggers and rules ----------------------------------------------------------------------
    def fire_trigger(self, name: EntityName, params: Json) -> str | None:
        """The trigger activation's id; None when no rule is active (204, nothing ran)."""
        response = self._request("POST", self._entity("triggers", name), body=params)
        if response.status_code == 204:
            return None
        body = _decode(response)
        if not (isinstance(body, dict) and isinstance(body.get("activationId"), str)):
            raise ClientError(response.status_code, _error_message(response))
        return str(body["activationId"])

    def set_rule_status(self, name: EntityName, status: str) -> None:
        """`active` or `inactive`; the server answers a plain `OK`."""
        self._request("POST", self._entity("rules", name), body={"status": status})

    # Activations -----------------------------------------------------------------------------
    def list_activations(
        self,
        name: EntityName | None = None,
        limit: int | None = None,
        skip: int | None = None,
        since: int | None = None,
        upto: int | None = None,
        docs: bool = False,
    ) -> list[Json]:
        params = self._activation_filter(name, since, upto)
        params.update(limit=limit, skip=skip, docs="true" if docs else None)
        found: list[Json] = self._json("GET", self._collection("activations", name), params=params)
        return found

    def count_activations(
        self, name: EntityName | None = None, since: int | None = None, upto: int | None = None
    ) -> int:
        params = self._activation_filter(name, since, upto)
        params["count"] = "true"
        found: Json = self._json("GET", self._collection("activations", name), params=params)
        return int(found["activations"])

    @staticmethod
    def _activation_filter(
        name: EntityName | None, since: int | None, upto: int | None
    ) -> dict[str, Any]:
        return {"name": name.path if name else None, "since": since, "upto": upto}

    def get_activation(self, activation_id: str) -> Json:
        found: Json = self._json("GET", self._activation_path(activation_id))
        return found

    def activation_result(self, activation_id: str) -> Json:
        found: Json = self._json("GET", self._activation_path(activation_id, "result"))
        return found

    def activation_logs(self, activation_id: str) -> list[str]:
        found: Json = self._json("GET", self._activation_path(activation_id, "logs"))
        logs: list[str] = found.get("logs", [])
        return logs

    def _activation_path(self, activation_id: str, tail: str = "") -> str:
        path = f"/api/v1/namespaces/{self._namespace()}/activations/{quote(activation_id, safe='')}"
        return f"{path}/{tail}" if tail else path

    # Sluice's live call state ----------------------------------------------------------------
    def list_live_calls(self, limit: int | None = None) -> list[Json]:
        """The namespace's calls not ended yet (queued, running), newest first."""
        path = f"/sluice/v1/namespaces/{self._namespace()}/calls"
        found: list[Json] = self._json("GET", path, params={"limit": limit})
        return found

    def get_call(self, call_id: str, wait: float | None = None) -> Json:
        """The call's live state; with `wait`, held until terminal or `wait` seconds pass."""
        params = {"wait": min(wait, MAX_CALL_WAIT_SECONDS) if wait else None}
        path = f"/sluice/v1/namespaces/{self._namespace()}/calls/{quote(call_id, safe='')}"
        found: Json = self._json("GET", path, params=params)
        return found

    def stats(self, window: int | None = None) -> Json:
        """The namespace's queue, running calls, rates and slowest functions (`sluice top`)."""
        path = f"/sluice/v1/namespaces/{self._namespace()}/stats"
        found: Json = self._json("GET", path, params={"window": window})
        return found
