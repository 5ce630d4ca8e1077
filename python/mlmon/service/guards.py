"""The service's Litestar guards: who may call a route, decided from the headers before the handler
runs (and before its body is read). Each raises Litestar's 401/403 (``NotAuthorizedException`` /
``PermissionDeniedException``), which the shared exception handlers turn into the stable error body.

The guards are coroutines although they never await: Litestar runs a plain function guard in its thread
pool, and that hop to a thread and back was a tenth of an ingest request's CPU.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from mlmon.service.deps import worker_of

__all__ = ["admin_only", "model_reader", "query_model_reader", "require_writer"]

Connection = ASGIConnection[Any, Any, Any, Any]


def _authorization(connection: Connection) -> str | None:
    return connection.headers.get("authorization")


async def admin_only(connection: Connection, _: BaseRouteHandler) -> None:
    """Admin routes (baseline upload): the admin token, 403 for an ingest token, 401 otherwise."""
    worker_of(connection.app.state).auth.require_admin(_authorization(connection))


def require_writer(connection: Connection, model: str) -> None:
    """Writes of ``{model}`` (ingest, labels): the model's own token or the admin token (``public_read``
    does not open writes). The write routes call it as their first step, before the body is read,
    rather than as a guard: Litestar copies the route handler for every guard call, which cost a tenth
    of an ingest request's CPU.

    Raises:
        NotAuthorizedException: no or unknown token (401).
        PermissionDeniedException: another model's token (403).
    """
    worker_of(connection.app.state).auth.require_model(_authorization(connection), model)


def _require_read(connection: Connection, model: str) -> None:
    worker = worker_of(connection.app.state)
    if not worker.settings.public_read:
        worker.auth.require_model(_authorization(connection), model)


async def model_reader(connection: Connection, _: BaseRouteHandler) -> None:
    """Reads of ``{model}``: open with ``public_read``, else its own token or the admin token."""
    _require_read(connection, connection.path_params["model"])


async def query_model_reader(connection: Connection, _: BaseRouteHandler) -> None:
    """As :func:`model_reader` for the model named by ``?model=``; without one, the handler's ``read_scope``
    dependency limits the listing instead."""
    model = connection.query_params.get("model")
    if model is not None:
        _require_read(connection, model)
