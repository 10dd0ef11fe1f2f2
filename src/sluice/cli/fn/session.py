"""Each `sluice fn` command's Fn client, and its errors reported as the CLI reports them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import click

from sluice.cli.fn.client import FnClient
from sluice.cli.output import quiet_request_logs, reported_errors

P = ParamSpec("P")
R = TypeVar("R")


def with_fn_client(fn: Callable[Concatenate[FnClient, P], R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        quiet_request_logs()
        options = click.get_current_context().find_root().obj or {}
        with reported_errors(), FnClient.from_options(options) as client:
            return fn(client, *args, **kwargs)

    return command
