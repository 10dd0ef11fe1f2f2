from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from sluice.runtime.archive import ArchiveError, unpack
from tests.runtime.helpers import zip_b64


def test_unpack_keeps_tree_and_modes(tmp_path: Path) -> None:
    code = zip_b64({"exec": "#!/bin/sh\n", "lib/a.txt": "a"}, modes={"exec": 0o755})
    dest = unpack(code, tmp_path / "out", 1 << 20)
    assert (dest / "lib" / "a.txt").read_text() == "a"
    assert os.access(dest / "exec", os.X_OK)
    assert not os.access(dest / "lib" / "a.txt", os.X_OK)


def test_owner_only_files_are_readable_by_the_functions_user(tmp_path: Path) -> None:
    code = zip_b64({"index.js": "x", "run": "#!/bin/sh\n"}, modes={"index.js": 0o600, "run": 0o700})
    dest = unpack(code, tmp_path / "out", 1 << 20)
    assert (dest / "index.js").stat().st_mode & 0o777 == 0o644
    assert (dest / "run").stat().st_mode & 0o777 == 0o744


def test_paths_cannot_escape(tmp_path: Path) -> None:
    code = zip_b64({"../../evil.txt": "x", "/abs.txt": "y"})
    dest = unpack(code, tmp_path / "deep" / "out", 1 << 20)
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "deep" / "evil.txt").exists()
    found = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert found == ["abs.txt", "evil.txt"]


def test_rejects_bad_archives(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="not a zip"):
        unpack(base64.b64encode(b"plain text").decode(), tmp_path / "a", 1 << 20)
    with pytest.raises(ArchiveError, match="more than 10 bytes"):
        unpack(zip_b64({"big": "x" * 100}), tmp_path / "b", 10)
