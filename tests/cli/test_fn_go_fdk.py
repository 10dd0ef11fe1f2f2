"""Go over Fn's http-stream: `sluice fn init --runtime go --format http-stream` writes the
func.yaml and go.mod today's `fn init --runtime go` writes (fdk-go required), and such a
function deploys with `fn deploy`, its go.mod's modules coming from the server's GOPROXY
(SLUICE_GOPROXY). fdk-go cannot be downloaded here: the server's proxy is a file://
directory serving, under fdk-go's path and version, a module the test writes in its own
words with the API `fn init`'s func.go uses (Handle, HandlerFunc) and Fn's contract (POST
/call on the unix socket FN_LISTENER names, linked into place once it listens). On a machine
with network, SLUICE_GOPROXY=https://proxy.golang.org,direct gives the real one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.test_fn_cli import fn
from tests.support.goproxy import goproxy_server
from tests.support.server import SluiceServer

from sluice.cli.fn.templates import FDK_GO_VERSION

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="the Go toolchain is missing")

FDK_GO = "github.com/fnproject/fdk-go"

#: what fnproject/cli's `fn init --runtime go NAME` writes
TODAY_YAML = (
    "schema_version: 20180708\nname: {name}\nversion: 0.0.1\nruntime: go\n"
    "build_image: fnproject/go:1.24-dev\nrun_image: fnproject/go:1.24\n"
    "entrypoint: ./func\n"
)
TODAY_GO_MOD = f"\nmodule func\n\nrequire {FDK_GO} {FDK_GO_VERSION}\n"

#: the stand-in FDK: fdk-go's Handle and HandlerFunc over Fn's http-stream contract
STAND_IN_FDK = """package fdk

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

type Handler interface {
	Serve(ctx context.Context, in io.Reader, out io.Writer)
}

type HandlerFunc func(ctx context.Context, in io.Reader, out io.Writer)

func (f HandlerFunc) Serve(ctx context.Context, in io.Reader, out io.Writer) { f(ctx, in, out) }

func Handle(handler Handler) {
	final := strings.TrimPrefix(os.Getenv("FN_LISTENER"), "unix:")
	phony := filepath.Join(filepath.Dir(final), "phony"+filepath.Base(final))
	listener, err := net.Listen("unix", phony)
	if err != nil {
		panic(err)
	}
	if err := os.Symlink(filepath.Base(phony), final); err != nil {
		panic(err)
	}
	http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out bytes.Buffer
		handler.Serve(r.Context(), r.Body, &out)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Fn-Http-Status", "200")
		w.Write(out.Bytes())
	}))
}
"""


@pytest.fixture(scope="module")
def go_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    module = {"go.mod": f"module {FDK_GO}\n\ngo 1.19\n", "fdk.go": STAND_IN_FDK}
    root = tmp_path_factory.mktemp("go-fdk")
    with goproxy_server(root, FDK_GO, FDK_GO_VERSION, module) as made:
        yield made


def test_init_writes_what_todays_fn_init_writes(go_server: SluiceServer, tmp_path: Path) -> None:
    fn(go_server, tmp_path, "init", "--runtime", "go", "--format", "http-stream", "gofdk")
    folder = tmp_path / "gofdk"
    assert (folder / "func.yaml").read_text() == TODAY_YAML.format(name="gofdk")
    assert (folder / "go.mod").read_text() == TODAY_GO_MOD
    assert f'fdk "{FDK_GO}"' in (folder / "func.go").read_text()


def test_an_fdk_go_function_deploys_and_runs_over_http_stream(
    go_server: SluiceServer, tmp_path: Path
) -> None:
    fn(go_server, tmp_path, "init", "--runtime", "go", "--format", "http-stream", "gohello")
    fn(go_server, tmp_path / "gohello", "deploy", "--app", "gofdks")
    out = fn(go_server, tmp_path, "invoke", "gofdks", "gohello", stdin='{"name": "Ada"}').stdout
    assert json.loads(out) == {"message": "Hello Ada"}
    out = fn(go_server, tmp_path, "invoke", "gofdks", "gohello", stdin="").stdout
    assert json.loads(out) == {"message": "Hello World"}


def test_without_a_goproxy_fdk_go_is_not_found(server: SluiceServer, tmp_path: Path) -> None:
    fn(server, tmp_path, "init", "--runtime", "go", "--format", "http-stream", "gooffline")
    done = fn(server, tmp_path / "gooffline", "deploy", "--app", "gofdks", ok=False)
    assert done.returncode != 0
    assert FDK_GO in done.stderr
    assert "GOPROXY=off" in done.stderr  # Go's own words
