"""The ingest route served as a raw ASGI endpoint, ahead of Litestar's router.

``POST /v1/models/{model}/ingest`` is the one route that runs thousands of times a second. Through
Litestar's router, route handler, request and response objects it cost 70-100 us of CPU per batch
on top of the work (a raw endpoint: under 15 us), which was a quarter of a batch's CPU under load.
:class:`~mlmon.service.app.DriftService` hands the route's canonical path here; every other path,
the route's variants (a trailing slash, another method) and the OpenAPI document stay Litestar's, from
:class:`~mlmon.service.routes.ingest.IngestController`, the declaration both serve.

What Litestar did for the route is kept and shared rather than redone: the same
:func:`~mlmon.service.routes.ingest.accept` (token, then the write path), the request log middleware
around it, the app's ``exception_handlers`` for every refusal (the same status, headers and body) and
its ``after_exception`` hooks (the refusal counter), and its body rules: the size limit as a 413 and a
sender that goes away as Litestar's "client disconnected" error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.exceptions import ClientException, InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import Receive, Scope, Send

from mlmon.service.deps import worker_of
from mlmon.service.routes.ingest import INGEST_ROUTE, accept

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = ["IngestEndpoint", "ingest_model"]

_PREFIX, _SUFFIX = "/v1/models/", "/ingest"
_JSON = (b"content-type", b"application/json")
_encode = msgspec.json.Encoder().encode


def ingest_model(path: str) -> str | None:
    """The model of a canonical ingest path (``/v1/models/{model}/ingest``), else ``None``."""
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    model = path[len(_PREFIX) : -len(_SUFFIX)]
    return model if model and "/" not in model else None


class _RawRequest:
    """What :func:`~mlmon.service.ingest.ingest` reads of a request: headers and the body, read under
    Litestar's rules (``Request.stream``) without its copies (a one-chunk body is not joined)."""

    __slots__ = ("_limit", "_receive", "headers")

    def __init__(self, scope: Scope, receive: Receive, limit: int) -> None:
        # ASGI header names are lower case; the first of a repeated header wins, as in Litestar.
        self.headers: Mapping[str, str] = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(list(scope["headers"]))
        }
        self._receive = receive
        self._limit = limit

    async def body(self) -> bytes:
        announced = self.headers.get("content-length")
        if announced is not None:
            try:
                length = int(announced)
            except ValueError:
                raise ClientException(f"Invalid content-length: {announced!r}") from None
            if length > self._limit:
                raise RequestEntityTooLarge
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise InternalServerException("client disconnected prematurely")
            chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
            if chunk:
                total += len(chunk)
                if total > self._limit:
                    raise RequestEntityTooLarge
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class IngestEndpoint:
    """The raw ASGI endpoint of ``POST /v1/models/{model}/ingest`` (the scope's ``path_params`` hold
    the model; :class:`~mlmon.service.app.DriftService` routes here).

    Args:
        app: The Litestar app whose route this serves: its state (the worker), exception handlers,
            ``after_exception`` hooks and the route's handler (for the request log's route label).

    Raises:
        LookupError: the app has no ingest route (:data:`~mlmon.service.routes.ingest.INGEST_ROUTE`).
    """

    def __init__(self, app: Litestar) -> None:
        index = app.get_handler_index_by_name(INGEST_ROUTE)
        limit = app.request_max_body_size
        if index is None or not isinstance(limit, int):
            raise LookupError(f"the app has no route named {INGEST_ROUTE!r} or no body size limit")
        self._app = app
        self._handler = index["handler"]
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serves one ingest request."""
        scope["route_handler"] = self._handler
        request = _RawRequest(scope, receive, self._limit)
        try:
            answer = await accept(worker_of(self._app.state), scope["path_params"]["model"], request)
        except Exception as exc:  # every refusal as Litestar gives it: the app's handlers, then hooks
            await self._refuse(scope, receive, send, exc)
            return
        body = _encode(answer)
        headers = [_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        for hook in self._app.after_exception:
            await hook(exc, scope)
        handler = _handler_of(self._app.exception_handlers, exc)
        request = self._app.request_class(scope=scope, receive=receive, send=send)
        response = handler(request, exc)
        await response.to_asgi_response(app=None, request=request)(scope, receive, send)


def _handler_of(handlers: Mapping[Any, Any], exc: Exception) -> Any:
    """The handler of the most specific class of ``exc`` (the app maps ``Exception`` itself, so one
    always matches)."""
    return next(handlers[cls] for cls in type(exc).__mro__ if cls in handlers)
