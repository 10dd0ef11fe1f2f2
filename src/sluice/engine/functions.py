"""A stored action as the engine and the dialects read it: one frozen view, parsed once per
version of the action. The stored document keeps OpenWhisk's action record (`exec`,
`limits`, `parameters`, `annotations`), which `actions.py` writes and OpenWhisk's wire shows
as it is; every other reader asks this view, so the document's shape and the annotations
each dialect reads by name are known here alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

from sluice.engine.secrets import SECRETS_ANNOTATION as SECRETS
from sluice.engine.secrets import wanted_names
from sluice.engine.sequence_exec import KIND as SEQUENCE
from sluice.errors import BadRequest
from sluice.kinds import calls_per_process
from sluice.numbers import INT64_MAX, whole_number
from sluice.records import Entity

#: the annotation naming what a function's processes can reach, and its values (the
#: sandbox's networks)
NETWORK = "network"
NETWORKS = ("none", "api-only", "egress", "host")
#: warm processes kept of the function (OpenFaaS's replicas; 0: scaled to zero)
REPLICAS = "replicas"
#: seconds a warm process of it may stay idle (Fn's idle_timeout)
IDLE_TIMEOUT = "idle-timeout"
#: OpenFaaS's named queue of the function's async calls
QUEUE = "com.openfaas.queue"
#: its cap on running calls: an envVar (as the watchdog's) or `com.openfaas.max_inflight`
MAX_INFLIGHT = "max_inflight"
#: what Fn shows of a route (set when one is put through Fn's API)
FN_ROUTE = "fn-route"
#: what OpenFaaS shows of a function deployed through its API
OPENFAAS = "openfaas"
#: the retry annotations a function may carry (`com.openfaas.retry.<key>`, as OpenFaaS Pro)
RETRY_KEYS = ("attempts", "codes", "min_wait", "max_wait", "max_age")

_EMPTY: Mapping[str, Any] = MappingProxyType({})
#: views kept, one per action; past it the cache starts over
_KEPT_MAX = 4096


@dataclass(frozen=True, slots=True, eq=False)
class Function:
    """What an action is to run and to call: its code, limits, default parameters and the
    settings its annotations give, each read and checked once."""

    namespace: str
    #: "name", or "package/name"
    name: str
    version: str
    updated: int
    kind: str
    code: str
    binary: bool
    main: str
    #: a sequence's components, fully qualified (`/ns/[pkg/]name`); () for others
    components: tuple[str, ...]
    #: the stored limits as they are (activation records show them)
    limits: Mapping[str, Any]
    memory_mb: int
    timeout_ms: int
    logs_mb: int
    concurrency: int
    #: parameters every call gets, under the caller's
    defaults: Mapping[str, Any]
    #: `init` parameters: environment variables of its processes, as text
    init_env: Mapping[str, str]
    #: annotation values by key (of two with one key, the first counts)
    annotations: Mapping[str, Any]
    #: whether its processes get the namespace's key as `__OW_API_KEY`
    provide_api_key: bool
    #: the network its annotation names (the runner checks it against what is allowed)
    network: str | None
    #: warm processes to keep of it
    replicas: int | None
    #: how long a warm process of it may stay idle
    idle_seconds: float | None
    #: the names of its namespace's secrets it reads (none when the list is not valid)
    secret_names: tuple[str, ...]
    #: how many of its calls one process runs at once (admission counts a process's
    #: memory once for that many calls)
    sharing: int
    #: its named queue; "" for the shared one
    queue_name: str
    #: its cap on running calls; 0 for none
    max_inflight: int
    #: its retry annotations as text, in RETRY_KEYS order (None: not given)
    retry: tuple[str | None, ...]

    @property
    def is_sequence(self) -> bool:
        return self.kind == SEQUENCE

    def annotation(self, key: str, default: Any = None) -> Any:
        return self.annotations.get(key, default)

    @property
    def deployed_by(self) -> str:
        """The dialect it was deployed through, from the annotation each one sets."""
        if self.annotations.get(FN_ROUTE) is not None:
            return "fn"
        if self.annotations.get(OPENFAAS):
            return "openfaas"
        return "openwhisk"

    def flag(self, key: str) -> bool:
        """Whether a boolean annotation is true (OpenWhisk's `web-export`, `final`, ...)."""
        return self.annotations.get(key) is True


def is_count(value: Any) -> bool:
    """A whole number, 0 or more (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


#: (namespace, name) -> (version, updated, stored doc, its view)
_kept: dict[tuple[str, str], tuple[str, int, dict[str, Any], Function]] = {}


def function_of(entity: Entity) -> Function:
    """The view of a stored action, kept while that version is current."""
    key = (entity.namespace, entity.name)
    kept = _kept.get(key)
    if kept is not None:
        version, updated, doc, function = kept
        # a row read again (a store without a row cache) is another dict, equal while unchanged
        if version == entity.version and updated == entity.updated and doc == entity.doc:
            return function
    function = parse(entity)
    if len(_kept) >= _KEPT_MAX:
        _kept.clear()
    _kept[key] = (entity.version, entity.updated, entity.doc, function)
    return function


def parse(entity: Entity) -> Function:
    doc = entity.doc
    exec_ = doc["exec"]
    limits = doc.get("limits") or {}
    defaults: dict[str, Any] = {}
    init_env: dict[str, str] = {}
    inflight: Any = None
    for item in doc.get("parameters") or ():
        key, value = item["key"], item["value"]
        if item.get("init"):
            init_env[key] = as_text(value)
        else:
            defaults[key] = value
        if key == MAX_INFLIGHT:
            inflight = value
    annotations: dict[str, Any] = {}
    for item in doc.get("annotations") or ():
        key = item.get("key")
        if isinstance(key, str) and key not in annotations:
            annotations[key] = item.get("value")
    if inflight is None:
        inflight = annotations.get(f"com.openfaas.{MAX_INFLIGHT}")
    kind = exec_["kind"]
    concurrency = int(limits.get("concurrency", 1))
    return Function(
        namespace=entity.namespace,
        name=entity.name,
        version=entity.version,
        updated=entity.updated,
        kind=kind,
        code=exec_.get("code") or "",
        binary=bool(exec_.get("binary", False)),
        main=exec_.get("main") or "main",
        components=tuple(exec_.get("components") or ()),
        limits=MappingProxyType(dict(limits)),
        memory_mb=int(limits.get("memory", 0)),
        timeout_ms=int(limits.get("timeout", 0)),
        logs_mb=int(limits.get("logs", 0)),
        concurrency=concurrency,
        defaults=_frozen(defaults),
        init_env=_frozen(init_env),
        annotations=_frozen(annotations),
        provide_api_key=annotations.get("provide-api-key", True) is not False,
        network=_network(annotations.get(NETWORK)),
        replicas=replicas if is_count(replicas := annotations.get(REPLICAS)) else None,
        idle_seconds=_positive(annotations.get(IDLE_TIMEOUT)),
        secret_names=_secret_names(annotations.get(SECRETS)),
        sharing=calls_per_process(kind, concurrency),
        queue_name=str(name).strip() if (name := annotations.get(QUEUE)) else "",
        max_inflight=_cap(inflight),
        retry=tuple(_str(annotations.get(f"com.openfaas.retry.{key}")) for key in RETRY_KEYS),
    )


def _frozen(values: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(values) if values else _EMPTY


def _network(value: Any) -> str | None:
    return value if isinstance(value, str) and value in NETWORKS else None


def _positive(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _secret_names(value: Any) -> tuple[str, ...]:
    try:
        return tuple(wanted_names(value))
    except BadRequest:  # refused when deployed: one stored before the rule reads none
        return ()


def _cap(limit: Any) -> int:
    cap = whole_number(str(limit).strip()) if limit is not None else None
    # a cap past the store's integers caps nothing a machine can run
    return 0 if cap is None or cap > INT64_MAX else cap


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def as_text(value: Any) -> str:
    """A parameter or annotation value as an environment variable holds it."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()
