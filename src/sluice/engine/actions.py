"""Actions: validation, merge on update, versions. The stored doc follows OpenWhisk's action
record (exec, limits, parameters, annotations, publish), the richest of the three dialects."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from sluice.config import Settings
from sluice.engine import entities
from sluice.engine.entities import common_fields
from sluice.engine.functions import NETWORK, NETWORKS, REPLICAS, is_count
from sluice.engine.names import EntityPath, parse_path
from sluice.engine.secrets import SECRETS_ANNOTATION, wanted_names
from sluice.engine.sequence_exec import KIND as SEQUENCE
from sluice.engine.sequence_exec import is_sequence, sequence_exec
from sluice.errors import BadRequest, NotFound
from sluice.records import Entity
from sluice.store.base import Store

ACTIONS = "actions"
PACKAGES = "packages"
ZIP_MAGIC = b"PK\x03\x04"


def annotation(doc: dict[str, Any], key: str, default: Any = None) -> Any:
    for item in doc.get("annotations", []):
        if item.get("key") == key:
            return item.get("value")
    return default


def is_zip(code: str) -> bool:
    """Code is binary when it is base64 of a zip archive (clients send zips that way)."""
    head = code[:16].strip()
    if len(head) < 8:
        return False
    try:
        return base64.b64decode(head[:8], validate=True).startswith(ZIP_MAGIC)
    except (binascii.Error, ValueError):
        return False


#: (kind, base64 zip, namespace) -> the zip to store, its dependencies built (for that
#: namespace alone) and attached; raises BadRequest when the build fails
Prepare = Callable[[str, str, str], Awaitable[str]]
#: (namespace, sequence's path, its components) -> None once each component exists and
#: the sequence neither refers to itself nor runs too many actions; raises BadRequest
CheckSequence = Callable[[str, str, list[str]], Awaitable[None]]


class Actions:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        resolve_kind: Callable[[str], str | None],
        prepare: Prepare | None = None,
        check_sequence: CheckSequence | None = None,
        *,
        refuse_kind: Callable[[str], str] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.resolve_kind = resolve_kind
        self.prepare = prepare
        self.check_sequence = check_sequence
        #: why a kind is not served (what is installed, how to add it)
        self.refuse_kind = refuse_kind or (lambda kind: f"The kind '{kind}' is not supported.")

    # Validation -------------------------------------------------------------------------
    def _exec(self, value: Any, old: dict[str, Any] | None, namespace: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise BadRequest("The field 'exec' must be an object with 'kind' and 'code'.")
        kind_text = value.get("kind")
        if not isinstance(kind_text, str):
            raise BadRequest("The field 'exec.kind' is required.")
        if kind_text == SEQUENCE:
            return sequence_exec(namespace, value, self.settings.sequence_max_actions)
        if value.get("image") is not None:
            raise BadRequest(
                "Docker images are not supported; use kind 'blackbox' with a zip holding an"
                " executable named 'exec'."
            )
        kind = self.resolve_kind(kind_text)
        if kind is None:
            raise BadRequest(self.refuse_kind(kind_text))
        code = value.get("code", old.get("code") if old else None)
        # "" is code, as upstream takes it: the action is stored, and fails when it runs
        if not isinstance(code, str):
            raise BadRequest("The field 'exec.code' is required and must be a string.")
        binary = is_zip(code)
        if kind == "blackbox" and not binary:
            raise BadRequest("A blackbox action needs a base64 zip holding an executable 'exec'.")
        out: dict[str, Any] = {"kind": kind, "code": code, "binary": binary}
        main = value.get("main")
        if main is not None:
            if not isinstance(main, str) or not main:
                raise BadRequest("The field 'exec.main' must be a non-empty string.")
            out["main"] = main
        return out

    def _limit(self, limits: dict[str, Any], name: str, low: int, high: int, unit: str) -> None:
        value = limits.get(name)
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadRequest(f"The limit '{name}' must be an integer.")
        _check_range(name, value, low, high, f" {unit}")

    def _concurrency(self, limits: dict[str, Any]) -> int | None:
        """OpenWhisk's checks and words: a whole number (2.0 counts) in 1..concurrency_max."""
        value = limits.get("concurrency")
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, float):
            raise BadRequest("concurrency limit must be whole number")
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadRequest("concurrency limit malformed")
        _check_range("concurrency", value, 1, self.settings.concurrency_max, "")
        return value

    def _limits(self, value: Any, old: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise BadRequest("The field 'limits' must be an object.")
        s = self.settings
        self._limit(value, "timeout", s.timeout_min_ms, s.timeout_max_ms, "milliseconds")
        self._limit(value, "memory", s.memory_min_mb, s.memory_max_mb, "MB")
        self._limit(value, "logs", 0, s.logs_max_mb, "MB")
        concurrency = self._concurrency(value)
        base = old or {
            "timeout": s.timeout_default_ms,
            "memory": s.memory_default_mb,
            "logs": s.logs_default_mb,
            "concurrency": s.concurrency_default,
        }
        out = {k: value.get(k, base[k]) for k in ("timeout", "memory", "logs", "concurrency")}
        if concurrency is not None:
            out["concurrency"] = concurrency
        return out

    def validate(
        self, body: dict[str, Any], old: dict[str, Any] | None, namespace: str = "_"
    ) -> dict[str, Any]:
        """The new stored doc: `body` merged over `old` (fields absent keep their values)."""
        if old is None and "exec" not in body:
            raise BadRequest("The field 'exec' is required to create an action.")
        doc: dict[str, Any] = {}
        old_exec = old["exec"] if old else None
        new_exec = "exec" in body
        doc["exec"] = self._exec(body["exec"], old_exec, namespace) if new_exec else old_exec
        doc["limits"] = self._limits(body.get("limits", {}), old["limits"] if old else None)
        doc.update(common_fields(body, old))
        if is_sequence(doc):
            # as OpenWhisk: a sequence's only parameter names its components
            doc["parameters"] = [{"key": "_actions", "value": doc["exec"]["components"]}]
        annotations = [a for a in doc["annotations"] if a["key"] != "exec"]
        doc["annotations"] = [*annotations, {"key": "exec", "value": doc["exec"]["kind"]}]
        self._check_network(annotation(doc, NETWORK))
        wanted_names(annotation(doc, SECRETS_ANNOTATION))
        replicas = annotation(doc, REPLICAS)
        if replicas is not None and not is_count(replicas):
            raise BadRequest("The annotation 'replicas' must be a whole number, 0 or more.")
        return doc

    def _check_network(self, value: Any) -> None:
        """A function's own `network`: one the sandbox knows, the host's only if allowed."""
        if value is None:
            return
        if value not in NETWORKS:
            raise BadRequest(f"The annotation 'network' must be one of {', '.join(NETWORKS)}.")
        if value == "host" and not self.settings.host_network_allowed:
            raise BadRequest(
                "The annotation 'network' may be 'host' only where the operator allows it "
                "(SLUICE_FUNCTION_NETWORK_ALLOW_HOST=true)."
            )

    # Operations -------------------------------------------------------------------------
    async def _check_package(self, where: EntityPath) -> None:
        if where.package is None:
            return
        if await self.store.get_entity(where.namespace, PACKAGES, where.package) is None:
            raise NotFound(f"The package '{where.package}' does not exist.")

    async def put(self, namespace: str, path: str, body: dict[str, Any], overwrite: bool) -> Entity:
        where = parse_path(namespace, path)
        await self._check_package(where)

        async def build(old: dict[str, Any] | None) -> dict[str, Any]:
            doc = self.validate(body, old, namespace)
            exec_ = doc["exec"]
            if self.check_sequence is not None and is_sequence(doc) and "exec" in body:
                await self.check_sequence(namespace, where.path, exec_["components"])
            # new zip code is built before anything is stored: a failed build changes nothing
            if self.prepare is not None and "code" in body.get("exec", {}) and exec_["binary"]:
                exec_["code"] = await self.prepare(exec_["kind"], exec_["code"], namespace)
            return doc

        return await entities.upsert(self.store, namespace, ACTIONS, where.path, overwrite, build)

    async def get(self, namespace: str, path: str) -> Entity:
        return await entities.get(self.store, namespace, ACTIONS, parse_path(namespace, path).path)

    async def page(self, namespace: str, skip: int, limit: int) -> list[Entity]:
        return await self.store.list_entities(namespace, ACTIONS, skip, limit)

    async def count(self, namespace: str) -> int:
        return await self.store.count_entities(namespace, ACTIONS)

    async def delete(self, namespace: str, path: str) -> Entity:
        return await entities.delete(
            self.store, namespace, ACTIONS, parse_path(namespace, path).path
        )


def _check_range(name: str, value: int, low: int, high: int, unit: str) -> None:
    """OpenWhisk's words for a limit out of range (`unit` with its leading space, or "")."""
    if value < low:
        raise BadRequest(f"{name} {value}{unit} below allowed threshold of {low}{unit}")
    if value > high:
        raise BadRequest(f"{name} {value}{unit} exceeds allowed threshold of {high}{unit}")
