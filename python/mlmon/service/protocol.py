"""Uvicorn's httptools protocol with read deadlines, so a slow client cannot hold a worker (slowloris).

Uvicorn times out only idle keep-alive connections: a client that trickles its request headers, or its
body, one byte every few seconds keeps its connection (and its place under ``limit_concurrency``) for
as long as it likes. This protocol adds two deadlines per request:

* **headers**: from the connection's first byte (or its opening, for a client that sends nothing) to the
  end of the request headers, ``header_timeout_seconds``; beyond it the client gets ``408`` and the
  connection is closed;
* **body**: from the end of the headers to the end of the body, ``body_timeout_seconds``; beyond it the
  connection gets ``408`` (if no response started) and is closed, and the handler sees a disconnect.

The deadlines are totals, not idle gaps, so a byte every second does not reset them. Uvicorn builds the
protocol itself in each worker process (spawned, not forked), so the drift service's limits are read
from the worker's ``MLMON_SETTINGS_JSON`` (which :func:`mlmon.service.server.serve` sets) rather than
passed in; a server in one process (the production API) uses :func:`with_deadlines` instead.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["DeadlineProtocol", "read_limits", "with_deadlines"]

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)


@functools.cache
def read_limits() -> tuple[float, float]:
    """``(header_timeout_seconds, body_timeout_seconds)`` of this worker's settings."""
    from mlmon.service.settings import Settings

    raw = os.environ.get("MLMON_SETTINGS_JSON")
    settings = Settings.from_json(raw) if raw else Settings.from_env()
    return settings.header_timeout_seconds, settings.body_timeout_seconds


def with_deadlines(header_seconds: float, body_seconds: float) -> type[DeadlineProtocol]:
    """A :class:`DeadlineProtocol` with these deadlines, for a server run in this process (a spawned
    worker cannot unpickle the class made here)."""
    return type("BoundDeadlineProtocol", (DeadlineProtocol,), {"deadlines": (header_seconds, body_seconds)})


def _timeout_body(what: str) -> bytes:
    detail = f"the client took too long to send the request {what}"
    body = b'{"status_code":408,"detail":"%s"}' % detail.encode()
    return _TIMEOUT_RESPONSE % (len(body), body)


class DeadlineProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` with the header and body deadlines of the module docstring."""

    deadlines: tuple[float, float] | None = None
    """``(header, body)`` seconds; ``None``: this worker's service settings (:func:`read_limits`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout, self._body_timeout = self.deadlines or read_limits()
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire, what)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, what: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        pending = cycle is not None and not cycle.response_complete
        # A 408 only where a response may start: never after a handler already answered.
        if (what == "headers" and not pending) or (
            what == "body" and pending and cycle is not None and not cycle.response_started
        ):
            self.transport.write(_timeout_body(what))
        if cycle is not None and pending:
            # The handler's later response goes nowhere, and its body read ends in a disconnect.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Opens the connection, with the header deadline running until the first request's headers."""
        super().connection_made(transport)
        self._arm(self._header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        """Closes the connection and its deadline."""
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """A new request on the connection: its header deadline starts."""
        super().on_message_begin()
        self._arm(self._header_timeout, "headers")

    def on_headers_complete(self) -> None:
        """The headers are in: the body deadline replaces the header one."""
        super().on_headers_complete()
        self._arm(self._body_timeout, "body")

    def on_message_complete(self) -> None:
        """The body is in: no deadline while the handler runs (the keep-alive timer follows)."""
        self._disarm()
        super().on_message_complete()
