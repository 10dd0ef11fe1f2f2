"""A template's two package.json files as the one its image installs: OpenFaaS's node
templates run `npm i` for the template's own (express) and again in `function/` for the
function's; both sets of packages are then on the process's NODE_PATH."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: where the merged manifest is written, in the build's unpacked copy (a directory of its
#: own: neither template's package-lock.json describes it)
MERGED = ".sluice-node"
_SECTIONS = ("dependencies", "optionalDependencies")


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        loaded = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return {}  # npm says what is wrong with it
    return loaded if isinstance(loaded, dict) else {}


def _section(manifest: dict[str, Any], key: str) -> dict[str, Any]:
    value = manifest.get(key)
    return value if isinstance(value, dict) else {}


def _wants(manifest: dict[str, Any]) -> bool:
    return any(_section(manifest, key) for key in _SECTIONS)


def merged_package_json(source: Path) -> Path | None:
    """The package.json to install for the template at `source`: its own, the function's
    (function/package.json) or, when both ask for packages, one with both's (the function's
    winning where they name the same package: its handler requires them). None: neither."""
    top_path, inner_path = source / "package.json", source / "function" / "package.json"
    top, inner = _read(top_path), _read(inner_path)
    if inner is None or not _wants(inner):
        return top_path if top is not None else None
    if top is None or not _wants(top):
        return inner_path
    merged = dict(top)
    for key in _SECTIONS:
        both = {**_section(top, key), **_section(inner, key)}
        if both:
            merged[key] = both
    path = source / MERGED / "package.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(merged, indent=2))
    return path
