"""Where function processes' directories live, and what is swept of them."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from sluice.paths import SHM, _is_tmpfs, claim_work_dir, default_work_dir, release_work_dir

pytestmark = pytest.mark.skipif(not _is_tmpfs(SHM), reason="/dev/shm is no tmpfs here")


def test_the_default_work_dir_is_apart_from_the_data_dir(tmp_path: Path) -> None:
    work = default_work_dir(tmp_path / "data")
    assert work.parent == SHM
    assert work.name.startswith(f"sluice-work-{os.geteuid()}-")
    assert default_work_dir(tmp_path / "other") != work


def test_work_dirs_of_data_dirs_that_are_gone_are_swept(tmp_path: Path) -> None:
    live_data, gone_data = tmp_path / "live", tmp_path / "gone"
    live_data.mkdir()
    gone_data.mkdir()
    tag = uuid.uuid4().hex[:8]
    live = claim_work_dir(SHM / f"sluice-work-{os.geteuid()}-t{tag}a", live_data)
    gone = claim_work_dir(SHM / f"sluice-work-{os.geteuid()}-t{tag}b", gone_data)
    (gone / "proc-1-x").mkdir()
    gone_data.rmdir()
    mine = claim_work_dir(SHM / f"sluice-work-{os.geteuid()}-t{tag}c", tmp_path)
    try:
        assert live.is_dir()
        assert not gone.exists()
        assert (mine / ".data-dir").read_text() == str(tmp_path.resolve())
    finally:
        for path in (live, mine):
            release_work_dir(path)
    assert not live.exists()
    assert not mine.exists()
