"""Sluice records as OpenWhisk's JSON records (see the reference's section 4)."""

from __future__ import annotations

from typing import Any

from sluice.engine.sequence_exec import KIND as SEQUENCE
from sluice.records import Call, CallState, Entity

# (response.status, statusCode) as OpenWhisk reports them
_STATUS: dict[CallState, tuple[str, int]] = {
    CallState.SUCCESS: ("success", 0),
    CallState.APPLICATION_ERROR: ("application error", 1),
    CallState.DEVELOPER_ERROR: ("action developer error", 2),
    CallState.TIMEOUT: ("action developer error", 2),
    CallState.CANCELLED: ("action developer error", 2),
    CallState.PLATFORM_ERROR: ("whisk internal error", 3),
}


def entity_place(entity: Entity) -> tuple[str, str]:
    """OpenWhisk's (namespace, name): a packaged entity's namespace is `ns/package`."""
    package, _, name = entity.name.rpartition("/")
    return (f"{entity.namespace}/{package}" if package else entity.namespace), name


def action(entity: Entity, code: bool = True) -> dict[str, Any]:
    namespace, name = entity_place(entity)
    doc = entity.doc
    exec_ = dict(doc["exec"])
    if not code:
        exec_.pop("code", None)
    if exec_["kind"] == SEQUENCE:  # OpenWhisk's shape: the kind and the components alone
        exec_.pop("binary", None)
    return {
        "namespace": namespace,
        "name": name,
        "version": entity.version,
        "publish": doc["publish"],
        "exec": exec_,
        "annotations": doc["annotations"],
        "parameters": doc["parameters"],
        "limits": doc["limits"],
        "updated": entity.updated,
    }


def action_summary(entity: Entity) -> dict[str, Any]:
    namespace, name = entity_place(entity)
    doc = entity.doc
    return {
        "namespace": namespace,
        "name": name,
        "version": entity.version,
        "publish": doc["publish"],
        "annotations": doc["annotations"],
        "limits": doc["limits"],
        "exec": {"binary": doc["exec"]["binary"]},
        "updated": entity.updated,
    }


def response(call: Call) -> dict[str, Any]:
    record = call.record or {}
    status, _ = _STATUS[call.state]
    out: dict[str, Any] = {"result": record.get("result", {})}
    if record.get("size") is not None:
        out["size"] = record["size"]
    out["success"] = call.state is CallState.SUCCESS
    out["status"] = status
    return out


def _call_path(call: Call) -> str:
    return f"{call.meta.owner or call.namespace}/{call.path}"


def _caused_by(call: Call) -> list[dict[str, Any]]:
    return [{"key": "causedBy", "value": SEQUENCE}] if call.meta.sequence_parent else []


def _sequence_annotations(call: Call, record: dict[str, Any]) -> list[dict[str, Any]]:
    """A sequence's activation: OpenWhisk's annotations of one (no wait or init time)."""
    items: list[dict[str, Any]] = [
        {"key": "topmost", "value": bool(record.get("topmost", True))},
        {"key": "path", "value": _call_path(call)},
        {"key": "kind", "value": SEQUENCE},
        *_caused_by(call),
    ]
    if record.get("limits") is not None:
        items.append({"key": "limits", "value": record["limits"]})
    return items


def _annotations(call: Call) -> list[dict[str, Any]]:
    record = call.record or {}
    if record.get("kind") == SEQUENCE:
        return _sequence_annotations(call, record)
    items: list[dict[str, Any]] = [
        *_caused_by(call),
        {"key": "path", "value": _call_path(call)},
        {"key": "waitTime", "value": record.get("waitTime", 0)},
        {"key": "kind", "value": record.get("kind", "unknown")},
        {"key": "timeout", "value": bool(record.get("timeout", False))},
    ]
    if record.get("limits") is not None:
        items.append({"key": "limits", "value": record["limits"]})
    if record.get("initTime") is not None:
        items.append({"key": "initTime", "value": record["initTime"]})
    return items


def _head(call: Call) -> dict[str, Any]:
    record = call.record or {}
    start = record.get("start") or call.started or call.created
    end = record.get("end") or call.ended or start
    head: dict[str, Any] = {
        "namespace": call.namespace,
        "name": call.path.rpartition("/")[2],
        "version": record.get("version", "0.0.0"),
        "subject": call.meta.subject or call.namespace,
        "activationId": call.id.hex,
        "start": start,
        "end": end,
        # a sequence's is its steps' own time, summed (as OpenWhisk's)
        "duration": record.get("duration", max(end - start, 0)),
    }
    if call.meta.sequence_parent:  # a sequence's step: the sequence is its cause
        head["cause"] = call.meta.sequence_parent
    head["publish"] = False
    return head


def _is_trigger(call: Call) -> bool:
    return call.meta.trigger


def activation(call: Call) -> dict[str, Any]:
    out = _head(call)
    out["response"] = response(call)
    out["logs"] = (call.record or {}).get("logs", [])
    if _is_trigger(call):
        del out["end"], out["duration"]
        out["annotations"] = []
    else:
        out["annotations"] = _annotations(call)
    return out


def activation_summary(call: Call) -> dict[str, Any]:
    out = _head(call)
    del out["subject"]
    if _is_trigger(call):
        del out["end"], out["duration"]
        out["annotations"] = []
    else:
        out["annotations"] = _annotations(call)
        out["statusCode"] = _STATUS[call.state][1]
    return out


def _common(entity: Entity) -> dict[str, Any]:
    namespace, name = entity_place(entity)
    return {
        "namespace": namespace,
        "name": name,
        "version": entity.version,
        "publish": entity.doc["publish"],
        "annotations": entity.doc["annotations"],
    }


def _path(ref: dict[str, Any]) -> dict[str, str]:
    package = ref.get("package")
    path = f"{ref['namespace']}/{package}" if package else ref["namespace"]
    return {"path": path, "name": ref["name"]}


def trigger(entity: Entity, rules: list[Entity] | None = None) -> dict[str, Any]:
    out = _common(entity)
    out.update(parameters=entity.doc["parameters"], limits={}, updated=entity.updated)
    if rules:
        out["rules"] = {
            f"{rule.namespace}/{rule.name}": {
                "action": _path(rule.doc["action"]),
                "status": rule.doc["status"],
            }
            for rule in rules
        }
    return out


def rule(entity: Entity, with_status: bool = True) -> dict[str, Any]:
    out = _common(entity)
    out.update(
        trigger=_path(entity.doc["trigger"]),
        action=_path(entity.doc["action"]),
        updated=entity.updated,
    )
    if with_status:
        out["status"] = entity.doc["status"]
    return out


def package(entity: Entity, summary: bool = False) -> dict[str, Any]:
    out = _common(entity)
    binding = entity.doc.get("binding") or {}
    out.update(
        parameters=entity.doc["parameters"],
        binding=binding if binding or not summary else False,
        updated=entity.updated,
    )
    return out


def package_contents(entity: Entity, actions: list[Entity]) -> dict[str, Any]:
    out = package(entity)
    out["actions"] = [
        {
            "name": a.name.rpartition("/")[2],
            "version": a.version,
            "annotations": a.doc["annotations"],
        }
        for a in actions
    ]
    out["feeds"] = [item for item in out["actions"] if _is_feed(item["annotations"])]
    return out


def _is_feed(annotations: list[dict[str, Any]]) -> bool:
    return any(a.get("key") == "feed" for a in annotations)
