"""Alerts on the model's quality: a drop of its headline metric against the reference the deploy step
measured on the validation set, early from the label-free estimate and late from joined labels.

* **estimated** (CBPE): over the window the drift check watches, from every row with probabilities;
* **realized**: over the trailing ``performance_lookback_seconds`` of windows, re-read at every check,
  since labels of a closed window keep arriving for days.

The headline metric is accuracy for a classifier (higher is better; a drop is ``reference - now``) and
RMSE for a regression model (lower is better; a drop is ``now - reference``). A drop alerts at
``warning`` or ``critical`` when it reaches the absolute threshold (accuracy only: RMSE has the target's
units) or the relative one (``drop / reference``), with at least ``performance_min_rows`` rows. Alerts
go through the same claim (one per cooldown across replicas) and routes as drift alerts, under the
feature names ``performance:<metric>`` and ``estimated:<metric>``, the current value as their score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import anyio.to_thread

from mlmon.performance import ClassificationMetrics, RegressionMetrics
from mlmon.service.ingest.outputs import OutputSpec
from mlmon.service.labels.view import WindowPerformance, total_of
from mlmon.service.metrics import Metrics
from mlmon.service.settings import Settings
from mlmon.store import Store

__all__ = ["Drop", "PerformanceWatch", "headline", "severity_of"]

Severity = Literal["warning", "critical"]


@dataclass(frozen=True)
class Drop:
    """A headline metric that fell far enough to alert."""

    feature: str
    severity: Severity
    value: float
    window_start: datetime
    window_end: datetime


def headline(metrics: ClassificationMetrics | RegressionMetrics | None) -> tuple[str, float | None]:
    """The metric a drop is measured on: ``(name, value)``."""
    if isinstance(metrics, RegressionMetrics):
        return "rmse", metrics.rmse
    return "accuracy", None if metrics is None else metrics.accuracy


def severity_of(settings: Settings, metric: str, reference: float, value: float) -> Severity | None:
    """The severity of ``value`` against ``reference`` under the settings' thresholds, or ``None``."""
    drop = value - reference if metric == "rmse" else reference - value
    if drop <= 0:
        return None
    relative = drop / abs(reference) if reference else float("inf")
    bounded = metric != "rmse"  # absolute thresholds read as accuracy points
    for severity, absolute, share in (
        ("critical", settings.performance_critical_drop, settings.performance_critical_relative),
        ("warning", settings.performance_warning_drop, settings.performance_warning_relative),
    ):
        if (bounded and absolute is not None and drop >= absolute) or (
            share is not None and relative >= share
        ):
            return severity  # type: ignore[return-value]
    return None


class PerformanceWatch:
    """Reads a version's performance, exports it, and says which drops alert.

    Args:
        settings: Thresholds, lookback and minimum rows.
        store: The store (performance counts, the label join's status).
        metrics: Where the figures are exported (``mlmon_model_performance``).
    """

    def __init__(self, settings: Settings, store: Store, metrics: Metrics) -> None:
        self._settings = settings
        self._store = store
        self._metrics = metrics

    async def _read(
        self, spec: OutputSpec, model: str, version: str, start: datetime, end: datetime
    ) -> WindowPerformance:
        def read() -> WindowPerformance:  # the merge too runs off the event loop
            return total_of(spec.reference, (start, end), self._store.performance(model, version, start, end))

        return await anyio.to_thread.run_sync(read)

    def _export(
        self, model: str, version: str, source: str, perf: ClassificationMetrics | RegressionMetrics | None
    ) -> None:
        if isinstance(perf, ClassificationMetrics):
            auc = perf.macro_roc_auc.value if perf.macro_roc_auc is not None else None
            values = {
                "accuracy": perf.accuracy,
                "macro_f1": perf.macro_f1,
                "roc_auc": auc,
                "log_loss": perf.log_loss,
            }
        elif isinstance(perf, RegressionMetrics):
            values = {"mae": perf.mae, "rmse": perf.rmse, "r2": perf.r2, "bias": perf.bias}
        else:
            return
        self._metrics.set_performance(model, version, source, values)

    async def drops(
        self,
        spec: OutputSpec,
        model: str,
        version: str,
        watched: tuple[datetime, datetime] | None,
        now_end: datetime,
    ) -> list[Drop]:
        """The drops to alert on: the estimate over ``watched`` (when given), the realized metric over
        the lookback ending at ``now_end``."""
        s = self._settings
        reference = spec.reference.metrics()
        metric, ref_value = headline(reference)
        self._export(model, version, "reference", reference)
        out: list[Drop] = []
        if ref_value is None:
            return out
        lookback = (now_end - timedelta(seconds=s.performance_lookback_seconds), now_end)
        realized = await self._read(spec, model, version, *lookback)
        self._export(model, version, "realized", realized.realized)
        _, value = headline(realized.realized)
        if value is not None and realized.labelled >= s.performance_min_rows:
            level = severity_of(s, metric, ref_value, value)
            if level is not None:
                out.append(Drop(f"performance:{metric}", level, value, *lookback))
        if watched is None or spec.reference.calibration is None:
            return out
        estimated = await self._read(spec, model, version, *watched)
        guess = estimated.estimate
        if guess is not None and guess.accuracy is not None:
            self._metrics.set_performance(
                model, version, "estimated", {"accuracy": guess.accuracy, "roc_auc": guess.roc_auc}
            )
            if estimated.estimated >= s.performance_min_rows:
                level = severity_of(s, "accuracy", ref_value, guess.accuracy)
                if level is not None:
                    out.append(Drop("estimated:accuracy", level, guess.accuracy, *watched))
        return out
