"""A call's meta: the facts about its caller and its place kept with the call.

Typed and frozen, so that no layer reads or writes it by string key; `encode` and
`decode` are the one place that knows its stored form (the calls table's `meta` column,
a JSON object). That form is the dict earlier versions stored, so their calls still
decode: a key missing is its field's default, and an unknown key is dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every accept makes two CallMetas (the dialect's, and new_call's replace()). A frozen
# dataclass's own __init__ sets each field with object.__setattr__, a slot wrapper call of
# about 1,500 instructions: 17 fields made a CallMeta cost 27,000 instructions, 80,000 an
# accept. The hand-written __init__s below set the instance's whole __dict__ in one such
# call; the classes stay frozen dataclasses (assignment raises FrozenInstanceError,
# dataclasses.replace, fields, eq and repr as before).
_set = object.__setattr__


@dataclass(frozen=True, init=False)
class CallbackMeta:
    """What a call's callback sends beside its answer, chosen by the dialect at accept."""

    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def __init__(self, headers: dict[str, str] | None = None, content_type: str | None = None):
        _set(
            self,
            "__dict__",
            {"headers": {} if headers is None else headers, "content_type": content_type},
        )


@dataclass(frozen=True, init=False)
class OpenFaasMeta:
    """What the OpenFaaS gateway knew when it accepted the call."""

    function: str
    start_ns: int = 0
    call_header: str | None = None
    content_type: str | None = None

    def __init__(
        self,
        function: str,
        start_ns: int = 0,
        call_header: str | None = None,
        content_type: str | None = None,
    ):
        _set(
            self,
            "__dict__",
            {
                "function": function,
                "start_ns": start_ns,
                "call_header": call_header,
                "content_type": content_type,
            },
        )


@dataclass(frozen=True, init=False)
class CallMeta:
    #: the dialect that accepted the call (metric labels, the UI)
    dialect: str = "sluice"
    #: who called (OpenWhisk's activation `subject`); None: the call's namespace
    subject: str | None = None
    #: the caller's transaction id (__OW_TRANSACTION_ID)
    transid: str | None = None
    #: accepted as an OpenWhisk web action
    web: bool = False
    #: nobody waits for it: it may become a dead letter (engine/policy.py)
    async_: bool = False
    #: the namespace that owns the action, when it is not the caller's (a shared package)
    owner: str | None = None
    #: the action's package's parameters, under the call's own
    package_params: dict[str, Any] = field(default_factory=dict)
    #: a call of a sequence action: the worker conducts it (engine/sequences.py)
    conducted: bool = False
    #: a sequence's step: the sequence's activation id (its `cause`)
    sequence_parent: str | None = None
    #: a nested sequence's call: the actions its topmost sequence ran before it
    sequence_run_before: int = 0
    #: a nested sequence's call: how deep it is
    sequence_depth: int = 0
    #: a trigger's own activation (the record of its firing)
    trigger: bool = False
    #: the alarm feed ("alarm", "once", "interval") whose schedule fired the trigger
    alarm: str | None = None
    #: the activation id of the trigger that fired the call
    cause: str | None = None
    #: the uuid of the dead call this call runs again
    redriven_from: str | None = None
    openfaas: OpenFaasMeta | None = None
    callback: CallbackMeta | None = None

    def __init__(
        self,
        dialect: str = "sluice",
        subject: str | None = None,
        transid: str | None = None,
        web: bool = False,
        async_: bool = False,
        owner: str | None = None,
        package_params: dict[str, Any] | None = None,
        conducted: bool = False,
        sequence_parent: str | None = None,
        sequence_run_before: int = 0,
        sequence_depth: int = 0,
        trigger: bool = False,
        alarm: str | None = None,
        cause: str | None = None,
        redriven_from: str | None = None,
        openfaas: OpenFaasMeta | None = None,
        callback: CallbackMeta | None = None,
    ):
        _set(
            self,
            "__dict__",
            {
                "dialect": dialect,
                "subject": subject,
                "transid": transid,
                "web": web,
                "async_": async_,
                "owner": owner,
                "package_params": {} if package_params is None else package_params,
                "conducted": conducted,
                "sequence_parent": sequence_parent,
                "sequence_run_before": sequence_run_before,
                "sequence_depth": sequence_depth,
                "trigger": trigger,
                "alarm": alarm,
                "cause": cause,
                "redriven_from": redriven_from,
                "openfaas": openfaas,
                "callback": callback,
            },
        )

    def placed(self, owner: str | None, package_params: dict[str, Any]) -> CallMeta:
        """This meta for a call of a function owned by `owner` (None: the caller's own),
        under its package's parameters: the rest copied in one call (a replace() reads and
        passes all 17 fields, 40,000 instructions an accept)."""
        placed = object.__new__(CallMeta)
        fields = {**self.__dict__, "owner": owner, "package_params": package_params}
        _set(placed, "__dict__", fields)
        return placed


