"""A template directory laid out as bash-streaming is (of-watchdog's streaming mode: index.sh
runs function/handler.sh once per request, the body on its stdin, its stdout the answer)
deploys with `sluice function deploy NAME --dir DIR`: its stderr goes to the logs, not the
answer, as upstream's; a handler that fails answers 500 with what it wrote to stderr."""

from __future__ import annotations

from pathlib import Path

from tests.dialects.openfaas.helpers import deploy_dir, open_client
from tests.support.server import SluiceServer, wait_for

DOCKERFILE = """FROM alpine:3.20 AS build
WORKDIR /home/app
COPY index.sh ./
WORKDIR /home/app/function
COPY function/*.sh ./
COPY function/ .
WORKDIR /home/app/
ENV mode="streaming"
ENV fprocess="sh ./index.sh"
EXPOSE 8080
CMD ["fwatchdog"]
"""

INDEX_SH = "#!/bin/sh\n\nsh ./function/handler.sh\n"

HANDLER_SH = """#!/bin/sh
echo "reading the body" >&2
echo "Hi, $(cat) ($Http_Method $Http_Path)"
"""


def _template(root: Path, handler: str = HANDLER_SH) -> Path:
    (root / "function").mkdir(parents=True)
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "template.yml").write_text("language: bash-streaming\nfprocess: sh ./index.sh\n")
    (root / "index.sh").write_text(INDEX_SH)
    (root / "function" / "handler.sh").write_text(handler)
    return root


def test_a_bash_streaming_template_runs_unchanged(server: SluiceServer, tmp_path: Path) -> None:
    folder = _template(tmp_path / "bash-streaming")
    deploy_dir(server, "of-stream", folder)
    with server.client() as client:
        status = client.get("/system/function/of-stream").json()
    assert status["envProcess"] == "sh ./index.sh"
    assert status["envVars"]["mode"] == "streaming"
    with open_client(server) as anyone:
        answer = anyone.post("/function/of-stream/greet", content=b"Ada")
    assert answer.status_code == 200, answer.text
    assert answer.text == "Hi, Ada (POST /greet)\n"  # stderr is not in it
    with server.client() as client:

        def logged() -> bool:
            answer = client.get("/system/logs", params={"name": "of-stream"})
            return "reading the body" in answer.text

        wait_for(logged, 20, "the handler's stderr in the function's logs")


def test_a_failing_streaming_handler_says_why(server: SluiceServer, tmp_path: Path) -> None:
    failing = '#!/bin/sh\necho "partial"\necho "no credentials in $HOME/.aws" >&2\nexit 3\n'
    folder = _template(tmp_path / "bash-failing", failing)
    deploy_dir(server, "of-stream-fail", folder)
    with open_client(server) as anyone:
        answer = anyone.post("/function/of-stream-fail", content=b"x")
    assert answer.status_code == 500
    assert answer.text.startswith("exit status 3\npartial\n")
    assert "no credentials in" in answer.text
