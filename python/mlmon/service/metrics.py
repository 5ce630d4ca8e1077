"""Prometheus metrics of the service, built on a given registry (never the global one at import).

With several workers, ``PROMETHEUS_MULTIPROC_DIR`` must be set before the workers start (``serve``
does it): each process then writes its values to files there and :func:`render` merges them. Label
values come only from the registry and baselines (model, version, feature), never from free client
input, so the series count stays bounded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from mlmon import __version__

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "build_metrics", "mark_worker_dead", "render"]

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SEVERITY = {"ok": 0.0, "insufficient_data": 0.0, "warning": 1.0, "critical": 2.0}


@dataclass(frozen=True)
class Metrics:
    """The service's metric objects."""

    registry: CollectorRegistry
    drift_score: Gauge
    drift_severity: Gauge
    batches: Counter
    rows: Counter
    rejected: Counter
    ingest_duration: Histogram
    request_duration: Histogram
    commit_duration: Histogram
    compacted_rows: Counter
    alerts_sent: Counter
    alerts_failed: Counter
    labels: Counter
    performance: Gauge
    build_info: Gauge

    def set_drift(self, model: str, version: str, feature: str, score: float | None, severity: str) -> None:
        """Exports one feature's latest drift score and severity (0 ok, 1 warning, 2 critical)."""
        if score is not None:
            self.drift_score.labels(model, version, feature).set(score)
        self.drift_severity.labels(model, version, feature).set(_SEVERITY.get(severity, 0.0))

    def set_performance(self, model: str, version: str, source: str, values: dict[str, float | None]) -> None:
        """Exports a model version's latest performance figures from ``source`` (``realized``,
        ``estimated`` or ``reference``); undefined ones are left as they were."""
        for metric, value in values.items():
            if value is not None:
                self.performance.labels(model, version, metric, source).set(value)


def build_metrics(registry: CollectorRegistry) -> Metrics:
    """Creates the metrics on ``registry`` (tests pass a fresh one; nothing global).

    Args:
        registry: Where to register.

    Returns:
        The metrics.
    """
    labels = ("model", "version", "feature")
    metrics = Metrics(
        registry=registry,
        drift_score=Gauge(
            "mlmon_feature_drift_score",
            "Latest PSI drift score of a feature",
            labels,
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        drift_severity=Gauge(
            "mlmon_feature_drift_severity",
            "Latest severity: 0 ok, 1 warning, 2 critical",
            labels,
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        batches=Counter(
            "mlmon_batches_ingested_total",
            "Batches counted (duplicates excluded)",
            ("model", "version"),
            registry=registry,
        ),
        rows=Counter("mlmon_rows_ingested_total", "Rows counted", ("model", "version"), registry=registry),
        rejected=Counter(
            "mlmon_batches_rejected_total",
            "Ingest requests refused, by reason",
            ("reason",),
            registry=registry,
        ),
        ingest_duration=Histogram(
            "mlmon_ingest_duration_seconds",
            "Ingest request time, decode to commit",
            registry=registry,
            buckets=_LATENCY,
        ),
        request_duration=Histogram(
            "mlmon_http_request_duration_seconds",
            "HTTP request time",
            ("method", "route", "status"),
            registry=registry,
            buckets=_LATENCY,
        ),
        commit_duration=Histogram(
            "mlmon_store_commit_duration_seconds",
            "Group commit time in the store",
            registry=registry,
            buckets=_LATENCY,
        ),
        compacted_rows=Counter(
            "mlmon_window_rows_compacted_total",
            "Window delta rows merged into their window's one row",
            registry=registry,
        ),
        alerts_sent=Counter(
            "mlmon_alerts_sent_total",
            "Alert deliveries that succeeded",
            ("severity", "sink"),
            registry=registry,
        ),
        alerts_failed=Counter(
            "mlmon_alerts_failed_total",
            "Alert deliveries that failed after retries",
            ("severity", "sink"),
            registry=registry,
        ),
        labels=Counter(
            "mlmon_labels_total",
            "Labels received, by what the join did: matched, duplicates, conflicts, pending, not_sampled",
            ("model", "outcome"),
            registry=registry,
        ),
        performance=Gauge(
            "mlmon_model_performance",
            "Latest model performance (accuracy, macro_f1, roc_auc, log_loss, mae, rmse, r2...) by source: "
            "realized from labels, estimated (CBPE) before them, reference from the deploy's validation",
            ("model", "version", "metric", "source"),
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        build_info=Gauge(
            "mlmon_build_info", "mlmon build", ("version",), registry=registry, multiprocess_mode="max"
        ),
    )
    metrics.build_info.labels(__version__).set(1)
    return metrics


def render(metrics: Metrics) -> bytes:
    """The exposition text: every worker's values merged when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)
    return generate_latest(metrics.registry)


def mark_worker_dead(pid: int | None = None) -> None:
    """Tells the multiprocess collector a worker ended (its ``live*`` gauge files go away; its counters
    and histograms stay, so totals keep what it counted). Nothing to do without multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid() if pid is None else pid)  # type: ignore[no-untyped-call]
