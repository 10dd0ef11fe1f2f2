"""A template directory laid out as OpenFaaS's golang-http is (main.go of module `handler`
serving function/ on :8082, function/ a module of its own, `handler/function`, both requiring
github.com/openfaas/templates-sdk/go-http) deploys with `sluice function deploy NAME --dir
DIR`: its go.mod is built into `./handler` (its fprocess) with the modules it requires taken
from the server's GOPROXY (SLUICE_GOPROXY). The SDK cannot be downloaded here: the test
serves a module of that path from a file:// GOPROXY directory it writes (the SDK's types, in
the test's own words); on a machine with network SLUICE_GOPROXY names proxy.golang.org.
Without a GOPROXY the deploy fails in Go's own words, and a server that dies before listening
answers with its own error in the 500."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.dialects.openfaas.helpers import deploy_dir, died_saying, open_client
from tests.support.cli import sluice
from tests.support.goproxy import goproxy_server
from tests.support.server import SluiceServer

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="the Go toolchain is missing")

SDK = "github.com/openfaas/templates-sdk/go-http"
#: the version the template's go.mod pins
SDK_VERSION = "v0.0.0-20220408082716-5981c545cb03"
#: the Go the machine has (the template's own go.mod says a newer one)
GO_LANGUAGE = "1.19"

SDK_GO = """package handler

import (
	"context"
	"net/http"
)

// Request is one call: its body, headers, method and query string.
type Request struct {
	Body        []byte
	Header      http.Header
	QueryString string
	Method      string
	Host        string
	ctx         context.Context
}

// Context is the request's context (the background one when none was given).
func (r *Request) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// WithContext sets the request's context.
func (r *Request) WithContext(ctx context.Context) { r.ctx = ctx }

// Response is the handler's answer.
type Response struct {
	Body       []byte
	Header     http.Header
	StatusCode int
}
"""

DOCKERFILE = """FROM golang:1.25-alpine AS build
WORKDIR /go/src/handler
COPY . .
RUN sh ./modules-cleanup.sh
RUN go build --ldflags "-s -w" -o handler .
FROM alpine:3.22 AS ship
WORKDIR /home/app
COPY --from=build /go/src/handler/handler .
ENV fprocess="./handler"
ENV mode="http"
ENV upstream_url="http://127.0.0.1:8082"
ENV prefix_logs="false"
CMD ["./fwatchdog"]
"""

MAIN_GO = """package main

import (
	"io"
	"log"
	"net/http"

	"handler/function"

	handler "github.com/openfaas/templates-sdk/go-http"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := handler.Request{
			Body: body, Header: r.Header, Method: r.Method, QueryString: r.URL.RawQuery,
		}
		req.WithContext(r.Context())
		result, err := function.Handle(req)
		for key, values := range result.Header {
			w.Header()[key] = values
		}
		if err != nil {
			log.Print(err)
			w.WriteHeader(http.StatusInternalServerError)
		} else if result.StatusCode != 0 {
			w.WriteHeader(result.StatusCode)
		}
		w.Write(result.Body)
	})
	log.Fatal(http.ListenAndServe(":8082", nil))
}
"""

HANDLER_GO = """package function

import (
	"fmt"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Handle a function invocation
func Handle(req handler.Request) (handler.Response, error) {
	message := fmt.Sprintf("Body: %s (%s %s)", string(req.Body), req.Method, req.QueryString)
	return handler.Response{
		Body:       []byte(message),
		StatusCode: http.StatusAccepted,
		Header:     http.Header{"X-Handled": []string{"go"}},
	}, nil
}
"""

DYING_GO = """package function

import "log"

func init() {
	log.Fatal("no DATABASE_URL in the environment")
}
"""


def _go_mod(module: str) -> str:
    return f"module {module}\n\ngo {GO_LANGUAGE}\n\nrequire {SDK} {SDK_VERSION}\n"


def _template(root: Path, handler: str = HANDLER_GO) -> Path:
    (root / "function").mkdir(parents=True)
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "template.yml").write_text("language: golang-http\nfprocess: ./handler\n")
    (root / "main.go").write_text(MAIN_GO)
    (root / "go.mod").write_text(_go_mod("handler"))
    (root / "function" / "go.mod").write_text(_go_mod("handler/function"))
    (root / "function" / "handler.go").write_text(handler)
    return root


@pytest.fixture(scope="module")
def go_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    sdk = {"go.mod": f"module {SDK}\n\ngo 1.15\n", "handler.go": SDK_GO}
    with goproxy_server(tmp_path_factory.mktemp("go-templates"), SDK, SDK_VERSION, sdk) as made:
        yield made


def test_a_golang_http_template_runs_unchanged(go_server: SluiceServer, tmp_path: Path) -> None:
    folder = _template(tmp_path / "golang-http")
    deploy_dir(go_server, "of-go", folder)
    with go_server.client() as client:
        status = client.get("/system/function/of-go").json()
    assert status["envProcess"] == "./handler"
    assert status["envVars"]["upstream_url"] == "http://127.0.0.1:8082"
    with open_client(go_server) as anyone:
        answer = anyone.post("/function/of-go/x?page=2", content=b"gopher")
    assert answer.status_code == 202, answer.text
    assert answer.text == "Body: gopher (POST page=2)"
    assert answer.headers["x-handled"] == "go"


def test_a_go_server_that_dies_before_listening_says_why(
    go_server: SluiceServer, tmp_path: Path
) -> None:
    folder = _template(tmp_path / "golang-dying")
    (folder / "function" / "init.go").write_text(DYING_GO)
    deploy_dir(go_server, "of-go-dying", folder)
    assert "no DATABASE_URL in the environment" in died_saying(go_server, "of-go-dying")


def test_without_a_goproxy_the_sdk_is_not_found(server: SluiceServer, tmp_path: Path) -> None:
    folder = _template(tmp_path / "golang-offline")
    deployed = sluice(server, "function", "deploy", "of-go-offline", "--dir", str(folder), ok=False)
    assert deployed.returncode != 0
    assert SDK in deployed.stderr
    assert "GOPROXY=off" in deployed.stderr  # Go's own words
