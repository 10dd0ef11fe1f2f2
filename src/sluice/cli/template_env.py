"""What an OpenFaaS template's Dockerfile tells its watchdog: the `ENV` lines setting
`fprocess`, `mode`, `upstream_url` and the watchdog's other knobs, read so that a
template's directory deploys as its image would run."""

from __future__ import annotations

import shlex
from pathlib import Path

#: the watchdog variables a template's Dockerfile sets (of-watchdog and the classic one)
WATCHDOG_VARIABLES = (
    "fprocess",
    "mode",
    "upstream_url",
    "http_upstream_url",
    "content_type",
    "exec_timeout",
    "combine_output",
    "write_debug",
    "max_inflight",
    "cgi_headers",
    "buffer_http",
    "http_buffer_req_body",
    "prefix_logs",
)


def _pairs(text: str) -> dict[str, str]:
    """`ENV a=1 b="two words"` or the old `ENV key value`."""
    try:
        words = shlex.split(text)
    except ValueError:
        return {}
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])} if len(words) > 1 else {}
    return dict(word.split("=", 1) for word in words if "=" in word)


def dockerfile_env(folder: Path) -> dict[str, str]:
    """The watchdog variables `folder`/Dockerfile sets (the last stage's win, as they
    would in the image); empty without a Dockerfile."""
    path = folder / "Dockerfile"
    if not path.is_file():
        return {}
    found: dict[str, str] = {}
    lines = path.read_text(errors="replace").replace("\\\n", " ").splitlines()
    for line in lines:
        keyword, _, rest = line.strip().partition(" ")
        if keyword.upper() == "ENV":
            found.update(_pairs(rest))
    return {key: value for key, value in found.items() if key in WATCHDOG_VARIABLES}
