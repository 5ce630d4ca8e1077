"""The service's Litestar guards: who may call a route, decided from the headers before the handler
runs (and before its body is read). Each raises Litestar's 401/403 (``NotAuthorizedException`` /
``PermissionDeniedException``), which the shared exception handlers turn into the stable error body.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from mlmon.service.deps import worker_of

__all__ = ["admin_only", "model_reader", "model_writer", "query_model_reader"]

Connection = ASGIConnection[Any, Any, Any, Any]


def _authorization(connection: Connection) -> str | None:
    return connection.headers.get("authorization")


def admin_only(connection: Connection, _: BaseRouteHandler) -> None:
    """Admin routes (baseline upload): the admin token, 403 for an ingest token, 401 otherwise."""
    worker_of(connection.app.state).auth.require_admin(_authorization(connection))


def model_writer(connection: Connection, _: BaseRouteHandler) -> None:
    """Ingest into ``{model}``: the model's own token or the admin token (``public_read`` does not
    open writes)."""
    model = connection.path_params["model"]
    worker_of(connection.app.state).auth.require_model(_authorization(connection), model)


def _require_read(connection: Connection, model: str) -> None:
    worker = worker_of(connection.app.state)
    if not worker.settings.public_read:
        worker.auth.require_model(_authorization(connection), model)


def model_reader(connection: Connection, _: BaseRouteHandler) -> None:
    """Reads of ``{model}``: open with ``public_read``, else its own token or the admin token."""
    _require_read(connection, connection.path_params["model"])


def query_model_reader(connection: Connection, _: BaseRouteHandler) -> None:
    """As :func:`model_reader` for the model named by ``?model=``; without one, the handler's ``read_scope``
    dependency limits the listing instead."""
    model = connection.query_params.get("model")
    if model is not None:
        _require_read(connection, model)
