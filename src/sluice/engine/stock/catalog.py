"""What the stock packages hold: each package's description and, for each action, its code file
(beside this module) and the annotations clients show (`wsk package get --summary`): a
description, the parameters it reads, and a sample input and output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _param(name: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": description, **extra}


@dataclass(frozen=True, slots=True)
class StockAction:
    name: str
    description: str
    parameters: list[dict[str, Any]] = field(default_factory=list)
    sample_input: dict[str, Any] | None = None
    sample_output: dict[str, Any] | None = None

    def annotations(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"key": "description", "value": self.description}]
        if self.parameters:
            out.append({"key": "parameters", "value": self.parameters})
        if self.sample_input is not None:
            out.append({"key": "sampleInput", "value": self.sample_input})
        if self.sample_output is not None:
            out.append({"key": "sampleOutput", "value": self.sample_output})
        return out


@dataclass(frozen=True, slots=True)
class StockPackage:
    name: str
    description: str
    actions: tuple[StockAction, ...]


_LINES = _param("lines", "An array of strings or numbers", required=True, type="array")

UTILS = StockPackage(
    "utils",
    "Building blocks that format and assemble data",
    (
        StockAction(
            "echo",
            "Returns the input",
            [_param("payload", "Any JSON entity", required=False)],
            {"payload": "Five fuzzy felines"},
            {"payload": "Five fuzzy felines"},
        ),
        StockAction(
            "cat",
            "Concatenates input into a string",
            [_LINES],
            {"lines": [4, 2, 3]},
            {"lines": [4, 2, 3], "payload": "4\n2\n3"},
        ),
        StockAction(
            "sort",
            "Sorts an array",
            [_LINES],
            {"lines": [4, 2, 3]},
            {"lines": [2, 3, 4], "length": 3},
        ),
        StockAction(
            "head",
            "Extract prefix of an array",
            [
                _LINES,
                _param("num", "The length of the prefix (1 if not given)", type="integer"),
            ],
            {"lines": [4, 2, 3], "num": 2},
            {"lines": [4, 2], "num": 2},
        ),
        StockAction(
            "split",
            "Split a string into an array",
            [
                _param("payload", "A string", required=True),
                _param("separator", "The string to split at (line ends if not given)"),
            ],
            {"payload": "one,two,three", "separator": ","},
            {"lines": ["one", "two", "three"], "payload": "one,two,three"},
        ),
        StockAction(
            "date", "Current date and time", [], None, {"date": "2016-03-22T00:59:55.961Z"}
        ),
        StockAction(
            "namespace",
            "Returns namespace for the authorization key used to invoke this action",
            [],
            None,
            {"namespace": "guest"},
        ),
        StockAction(
            "hosturl",
            "Returns the URL to activate an action or trigger",
            [
                _param("web", "True for web actions", type="boolean"),
                _param("ext", "Extension for web action: .html, .http, .json, .svg, .text"),
                _param(
                    "trigger", "True for a trigger's URL instead of an action's", type="boolean"
                ),
                _param("path", "The action's name, as <action> or <package>/<action>"),
            ],
            {"web": True, "path": "utils/echo"},
            {"url": "http://127.0.0.1:3233/api/v1/web/guest/utils/echo"},
        ),
    ),
)

SAMPLES = StockPackage(
    "samples",
    "A suite of simple actions to help you get started with OpenWhisk",
    (
        StockAction(
            "greeting",
            "Returns a friendly greeting",
            [
                _param("name", "Who to greet (else the payload, else 'stranger')"),
                _param("place", "The string to be included in the return value"),
            ],
            {"payload": "Cat", "place": "Narrowsburg"},
            {"payload": "Hello, Cat from Narrowsburg!"},
        ),
        StockAction(
            "wordCount",
            "Count words in a string",
            [_param("payload", "A string", required=True)],
            {"payload": "Five fuzzy felines"},
            {"count": 3},
        ),
        StockAction(
            "helloWorld",
            "Demonstrates logging facilities",
            [_param("payload", "The string to be included in the log record")],
            {"payload": "Cat"},
            {},
        ),
        StockAction(
            "curl",
            "Curl a host url",
            [_param("payload", "A host url", required=True)],
            {"payload": "example.com"},
            {"msg": "content returned from example.com"},
        ),
    ),
)

PACKAGES = (UTILS, SAMPLES)
