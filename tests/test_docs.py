"""The documents say what is there: the architecture's module tree is `src/sluice/` as it is,
every relative link and anchor of the README and docs/ leads somewhere, every setting is in
docs/configuration.md, and every `SLUICE_*` name or repository path the documents show exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from sluice.config import Settings
from tests.support.server import REPO

SRC = REPO / "src" / "sluice"
MARKDOWN = MarkdownIt("commonmark").enable("table")


def current_documents() -> list[Path]:
    """The README, docs/ and bench/README.md: what says how things are today."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md"]


def documents() -> list[Path]:
    """Those and the bench's journal, which keeps how things were on its dates."""
    return [*current_documents(), *sorted((REPO / "bench" / "journal").glob("*.md"))]


def inline_children(path: Path) -> Iterator[Token]:
    for token in MARKDOWN.parse(path.read_text()):
        yield from token.children or []


# --- the module tree -------------------------------------------------------------------


def tree_block() -> str:
    """The one fenced block under "## Module tree" in docs/architecture.md."""
    tokens = MARKDOWN.parse((REPO / "docs" / "architecture.md").read_text())
    in_section = False
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            title = tokens[i + 1].content
            in_section = token.tag == "h2" and title == "Module tree"
        elif in_section and token.type == "fence":
            return token.content
    raise AssertionError('docs/architecture.md has no fenced block under "## Module tree"')


def tree_paths(block: str) -> set[str]:
    """Each line is one entry, its first word a name (a trailing / for a directory), indented
    two spaces a level under the directory above it; the first line is the root."""
    lines = [line for line in block.splitlines() if line.strip()]
    assert lines[0].strip() == "src/sluice/", lines[0]
    parents: list[str] = []
    paths: set[str] = set()
    for line in lines[1:]:
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"odd indentation: {line!r}"
        assert indent >= 2, f"not under the root: {line!r}"
        level = indent // 2 - 1
        assert level <= len(parents), f"indented past its parent: {line!r}"
        del parents[level:]
        name = line.split()[0]
        path = "/".join([*parents, name.rstrip("/")])
        assert path not in paths, f"named twice: {path}"
        paths.add(path)
        if name.endswith("/"):
            parents.append(name.rstrip("/"))
    return paths


def source_modules() -> set[str]:
    """Every package and module under src/sluice (an __init__.py is its package's)."""
    found: set[str] = set()
    for module in SRC.rglob("*.py"):
        relative = module.relative_to(SRC)
        parts = relative.parts
        found.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
        if module.name != "__init__.py":
            found.add(relative.as_posix())
    return found


def test_the_module_tree_names_every_package_and_module() -> None:
    named = tree_paths(tree_block())
    missing = sorted(source_modules() - named)
    assert not missing, f"docs/architecture.md's module tree does not name: {missing}"


def test_the_module_tree_names_nothing_that_is_not_there() -> None:
    absent = sorted(path for path in tree_paths(tree_block()) if not (SRC / path).exists())
    assert not absent, f"docs/architecture.md's module tree names what does not exist: {absent}"


def test_the_tree_parser_sees_nesting() -> None:
    # the two tests above only mean something if nesting is read as written
    block = "src/sluice/\n  a.py   one\n  pkg/   two\n    b.py  three\n  c.py\n"
    assert tree_paths(block) == {"a.py", "pkg", "pkg/b.py", "c.py"}


# --- links -------------------------------------------------------------------------------


def slug(title: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    tokens = MARKDOWN.parse(path.read_text())
    seen: dict[str, int] = {}
    found: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        text = "".join(child.content for child in tokens[i + 1].children or [])
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> Iterator[str]:
    for child in inline_children(path):
        if child.type in ("link_open", "image"):
            target = str(child.attrs.get("href") or child.attrs.get("src") or "")
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                yield target


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(document: Path) -> None:
    broken = []
    for target in relative_links(document):
        file_part, _, anchor = target.partition("#")
        goal = (document.parent / file_part).resolve() if file_part else document
        if not goal.exists() or (goal.suffix == ".md" and anchor and anchor not in anchors(goal)):
            broken.append(target)
    assert not broken, f"{document.relative_to(REPO)}: broken links {broken}"


def test_a_broken_link_and_a_wrong_anchor_are_seen(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Two processes, one `machine`\n")
    page = tmp_path / "page.md"
    page.write_text("[a](other.md#two-processes-one-machine) [b](gone.md) [c](other.md#nope)\n")
    assert list(relative_links(page)) == [
        "other.md#two-processes-one-machine",
        "gone.md",
        "other.md#nope",
    ]
    assert anchors(tmp_path / "other.md") == {"other", "two-processes-one-machine"}


# --- settings and paths -----------------------------------------------------------------


def setting_names() -> set[str]:
    return {f"SLUICE_{name.upper()}" for name in Settings.model_fields}


def test_every_setting_is_in_the_configuration_document() -> None:
    text = (REPO / "docs" / "configuration.md").read_text()
    missing = sorted(name for name in setting_names() if f"`{name}`" not in text)
    assert not missing, f"docs/configuration.md does not document {missing}"


def names_in_code() -> set[str]:
    """The SLUICE_* names that code, tests and scripts spell out (read from the environment
    outside the settings: SLUICE_SECRET, the tests' SLUICE_TEST_STORE, ...)."""
    found: set[str] = set()
    for folder in ("src", "tests", "scripts", "bench"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix not in (".md", ".pyc", ".json", ".sql"):
                found.update(re.findall(r"SLUICE_[A-Z0-9_]*[A-Z0-9]", path.read_text("latin-1")))
    return found


def test_every_sluice_name_the_documents_show_exists() -> None:
    known = setting_names() | names_in_code()
    unknown = {}
    for document in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        names = set(re.findall(r"\bSLUICE_[A-Z0-9_]*[A-Z0-9]\b", document.read_text()))
        if names - known:
            unknown[document.name] = sorted(names - known)
    assert not unknown, f"names no code reads: {unknown}"


REPO_PATH = re.compile(r"^\.?/?((?:src|tests|bench|scripts|docs)/[\w./-]+)$")


@pytest.mark.parametrize("document", current_documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_repository_path_the_documents_show_exists(document: Path) -> None:
    absent = []
    for child in inline_children(document):
        if child.type == "code_inline":
            for word in child.content.split():
                found = REPO_PATH.match(word.rstrip(",;:"))
                if found and not (REPO / found.group(1)).exists():
                    absent.append(word)
    assert not absent, f"{document.relative_to(REPO)} names paths that are not there: {absent}"
