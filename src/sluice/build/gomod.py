"""What a build reads from a go.mod: the module's path, the name `go build` gives its binary,
and the local modules beside it that it imports (an OpenFaaS golang-http template's
`function/`, a module of its own that the template's build folds into the main one)."""

from __future__ import annotations

import re
from pathlib import Path

_MODULE = re.compile(r'^\s*module\s+"?([^\s"]+)"?', re.MULTILINE)
_MAJOR = re.compile(r"^v[0-9]+$")
#: the version Go gives a module that only a replace directive provides
_LOCAL_VERSION = "v0.0.0-00010101000000-000000000000"
#: directories no module of the function's is in (the build's own caches, Go's ignored ones)
_SKIPPED = ("vendor", "testdata")


def module_path(text: str) -> str | None:
    found = _MODULE.search(text)
    return found.group(1) if found else None


def binary_name(go_mod: Path) -> str:
    """The file `go build` writes for the module: its path's last element (before a major
    version suffix such as /v2); `func` when the go.mod names no module."""
    path = module_path(go_mod.read_text(errors="replace")) or "func"
    parts = path.split("/")
    if len(parts) > 1 and _MAJOR.match(parts[-1]):
        parts.pop()
    return parts[-1]


def _nested(root: Path) -> list[Path]:
    found = []
    for go_mod in sorted(root.rglob("go.mod")):
        relative = go_mod.parent.relative_to(root).parts
        if relative and not any(p.startswith(".") or p in _SKIPPED for p in relative):
            found.append(go_mod)
    return found


def fold_local_modules(root: Path) -> list[str]:
    """Make the main module at `root` (its go.mod, in the build's copy) take each module in a
    directory below it from that directory, as a `replace`, unless it names that module
    itself already. Go leaves a directory with a go.mod of its own out of the enclosing
    module, so without this `import "handler/function"` finds nothing. Returns the paths."""
    top = root / "go.mod"
    text = top.read_text(errors="replace")
    added = []
    for go_mod in _nested(root):
        path = module_path(go_mod.read_text(errors="replace"))
        if path is None or path == module_path(text) or re.search(rf"\s{re.escape(path)}\s", text):
            continue
        where = "./" + go_mod.parent.relative_to(root).as_posix()
        text += f"\nrequire {path} {_LOCAL_VERSION}\n\nreplace {path} => {where}\n"
        added.append(path)
    if added:
        top.write_text(text)
    return added
