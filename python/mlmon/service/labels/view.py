"""The model's performance as the service shows it: per window and over the whole range, realized from
joined labels and estimated (CBPE) from every row's probabilities, beside the reference the deploy step
measured on the validation set, with the label join's own counts.

Counts come from the store already merged per window (every writer's rows); a range is their exact
merge, so the range's metrics are those of all its labelled rows at once, not an average of windows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from mlmon.performance import (
    ClassificationCounts,
    ClassificationMetrics,
    ConfidenceCounts,
    Estimate,
    Reference,
    RegressionCounts,
    RegressionMetrics,
    decode,
)
from mlmon.service.ingest.outputs import OutputSpec
from mlmon.store import LabelStatus, PerformanceWindow, Store

__all__ = ["PerformanceResponse", "WindowPerformance", "performance_of", "read_performance"]

Metrics = ClassificationMetrics | RegressionMetrics


class WindowPerformance(msgspec.Struct):
    """One window's (or the range's) performance: ``realized`` from its ``labelled`` rows, ``estimate``
    from its ``estimated`` rows (``None`` where there are none)."""

    window_start: datetime
    window_end: datetime
    labelled: int
    estimated: int
    realized: Metrics | None
    estimate: Estimate | None


class PerformanceResponse(msgspec.Struct):
    """The performance of one model version over a range."""

    model: str
    version: str
    task: Literal["classification", "regression"]
    classes: list[Any] | None
    reference: Metrics
    windows: list[WindowPerformance]
    total: WindowPerformance
    labels: LabelStatus


def _merged(blobs: list[bytes]) -> Any:
    first = decode(blobs[0])
    for blob in blobs[1:]:
        first.merge(decode(blob))  # type: ignore[arg-type]  # one kind per column, by construction
    return first


def _of(
    reference: Reference,
    start: datetime,
    end: datetime,
    realized: list[bytes],
    labelled: int,
    estimate: list[bytes],
    estimated: int,
) -> WindowPerformance:
    counts: ClassificationCounts | RegressionCounts | None = _merged(realized) if realized else None
    confidence: ConfidenceCounts | None = _merged(estimate) if estimate else None
    guess = None
    if confidence is not None and reference.calibration is not None:
        guess = reference.estimate(confidence)
    return WindowPerformance(
        window_start=start,
        window_end=end,
        labelled=labelled,
        estimated=estimated,
        realized=None if counts is None else counts.metrics(),
        estimate=guess,
    )


def performance_of(
    spec: OutputSpec,
    model: str,
    version: str,
    span: tuple[datetime, datetime],
    windows: list[PerformanceWindow],
    status: LabelStatus,
) -> PerformanceResponse:
    """The response for the stored windows of a range."""
    ref = spec.reference
    rows = [
        _of(
            ref,
            w.window_start,
            w.window_end,
            [w.realized] if w.realized else [],
            w.labelled,
            [w.estimate] if w.estimate else [],
            w.estimated,
        )
        for w in windows
    ]
    total = _of(
        ref,
        span[0],
        span[1],
        [w.realized for w in windows if w.realized],
        sum(w.labelled for w in windows),
        [w.estimate for w in windows if w.estimate],
        sum(w.estimated for w in windows),
    )
    return PerformanceResponse(
        model=model,
        version=version,
        task=ref.task,
        classes=ref.classes,
        reference=ref.metrics(),
        windows=rows,
        total=total,
        labels=status,
    )


def read_performance(
    store: Store, spec: OutputSpec, model: str, version: str, span: tuple[datetime, datetime]
) -> PerformanceResponse:
    """Reads a range's stored counts and the label join's status and builds the response (what
    ``GET /performance``, the dashboard and the report page show; blocking: call it in a thread).

    Raises:
        CodecError: damaged stored counts.
    """
    windows = store.performance(model, version, *span)
    return performance_of(spec, model, version, span, windows, store.label_status(model))
