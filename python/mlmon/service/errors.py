"""HTTP errors of the service and the production API (:mod:`mlmon.serving` uses these same classes),
and the one ``exception_handlers`` mapping that turns every domain and decode error into a 4xx/503
response with a stable body ``{status_code, detail}``.

Bad input is never a 500: msgspec decode errors (and the ``RecursionError`` a deeply nested untyped body
raises) are 400, domain validation 422, store outages 503 with ``Retry-After``. Handlers hold no
``try``/``except``; they only map.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from mlmon.exceptions import CodecError, InputError, MlmonError, SchemaMismatchError
from mlmon.store import ConflictError, NotFoundError, SchemaVersionError, StoreUnavailableError

__all__ = [
    "BadRequestError",
    "BatchConflictError",
    "OverloadedError",
    "UnsupportedMediaError",
    "exception_handlers",
]

RETRY_AFTER_SECONDS = "1"
_log = logging.getLogger("mlmon.service")


class BadRequestError(InputError):
    """A body that is not a well-formed request (400): ingest, or the production API's ``/predict``."""


class UnsupportedMediaError(InputError):
    """A body in a media type or content encoding the service does not read (415)."""


class BatchConflictError(ConflictError):
    """A batch id already counted with different content (409)."""


class OverloadedError(MlmonError):
    """The worker's queue or in-flight byte budget is full (429 with ``Retry-After``)."""


def _body(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content={"status_code": status, "detail": detail},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _status(status: int, retry: bool = False) -> Callable[[Request[Any, Any, Any], Exception], Response[Any]]:
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if retry else None

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, RecursionError):
            detail = "malformed body: nested too deeply"
        elif isinstance(exc, msgspec.DecodeError):
            detail = f"malformed body: {exc}"
        return _body(status, detail, headers)

    return handle


# Litestar's only sign that the body's sender went away (it closed, or missed the body deadline of
# mlmon.service.protocol): a 500 InternalServerException with this detail. The client's doing, not a bug.
_CLIENT_GONE = "client disconnected prematurely"


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    # Litestar's own errors (401, 403, 404 route, 405, 413...) keep their status; 5xx keep no detail.
    if exc.status_code == 500 and exc.detail == _CLIENT_GONE:
        return _body(408, "the client stopped sending the request body")
    detail = exc.detail if exc.status_code < 500 else "internal error"
    return _body(exc.status_code, detail, exc.headers)


def _bug(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A bug, not bad input: log it with the request id, hide internals from the client.
    _log.error("unhandled error on %s", request.url.path, exc_info=exc)
    return _body(500, "internal error")


def exception_handlers() -> dict[type[Exception] | int, Any]:
    """The mapping given to ``Litestar(exception_handlers=...)``; the most specific class wins."""
    return {
        HTTPException: _http,
        msgspec.DecodeError: _status(400),
        RecursionError: _status(400),
        UnicodeDecodeError: _status(400),
        BadRequestError: _status(400),
        UnsupportedMediaError: _status(415),
        InputError: _status(422),
        CodecError: _status(422),
        SchemaMismatchError: _status(422),
        NotFoundError: _status(404),
        ConflictError: _status(409),
        OverloadedError: _status(429, retry=True),
        StoreUnavailableError: _status(503, retry=True),
        SchemaVersionError: _status(503, retry=True),
        Exception: _bug,
    }
