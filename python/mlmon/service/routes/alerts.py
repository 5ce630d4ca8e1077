"""``GET /v1/alerts``: the alerts raised, newest first, of one model or of every model a token may read."""

from __future__ import annotations

import anyio.to_thread
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from mlmon.service.deps import InjectedStore
from mlmon.service.guards import query_model_reader
from mlmon.store import Alert, Store

__all__ = ["AlertsController"]


def _alerts(store: Store, model: str | None, limit: int, scope: frozenset[str] | None) -> list[Alert]:
    if model is not None:
        models = [model]
    else:
        models = [m.name for m in store.list_models() if scope is None or m.name in scope]
    alerts = [a for name in models for a in store.list_alerts(name, limit=limit)]
    return sorted(alerts, key=lambda a: a.created_at, reverse=True)[:limit]


class AlertsController(Controller):
    """The alert listing."""

    path = "/v1"
    tags = ("registry",)

    @get("/alerts", operation_id="ListAlerts", guards=[query_model_reader])
    async def list_alerts(
        self,
        store: NamedDependency[InjectedStore],
        read_scope: NamedDependency[frozenset[str] | None],
        model: FromQuery[str | None] = None,
        limit: FromQuery[int] = 100,
    ) -> list[Alert]:
        """Alerts, newest first: of one model (``?model=``, its token or admin), or of every model the
        token may read (all for the admin token, its own for an ingest token)."""
        limit = max(1, min(limit, 1000))
        return await anyio.to_thread.run_sync(_alerts, store, model, limit, read_scope)
