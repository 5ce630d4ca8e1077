"""Probes and metrics: ``/healthz`` (alive, never touches the store), ``/readyz`` (store reachable,
migrations current, not draining) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from mlmon.service.deps import InjectedStore
from mlmon.service.metrics import CONTENT_TYPE_LATEST, Metrics, render
from mlmon.service.storecalls import bounded
from mlmon.service.worker import Lifecycle
from mlmon.store import migrate

__all__ = ["HealthController"]

_READY_TIMEOUT = 1.5  # seconds: /readyz must turn 503 within 2 s of an outage (RELIABILITY R3)


class HealthController(Controller):
    """Liveness, readiness and metrics."""

    tags = ("ops",)

    @get("/healthz", operation_id="Healthz")
    async def healthz(self) -> dict[str, str]:
        """Alive: the process answers. Never touches the database, so an outage restarts no pod."""
        return {"status": "ok"}

    @get("/readyz", operation_id="Readyz")
    async def readyz(
        self, lifecycle: NamedDependency[Lifecycle], store: NamedDependency[InjectedStore]
    ) -> Response[dict[str, str]]:
        """Ready: not draining, the store answers and its schema is this code's (503 otherwise)."""
        if lifecycle.unready:
            # SIGTERM arrived: the load balancer should stop sending, while this worker still serves.
            return Response({"status": "draining"}, status_code=503, headers={"Retry-After": "1"})
        # migrate.check raises SchemaVersionError / StoreUnavailableError, both mapped to 503. A store
        # that does not answer (down: the pool waits for a connection; hung: no reply) is unready too.
        version = await bounded(migrate.check, store, timeout=_READY_TIMEOUT)
        return Response({"status": "ready", "schema_version": str(version)})

    @get("/metrics", operation_id="Metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics(self, metrics: NamedDependency[Metrics]) -> Response[bytes]:
        """Prometheus exposition of every worker's metrics."""
        return Response(render(metrics), media_type=CONTENT_TYPE_LATEST)
