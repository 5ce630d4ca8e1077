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

__all__ = ["PerformanceResponse", "WindowPerformance", "performance_of", "read_performance", "total_of"]

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


Decoded = tuple[PerformanceWindow, Any, Any]
"""A stored window with its realized counts and its confidence counts decoded (``None`` where absent)."""


def _decoded(windows: list[PerformanceWindow]) -> list[Decoded]:
    # Each blob is decoded once: the window's row and the range's total both read the same objects.
    return [
        (w, decode(w.realized) if w.realized else None, decode(w.estimate) if w.estimate else None)
        for w in windows
    ]


def _row(
    reference: Reference,
    span: tuple[datetime, datetime],
    counts: ClassificationCounts | RegressionCounts | None,
    labelled: int,
    confidence: ConfidenceCounts | None,
    estimated: int,
) -> WindowPerformance:
    guess = None
    if confidence is not None and reference.calibration is not None:
        guess = reference.estimate(confidence)
    return WindowPerformance(
        window_start=span[0],
        window_end=span[1],
        labelled=labelled,
        estimated=estimated,
        realized=None if counts is None else counts.metrics(),
        estimate=guess,
    )


def _summed(empty: Any, parts: list[Any]) -> Any:
    """The merge of ``parts`` into a fresh ``empty`` (the windows' own objects stay as they are)."""
    if empty is None or not parts:
        return None
    for part in parts:
        empty.merge(part)
    return empty


def _total(
    reference: Reference, span: tuple[datetime, datetime], decoded: list[Decoded]
) -> WindowPerformance:
    counts = _summed(reference.empty_counts(), [c for _, c, _ in decoded if c is not None])
    confidence = _summed(reference.empty_confidence(), [e for _, _, e in decoded if e is not None])
    labelled = sum(w.labelled for w, _, _ in decoded)
    return _row(reference, span, counts, labelled, confidence, sum(w.estimated for w, _, _ in decoded))


def total_of(
    reference: Reference, span: tuple[datetime, datetime], windows: list[PerformanceWindow]
) -> WindowPerformance:
    """The range's performance alone (the exact merge of its windows), without a row per window.

    Raises:
        CodecError: damaged stored counts.
        InputError: stored counts of other classes or bins than the reference's.
    """
    return _total(reference, span, _decoded(windows))


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
    decoded = _decoded(windows)
    rows = [_row(ref, (w.window_start, w.window_end), c, w.labelled, e, w.estimated) for w, c, e in decoded]
    return PerformanceResponse(
        model=model,
        version=version,
        task=ref.task,
        classes=ref.classes,
        reference=ref.metrics(),
        windows=rows,
        total=_total(ref, span, decoded),
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
