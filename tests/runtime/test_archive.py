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


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root server gives files to another uid")
def test_files_become_the_owner_of_the_directory_they_are_unpacked_into(tmp_path: Path) -> None:
    # a function's directory belongs to its unprivileged uid: an owner-only file of the zip
    # (0600, as Python's zipfile writes them) must be that uid's to be readable by it
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 4242, 4242)
    code = zip_b64({"lib/secret.js": "x"}, modes={"lib/secret.js": 0o600})
    dest = unpack(code, home / "action", 1 << 20)
    for path in (dest, dest / "lib", dest / "lib" / "secret.js"):
        assert (path.stat().st_uid, path.stat().st_gid) == (4242, 4242)
    assert (dest / "lib" / "secret.js").stat().st_mode & 0o777 == 0o600
