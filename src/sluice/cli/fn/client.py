"""A client for Sluice's Fn API: the key as a Bearer token, as Fn's CLI sends `FN_TOKEN`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from sluice.cli.client import CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, ClientError
from sluice.cli.clientconfig import load_client_config, normalize_apihost

Json = dict[str, Any]


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    text = response.text.strip()
    return text[:300] if text else "request failed"


class FnClient:
    def __init__(self, apihost: str, token: str, transport: httpx.BaseTransport | None = None):
        self.apihost = apihost
        self._http = httpx.Client(
            base_url=apihost,
            headers={"authorization": f"Bearer {token}", "user-agent": "sluice-fn-cli"},
            timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
            transport=transport,
        )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> FnClient:
        """`--apihost`/`--auth`, else `FN_API_URL`/`FN_TOKEN`, else Sluice's client config."""
        apihost = options.get("apihost") or os.environ.get("FN_API_URL")
        token = options.get("auth") or os.environ.get("FN_TOKEN")
        config = load_client_config(apihost, token, options.get("namespace"))
        return cls(normalize_apihost(config.apihost), config.auth)

    def __enter__(self) -> FnClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Json | None = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send; an answer outside 2xx raises ClientError with Fn's message."""
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = self._http.request(
                method, path, json=body, content=content, params=query, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise ClientError(None, f"Sluice at {self.apihost} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ClientError(
                None, f"cannot reach Sluice at {self.apihost}: is `sluice serve` running?"
            ) from exc
        if not response.is_success:
            raise ClientError(response.status_code, _message(response))
        return response

    def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send to `url` (a full URL the server announced, or a path) whatever it answers."""
        try:
            return self._http.request(method, url, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise ClientError(None, f"Sluice at {self.apihost} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ClientError(
                None, f"cannot reach Sluice at {self.apihost}: is `sluice serve` running?"
            ) from exc

    def json(self, method: str, path: str, **kwargs: Any) -> Json:
        response = self.request(method, path, **kwargs)
        try:
            found: Json = response.json()
        except ValueError as exc:
            raise ClientError(response.status_code, "the server's answer is not JSON") from exc
        return found
