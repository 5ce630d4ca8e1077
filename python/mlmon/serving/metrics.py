"""Prometheus metrics of the production API, in a registry the app owns (never the global one): rows
scored per live model version, prediction latency, deploys by outcome, and the drift client's
``mlmon_client_rows_total`` / ``mlmon_client_retries_total`` (the client registers into the same
registry). Model and version labels come only from deployed models, never from request bodies."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["ServingMetrics"]


@dataclass(frozen=True)
class ServingMetrics:
    """The API's metric families and their registry."""

    registry: CollectorRegistry
    rows: Counter
    latency: Histogram
    deploys: Counter

    @classmethod
    def build(cls, registry: CollectorRegistry) -> ServingMetrics:
        """Registers the families in ``registry``."""
        rows = Counter(
            "mlmon_serving_predicted_rows",
            "Rows scored, by model and version.",
            ["model", "version"],
            registry=registry,
        )
        latency = Histogram(
            "mlmon_serving_predict_seconds", "Time to score one /predict batch.", registry=registry
        )
        deploys = Counter(
            "mlmon_serving_deploys",
            "PUT /admin/model answers: live, unchanged or refused.",
            ["outcome"],
            registry=registry,
        )
        return cls(registry, rows, latency, deploys)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