def encode(meta: CallMeta) -> dict[str, Any]:
    """The stored form: only the keys set, under the names the dict form used (and in its
    order). Written out field by field: every accept encodes one."""
    out: dict[str, Any] = {} if meta.dialect == "sluice" else {"dialect": meta.dialect}
    _encode_names(meta, out)
    if meta.web:
        out["web"] = True
    if meta.async_:
        out["async"] = True
    if meta.conducted:
        out["sequence"] = True
    if meta.package_params:
        out["package_params"] = meta.package_params
    if meta.sequence_run_before:
        out["sequence_run_before"] = meta.sequence_run_before
    if meta.sequence_depth:
        out["sequence_depth"] = meta.sequence_depth
    if meta.trigger:
        out["entity"] = "trigger"
    faas = meta.openfaas
    if faas is not None:
        out["openfaas"] = {
            "function": faas.function,
            "start_ns": faas.start_ns,
            "call_header": faas.call_header,
            "content_type": faas.content_type,
        }
    callback = meta.callback
    if callback is not None:
        out["callback"] = {"headers": callback.headers, "content_type": callback.content_type}
    return out


def _encode_names(meta: CallMeta, out: dict[str, Any]) -> None:
    """encode's keys that name someone or something, each when set."""
    if meta.subject is not None:
        out["subject"] = meta.subject
    if meta.transid is not None:
        out["transid"] = meta.transid
    if meta.owner is not None:
        out["owner"] = meta.owner
    if meta.sequence_parent is not None:
        out["sequence_parent"] = meta.sequence_parent
    if meta.alarm is not None:
        out["alarm"] = meta.alarm
    if meta.cause is not None:
        out["cause"] = meta.cause
    if meta.redriven_from is not None:
        out["redriven_from"] = meta.redriven_from


def _str(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def decode(raw: dict[str, Any]) -> CallMeta:
    """The meta stored as `raw`, by this version or an earlier one."""
    faas = raw.get("openfaas")
    callback = raw.get("callback")
    return CallMeta(
        dialect=str(raw.get("dialect") or "sluice"),
        subject=_str(raw, "subject"),
        transid=_str(raw, "transid"),
        web=bool(raw.get("web")),
        async_=bool(raw.get("async")),
        owner=_str(raw, "owner"),
        package_params=dict(raw.get("package_params") or {}),
        conducted=bool(raw.get("sequence")),
        sequence_parent=_str(raw, "sequence_parent"),
        sequence_run_before=int(raw.get("sequence_run_before") or 0),
        sequence_depth=int(raw.get("sequence_depth") or 0),
        trigger=raw.get("entity") == "trigger",
        alarm=_str(raw, "alarm"),
        cause=_str(raw, "cause"),
        redriven_from=_str(raw, "redriven_from"),
        openfaas=None
        if not isinstance(faas, dict)
        else OpenFaasMeta(
            str(faas.get("function", "")),
            int(faas.get("start_ns") or 0),
            _str(faas, "call_header"),
            _str(faas, "content_type"),
        ),
        callback=None
        if not isinstance(callback, dict)
        else CallbackMeta(dict(callback.get("headers") or {}), _str(callback, "content_type")),
    )
