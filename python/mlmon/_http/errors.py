"""The HTTP errors of both apps (the drift service and the production API) and the one
``exception_handlers`` mapping that turns every domain and decode error into a response with the stable
body ``{status_code, detail}``.

Bad input is never a 500: msgspec decode errors (and the ``RecursionError`` a deeply nested untyped body
raises) are 400, domain validation 422, outages 503 and overload 429, both with ``Retry-After``.
Handlers and guards raise; only this module maps, so no handler holds a ``try``/``except``. An error
may add fields to its body through a ``body_fields`` mapping (the production API's digest mismatch
names both digests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from mlmon.exceptions import CodecError, InputError, MlmonError, SchemaMismatchError
from mlmon.store import ConflictError, NotFoundError, SchemaVersionError, StoreUnavailableError

__all__ = [
    "BadRequestError",
    "OverloadedError",
    "UnsupportedMediaError",
    "error_response",
    "exception_handlers",
]

RETRY_AFTER_SECONDS = "1"
_RETRY_STATUSES = frozenset({429, 503})  # the client should come back: say when
_log = logging.getLogger("mlmon.service")

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


class BadRequestError(InputError):
    """A body that is not a well-formed request (400): ingest, or the production API's ``/predict``."""


class UnsupportedMediaError(InputError):
    """A body in a media type or content encoding the app does not read (415)."""


class OverloadedError(MlmonError):
    """The worker's queue or in-flight byte budget is full, or it is draining (429 with ``Retry-After``)."""


def error_response(
    status: int, detail: str, headers: Mapping[str, str] | None = None, **fields: Any
) -> Response[Any]:
    """The error body every error of both apps gets: ``{status_code, detail, **fields}``.

    Args:
        status: The HTTP status.
        detail: What went wrong, for the client.
        headers: Extra response headers.
        **fields: Extra body fields (an error's ``body_fields``).

    Returns:
        The JSON response.
    """
    return Response(
        content={"status_code": status, "detail": detail, **fields},
        status_code=status,
        media_type=MediaType.JSON,
        headers=dict(headers) if headers else None,
    )


def _status(status: int) -> Handler:
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status in _RETRY_STATUSES else None

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, RecursionError):
            detail = "malformed body: nested too deeply"
        elif isinstance(exc, msgspec.DecodeError):
            detail = f"malformed body: {exc}"
        return error_response(status, detail, headers, **getattr(exc, "body_fields", {}))

    return handle


# Litestar's only sign that the body's sender went away (it closed, or missed the body deadline of
# mlmon.service.protocol): a 500 InternalServerException with this detail. The client's doing, not a bug.
_CLIENT_GONE = "client disconnected prematurely"


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    # Litestar's own errors (401, 403, 404 route, 405, 413...) keep their status; 5xx keep no detail.
    if exc.status_code == 500 and exc.detail == _CLIENT_GONE:
        return error_response(408, "the client stopped sending the request body")
    detail = exc.detail if exc.status_code < 500 else "internal error"
    return error_response(exc.status_code, detail, exc.headers)


def _bug(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A bug, not bad input: log it with the request id, hide internals from the client.
    _log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(500, "internal error")


_STATUSES: dict[type[Exception], int] = {
    msgspec.DecodeError: 400,
    RecursionError: 400,
    UnicodeDecodeError: 400,
    BadRequestError: 400,
    UnsupportedMediaError: 415,
    InputError: 422,
    CodecError: 422,
    SchemaMismatchError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    OverloadedError: 429,
    StoreUnavailableError: 503,
    SchemaVersionError: 503,
}


def exception_handlers(
    statuses: Mapping[type[Exception], int] | None = None,
) -> dict[type[Exception] | int, Any]:
    """The mapping given to ``Litestar(exception_handlers=...)``; the most specific class wins.

    Args:
        statuses: An app's own error classes and their status (the production API's ``NoModelError``
            503, say); they join the shared ones.

    Returns:
        The handlers: every status error with the stable body, Litestar's own HTTP errors with theirs,
        and anything else a logged 500 that shows no internals.
    """
    handlers: dict[type[Exception] | int, Any] = {HTTPException: _http, Exception: _bug}
    for cls, status in {**_STATUSES, **(statuses or {})}.items():
        handlers[cls] = _status(status)
    return handlers
