"""Probes and metrics of the production API: ``/healthz`` (alive), ``/readyz`` (a model is live),
``/version`` (what is live) and ``/metrics`` (Prometheus text). None loads anything."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST

from mlmon.serving.metrics import ServingMetrics
from mlmon.serving.models import ModelHolder

__all__ = ["OpsController"]


class OpsController(Controller):
    """Liveness, readiness, the live version and metrics."""

    tags = ("ops",)

    @get("/metrics", operation_id="Metrics", media_type=CONTENT_TYPE_LATEST)
    async def metrics_text(self, metrics: NamedDependency[ServingMetrics]) -> Response[bytes]:
        """Prometheus exposition: rows scored, latency, deploys and the drift client's counters."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @get("/version", operation_id="Version")
    async def version(self, holder: NamedDependency[ModelHolder]) -> dict[str, str]:
        """``{model, version, sha256, loaded_at}`` of the live model (503 while none is loaded)."""
        return holder.current().describe()

    @get("/healthz", operation_id="Healthz")
    async def healthz(self) -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @get("/readyz", operation_id="Readyz")
    async def readyz(self, holder: NamedDependency[ModelHolder]) -> dict[str, str]:
        """Ready: a model is loaded (503 otherwise)."""
        return {"status": "ready", "version": holder.current().version}
