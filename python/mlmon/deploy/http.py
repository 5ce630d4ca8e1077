"""HTTP calls of a deploy: timeouts on every call, retries with exponential backoff on connection errors,
429 and 5xx; any other answer is returned to the caller, which decides what it means."""

from __future__ import annotations

import time
from typing import Any

import httpx

from mlmon.deploy.config import HttpConfig
from mlmon.deploy.errors import InfrastructureError

__all__ = ["RetryingClient"]

_RETRY_STATUS = {429, 502, 503, 504}
_BACKOFF_CAP = 10.0


class RetryingClient:
    """An ``httpx.Client`` whose :meth:`request` retries transient failures.

    Args:
        config: Timeout, retries and base backoff.
    """

    def __init__(self, config: HttpConfig) -> None:
        self.config = config
        self._client = httpx.Client(timeout=config.timeout_seconds, follow_redirects=False)

    def close(self) -> None:
        """Closes the connection pool."""
        self._client.close()

    def __enter__(self) -> RetryingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, url: str, *, what: str, retry_unavailable: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """Sends the request, retrying transient failures ``config.retries`` times.

        Args:
            method: HTTP method.
            url: Full URL.
            what: What the call does, for the error message (``"baseline upload"``).
            retry_unavailable: Retry 503 (off where 503 is an answer: "no model loaded yet").
            **kwargs: Passed to ``httpx.Client.request`` (headers, content...).

        Raises:
            InfrastructureError: still a connection error, a timeout, 429 or 5xx after the last retry.
        """
        attempts = max(1, self.config.retries + 1)
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(_BACKOFF_CAP, self.config.backoff_seconds * 2 ** (attempt - 1)))
            try:
                response = self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            transient = response.status_code in _RETRY_STATUS or response.status_code >= 500
            if transient and (retry_unavailable or response.status_code != 503):
                problem = f"HTTP {response.status_code}: {response.text[:200]}"
                continue
            return response
        raise InfrastructureError(f"{what} failed after {attempts} attempts ({method} {url}): {problem}")
