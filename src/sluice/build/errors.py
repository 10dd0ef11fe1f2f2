"""Why a build failed, with its log."""

from __future__ import annotations

from sluice.errors import BadRequest


class BuildFailed(BadRequest):
    """The function could not be built."""

    def __init__(self, what: str, log: str = "") -> None:
        message = f"Build failed: {what}"
        if log.strip():
            message += "\n--- build log ---\n" + log.rstrip() + "\n---"
        super().__init__(message)
        self.log = log
