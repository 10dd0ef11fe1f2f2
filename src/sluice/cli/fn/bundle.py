"""A function's directory as the zip `fn deploy` uploads: its source, not its build output."""

from __future__ import annotations

import base64
import io
import os
import zipfile
from pathlib import Path

#: directories that are build output or tool state, never uploaded
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".fn"})


def zip_directory(root: Path) -> str:
    """Base64 of a zip of `root`'s files (modes kept), paths relative to `root`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(names):
                path = Path(folder) / name
                if not path.is_file():
                    continue
                info = zipfile.ZipInfo(str(path.relative_to(root)))
                info.external_attr = (path.stat().st_mode & 0xFFFF) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return base64.b64encode(buffer.getvalue()).decode()
