"""What `fn init` writes: a hello-world per runtime and format that prints
{"message":"Hello World"}, or greets the name in a JSON body. For the FDKs (http-stream) its
func.yaml has the fields, values and order of today's `fn init` (fnproject/cli)."""

from __future__ import annotations

import re

#: Fn's runtime images for a runtime name, and the memory `fn init` sets for it
_IMAGE_VERSIONS = {"python": "3.12", "node": "24", "go": "1.24"}
#: the fdk-go `fn init` requires (it asks GitHub for the newest tag; this was it)
FDK_GO_VERSION = "v0.0.66"
_INIT_MEMORY = {"python": 256}

GO_DEFAULT = """package main

import (
\t"encoding/json"
\t"fmt"
\t"os"
)

type greeting struct {
\tName string `json:"name"`
}

// The request body arrives on stdin; what is printed on stdout is the response.
func main() {
\tin := greeting{Name: "World"}
\tjson.NewDecoder(os.Stdin).Decode(&in)
\tout, _ := json.Marshal(map[string]string{"message": fmt.Sprintf("Hello %s", in.Name)})
\tfmt.Println(string(out))
}
"""

PYTHON_DEFAULT = """import json
import sys


def main():
    # The request body arrives on stdin; what is printed on stdout is the response.
    name = "World"
    body = sys.stdin.read()
    if body.strip():
        try:
            name = json.loads(body).get("name", name)
        except (ValueError, AttributeError):
            pass
    print(json.dumps({"message": "Hello " + str(name)}, separators=(",", ":")))


main()
"""

NODE_DEFAULT = """const fs = require('fs');

// The request body arrives on stdin; what is printed on stdout is the response.
let name = 'World';
const body = fs.readFileSync(0, 'utf8');
if (body.trim()) {
  try {
    name = JSON.parse(body).name || name;
  } catch (e) {
    // not JSON: greet the world
  }
}
console.log(JSON.stringify({ message: 'Hello ' + name }));
"""

PYTHON_FDK = """import io
import json

from fdk import response


def handler(ctx, data: io.BytesIO = None):
    name = "World"
    try:
        name = json.loads(data.getvalue()).get("name", name)
    except (ValueError, AttributeError):
        pass
    return response.Response(
        ctx,
        response_data=json.dumps({"message": "Hello " + str(name)}, separators=(",", ":")),
        headers={"Content-Type": "application/json"},
    )
"""

NODE_FDK = """const fdk = require('@fnproject/fdk');

fdk.handle(function (input) {
  const name = (input && input.name) || 'World';
  return { message: 'Hello ' + name };
});
"""

GO_FDK = """package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	fdk "github.com/fnproject/fdk-go"
)

func main() {
	fdk.Handle(fdk.HandlerFunc(greet))
}

// greet answers {"message":"Hello <name>"} to a body {"name": ...}, Hello World to any other.
func greet(ctx context.Context, in io.Reader, out io.Writer) {
	who := struct {
		Name string `json:"name"`
	}{Name: "World"}
	json.NewDecoder(in).Decode(&who)
	json.NewEncoder(out).Encode(map[string]string{"message": fmt.Sprintf("Hello %s", who.Name)})
}
"""

#: go.mod as `fn init --runtime go` writes it (a blank line first, no go directive)
GO_FDK_MOD = f"""
module func

require github.com/fnproject/fdk-go {FDK_GO_VERSION}
"""

GO_JSON = """package main

import (
\t"encoding/json"
\t"fmt"
\t"os"
)

// Fn's json format: one request object per call on stdin, one answer object on stdout.
type request struct {
\tCallID string `json:"call_id"`
\tBody   string `json:"body"`
}

type answer struct {
\tBody        string `json:"body"`
\tContentType string `json:"content_type"`
\tProtocol    struct {
\t\tStatusCode int `json:"status_code"`
\t} `json:"protocol"`
}

func main() {
\tin := json.NewDecoder(os.Stdin)
\tout := json.NewEncoder(os.Stdout)
\tfor {
\t\tvar req request
\t\tif err := in.Decode(&req); err != nil {
\t\t\treturn
\t\t}
\t\tbody := struct {
\t\t\tName string `json:"name"`
\t\t}{Name: "World"}
\t\tjson.Unmarshal([]byte(req.Body), &body)
\t\tgreeting, _ := json.Marshal(map[string]string{"message": fmt.Sprintf("Hello %s", body.Name)})
\t\tvar ans answer
\t\tans.Body, ans.ContentType, ans.Protocol.StatusCode = string(greeting), "application/json", 200
\t\tout.Encode(ans)
\t}
}
"""

