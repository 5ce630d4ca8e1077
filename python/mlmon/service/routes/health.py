"""Probes and metrics: ``/healthz`` (alive, never touches the store), ``/readyz`` (store reachable,
migrations current, not draining) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import functools

import anyio
import anyio.to_thread
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from mlmon.service.core import ServiceCore
from mlmon.service.metrics import CONTENT_TYPE_LATEST, render
from mlmon.store import StoreUnavailableError, migrate

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
    async def readyz(self, core: NamedDependency[ServiceCore]) -> Response[dict[str, str]]:
        """Ready: not draining, the store answers and its schema is this code's (503 otherwise)."""
        if core.unready:
            # SIGTERM arrived: the load balancer should stop sending, while this worker still serves.
            return Response({"status": "draining"}, status_code=503, headers={"Retry-After": "1"})
        # migrate.check raises SchemaVersionError / StoreUnavailableError, both mapped to 503. A store
        # that does not answer (down: the pool waits for a connection; hung: no reply) is unready too.
        try:
            with anyio.fail_after(_READY_TIMEOUT):
                check = functools.partial(migrate.check, core.store)  # type: ignore[arg-type]
                version = await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
        except TimeoutError as exc:
            raise StoreUnavailableError(f"the store did not answer within {_READY_TIMEOUT:g} s") from exc
        return Response({"status": "ready", "schema_version": str(version)})

    @get("/metrics", operation_id="Metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics(self, core: NamedDependency[ServiceCore]) -> Response[bytes]:
        """Prometheus exposition of every worker's metrics."""
        return Response(render(core.metrics), media_type=CONTENT_TYPE_LATEST)
