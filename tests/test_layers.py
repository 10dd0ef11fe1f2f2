"""The data path is the folder tree, and imports only go down it (docs/architecture.md).

Every import in src/sluice is read with `ast`: at module level, inside functions and under
TYPE_CHECKING alike (a type-only arrow still ties the lower layer to the upper one's names).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"

#: the layers from the bottom up: a module imports from its own layer or the ones below.
#: A name is a package or module; a module belongs to the longest name that prefixes it
#: (`sluice` itself holds no other module: each top-level one is named here).
LAYERS: tuple[tuple[str, ...], ...] = (
    # foundation: data and helpers every layer may use
    (
        "sluice",
        "sluice.errors",
        "sluice.ids",
        "sluice.records",
        "sluice.call_meta",
        "sluice.config",
        "sluice.paths",
        "sluice.numbers",
        "sluice.processes",
        "sluice.instance_lock",
        "sluice.observe",
        "sluice.function_libs",
        "sluice.config_lists",
        "sluice.timing",
        "sluice.kinds",
        "sluice.envelope",
        "sluice.answers",
    ),
    ("sluice.sandbox",),
    ("sluice.runtime",),
    ("sluice.store",),
    ("sluice.queue",),
    ("sluice.notify",),
    ("sluice.engine",),
    ("sluice.worker", "sluice.build"),
    # what every dialect shares at the edge
    ("sluice.http",),
    (
        "sluice.dialects",
        "sluice.dialects.openwhisk",
        "sluice.dialects.openfaas",
        "sluice.dialects.fn",
        "sluice.dialects.native",
        # the dashboard: an edge of its own beside the dialects
        "sluice.ui",
    ),
    # the composition root: the only modules that name every implementation
    (
        "sluice.wiring",
        "sluice.catalogue",
        "sluice.transport",
        "sluice.bootstrap",
        "sluice.asgi",
    ),
    ("sluice.cli",),
)

#: peers of one layer that must not know each other
INDEPENDENT = frozenset(
    {
        "sluice.dialects.openwhisk",
        "sluice.dialects.openfaas",
        "sluice.dialects.fn",
        "sluice.dialects.native",
        "sluice.ui",
        "sluice.worker",
        "sluice.build",
    }
)

#: what the layers above the runtime may see of it: its seam, not its implementations
#: (build is the exception: it builds with the runtime's own archive and toolchain code)
RUNTIME_SEAM = "sluice.runtime.base"
RUNTIME_USERS_EXEMPT = ("sluice.build", *LAYERS[-2], *LAYERS[-1])


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted((SRC / "sluice").rglob("*.py"))}


def _target(name: str) -> str:
    """The module an imported dotted name lives in (`sluice.a.b.Name` -> `sluice.a.b`)."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(_target(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.update(_target(f"{base}.{alias.name}") for alias in node.names)
    return {name for name in found if name == "sluice" or name.startswith("sluice.")}


def _home(module: str) -> tuple[int, str]:
    """The module's layer (its index) and the name in LAYERS it belongs by."""
    best: tuple[int, str] | None = None
    for index, names in enumerate(LAYERS):
        for name in names:
            # the root package holds only itself: a new top-level module must be placed
            inside = module == name or (name != "sluice" and module.startswith(f"{name}."))
            if inside and (best is None or len(name) > len(best[1])):
                best = (index, name)
    assert best is not None, f"{module} is in no layer of tests/test_layers.py"
    return best


def _against(importer: str, imported: str) -> str | None:
    """Why the arrow importer -> imported runs against the layers, or None."""
    (low, low_home), (high, high_home) = _home(imported), _home(importer)
    if low > high:
        return f"{high_home} (layer {high}) may not import {low_home} (layer {low})"
    if low == high and low_home != high_home and {low_home, high_home} <= INDEPENDENT:
        return f"{high_home} and {low_home} are peers that must not know each other"
    above_runtime = high > _home("sluice.runtime")[0] and high_home not in RUNTIME_USERS_EXEMPT
    if above_runtime and low_home == "sluice.runtime" and imported != RUNTIME_SEAM:
        return f"above the runtime only its seam {RUNTIME_SEAM} may be imported"
    return None


def _arrows() -> dict[tuple[str, str], str]:
    found = {}
    for importer in MODULES:
        for imported in _imports(importer):
            reason = _against(importer, imported)
            if reason is not None:
                found[importer, imported] = reason
    return found


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _home(module)


def test_imports_only_go_down_the_layers() -> None:
    found = _arrows()
    assert not found, "imports against the layers:\n" + "\n".join(
        f"  {importer} -> {imported}: {why}" for (importer, imported), why in sorted(found.items())
    )


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("sluice.store.sqlite.entities", "sluice.engine.calls"),
        ("sluice.engine.calls", "sluice.http.auth"),
        ("sluice.engine.calls", "sluice.runtime.pool"),
        ("sluice.dialects.fn.invoke", "sluice.dialects.openwhisk.web"),
        ("sluice.http.auth", "sluice.wiring"),
        ("sluice.worker.loop", "sluice.build.builder"),
    ],
)
def test_an_arrow_against_the_layers_is_named(importer: str, imported: str) -> None:
    assert _against(importer, imported) is not None


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("sluice.engine.calls", "sluice.store.base"),
        ("sluice.engine.execution", "sluice.runtime.base"),
        ("sluice.dialects.fn.invoke", "sluice.http.auth"),
        ("sluice.asgi", "sluice.dialects.openwhisk.routes"),
        ("sluice.build.builder", "sluice.runtime.bundle"),
    ],
)
def test_an_arrow_down_the_layers_passes(importer: str, imported: str) -> None:
    assert _against(importer, imported) is None


def test_imports_under_type_checking_and_in_functions_are_read() -> None:
    # runtime/base.py imports Kinds under TYPE_CHECKING; cli/main.py imports serve in a function
    assert "sluice.runtime.kinds" in _imports("sluice.runtime.base")
    assert "sluice.cli.serve" in _imports("sluice.cli.main")