PYTHON_JSON = """import json
import sys


def greet(body):
    name = "World"
    try:
        name = json.loads(body).get("name", name)
    except (ValueError, AttributeError):
        pass
    return json.dumps({"message": "Hello " + str(name)}, separators=(",", ":"))


# Fn's json format: one request object per call on stdin, one answer object on stdout.
for line in sys.stdin:
    if not line.strip():
        continue
    request = json.loads(line)
    answer = {
        "body": greet(request.get("body") or ""),
        "content_type": "application/json",
        "protocol": {"status_code": 200},
    }
    print(json.dumps(answer), flush=True)
"""

NODE_JSON = """const readline = require('readline');

function greet(body) {
  let name = 'World';
  try {
    name = JSON.parse(body).name || name;
  } catch (e) {
    // not JSON: greet the world
  }
  return JSON.stringify({ message: 'Hello ' + name });
}

// Fn's json format: one request object per call on stdin, one answer object on stdout.
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  const request = JSON.parse(line);
  const answer = {
    body: greet(request.body || ''),
    content_type: 'application/json',
    protocol: { status_code: 200 },
  };
  process.stdout.write(JSON.stringify(answer) + '\\n');
});
"""

#: the runtime names `fn init --runtime` takes (Fn's image versions)
INIT_RUNTIMES = (
    "go",
    "go1.24",
    "go1.23",
    "python",
    "python3.12",
    "python3.11",
    "node",
    "node24",
    "node22",
)

#: (runtime, format) -> {file name: content}, entrypoint
TEMPLATES: dict[tuple[str, str], tuple[dict[str, str], str]] = {
    ("go", "default"): ({"func.go": GO_DEFAULT}, "./func"),
    ("python", "default"): ({"func.py": PYTHON_DEFAULT}, "python3 func.py"),
    ("node", "default"): ({"func.js": NODE_DEFAULT}, "node func.js"),
    ("python", "http-stream"): (
        {"func.py": PYTHON_FDK, "requirements.txt": "fdk>=0.1.128\n"},
        "/python/bin/fdk /function/func.py handler",
    ),
    ("node", "http-stream"): (
        {"func.js": NODE_FDK, "package.json": ""},
        "node func.js",
    ),
    ("go", "http-stream"): ({"func.go": GO_FDK, "go.mod": GO_FDK_MOD}, "./func"),
    ("go", "json"): ({"func.go": GO_JSON}, "./func"),
    ("python", "json"): ({"func.py": PYTHON_JSON}, "python3 func.py"),
    ("node", "json"): ({"func.js": NODE_JSON}, "node func.js"),
}


def package_json(name: str) -> str:
    return (
        "{\n"
        f'  "name": "{name}",\n'
        '  "version": "1.0.0",\n'
        '  "main": "func.js",\n'
        '  "dependencies": {\n'
        '    "@fnproject/fdk": ">=0.0.76"\n'
        "  }\n"
        "}\n"
    )


def func_yaml(name: str, runtime: str, format_: str, entrypoint: str) -> str:
    """The seed era's func.yaml (no schema_version)."""
    lines = [f"name: {name}", "version: 0.0.1", f"runtime: {runtime}"]
    if format_ != "default":
        lines.append(f"format: {format_}")
    lines.append(f"entrypoint: {entrypoint}")
    return "\n".join(lines) + "\n"


def family(runtime: str) -> str:
    """The language of one of Fn's runtime names: python3.12 -> python."""
    return re.sub(r"[\d.]+$", "", runtime)


def fdk_func_yaml(name: str, runtime: str, entrypoint: str) -> str:
    """func.yaml as today's `fn init --runtime RUNTIME` writes it: schema 20180708, the
    runtime's build and run images, no format (http-stream is Fn's only one)."""
    language = family(runtime)
    version = runtime[len(language) :] or _IMAGE_VERSIONS[language]
    lines = [
        "schema_version: 20180708",
        f"name: {name}",
        "version: 0.0.1",
        f"runtime: {runtime}",
        f"build_image: fnproject/{language}:{version}-dev",
        f"run_image: fnproject/{language}:{version}",
        f"entrypoint: {entrypoint}",
    ]
    if language in _INIT_MEMORY:
        lines.append(f"memory: {_INIT_MEMORY[language]}")
    return "\n".join(lines) + "\n"


def files(name: str, runtime: str, format_: str) -> dict[str, str]:
    """Every file of a new function, func.yaml included. `runtime` may carry Fn's version
    (python3.11, node22)."""
    sources, entrypoint = TEMPLATES[(family(runtime), format_)]
    out = {n: (package_json(name) if n == "package.json" else text) for n, text in sources.items()}
    if format_ == "http-stream":
        out["func.yaml"] = fdk_func_yaml(name, runtime, entrypoint)
    else:
        out["func.yaml"] = func_yaml(name, family(runtime), format_, entrypoint)
    return out


def trigger_yaml(name: str) -> str:
    """What `fn init --trigger http` adds: one http trigger named for the function."""
    return f"triggers:\n- name: {name}\n  type: http\n  source: /{name}\n"
