"""Turns a window's counts into a DriftReport: per-feature statistics, quality checks, display bins.

The bridge between ``windows`` (counts) and ``drift`` (results and policy). Statistics come from the
engine through :func:`mlmon.core.drift.scores`; nothing here loops over rows.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from mlmon.core import _native
from mlmon.core.baseline import Baseline
from mlmon.core.drift import (
    SEVERITY_ORDER,
    DriftReport,
    FeatureDrift,
    Severity,
    Thresholds,
    classify,
    explain,
    overall,
    scores,
    worst_severity,
)
from mlmon.core.quality import QualityThresholds, assess
from mlmon.core.schema import describe_typing, integer_hint
from mlmon.core.windows import WindowState

__all__ = ["DISPLAY_CATEGORIES", "evaluate"]

DISPLAY_CATEGORIES = 20
"""Categories drawn per feature; rarer ones are pooled so a 1,000-category feature stays readable."""


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _numeric_labels(edges: _native.BinEdges) -> list[str]:
    cuts = [_fmt(c) for c in edges.cuts]
    if not cuts:
        return ["all"]
    inner = [f"[{a}, {b})" for a, b in itertools.pairwise(cuts)]
    return [f"< {cuts[0]}", *inner, f"≥ {cuts[-1]}"]


def _shares(counts: npt.NDArray[Any]) -> list[float]:
    total = counts.sum()
    return (counts / total).round(6).tolist() if total else [0.0] * len(counts)


def display_bins(
    baseline: Baseline, name: str, ref: npt.NDArray[Any], cur: npt.NDArray[Any]
) -> tuple[list[str], list[float], list[float]]:
    """Labels and reference/current shares to draw: every bin of a numerical feature; for a categorical
    one the most frequent reference categories, the rest pooled as ``(other)``, then ``(unseen)``."""
    prof = baseline.profiles[name]
    if isinstance(prof, _native.NumericHistogram):
        return _numeric_labels(prof.edges), _shares(ref), _shares(cur)
    cats = [str(c) for c in prof.categories]
    top = min(len(cats), DISPLAY_CATEGORIES)
    # distribution = categories (by descending reference count), other, unseen
    ref_d = np.concatenate([ref[:top], [ref[top:-1].sum()], ref[-1:]]).astype(np.float64)
    cur_d = np.concatenate([cur[:top], [cur[top:-1].sum()], cur[-1:]]).astype(np.float64)
    return [*cats[:top], "(other)", "(unseen)"], _shares(ref_d), _shares(cur_d)


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def feature_drift(
    baseline: Baseline, state: WindowState, name: str, thresholds: Thresholds, quality: QualityThresholds
) -> FeatureDrift:
    """The drift and quality of one feature in one window."""
    ref_prof, prof = baseline.profiles[name], state.profiles[name]
    invalid, extra = state.invalid[name], state.extra_missing[name]
    count = prof.total + invalid + extra
    top_unseen: list[tuple[str | int, int]] = []
    if isinstance(prof, _native.NumericHistogram):
        cur, out_of_range, unseen = prof.counts, _rate(prof.out_of_range, count), None
    else:
        cur, out_of_range, unseen = prof.distribution, None, _rate(prof.unseen, count)
        top_unseen = prof.top_unseen(5)
    ref = baseline.reference_counts(name)
    stats = scores(ref, cur)
    limits = thresholds.for_feature(name)
    rates: dict[str, Any] = {
        "missing_rate": _rate(prof.missing + extra, count),
        "reference_missing_rate": _rate(ref_prof.missing, ref_prof.total),
        "invalid_rate": _rate(invalid, count),
        "out_of_range_rate": out_of_range,
        "unseen_rate": unseen,
    }
    q_severity, issues = assess(**rates, limits=quality)
    labels, ref_shares, cur_shares = display_bins(baseline, name, ref, cur)
    n_valid = int(cur.sum())
    severity = classify(stats.score, stats.noise_floor, n_valid, limits, thresholds.min_count)
    reason = (
        _empty_reason(state, name, count)
        if n_valid == 0
        else (explain(stats.score, stats.noise_floor, n_valid, limits, thresholds.min_count))
    )
    spec = baseline.features[name]
    hint = integer_hint(spec, len(cur), baseline.bins) if unseen is None else None
    return FeatureDrift(
        name=name,
        kind=spec.kind,
        method="psi",
        score=stats.score,
        severity=severity,
        reason=reason,
        typing=describe_typing(spec),
        typing_hint=hint,
        noise_floor=stats.noise_floor if np.isfinite(stats.noise_floor) else None,
        significant=stats.p_value is not None and stats.p_value < thresholds.significance,
        chi2=stats.chi2,
        dof=stats.dof,
        p_value=stats.p_value,
        js_distance=stats.js_distance,
        count=count,
        reference_count=ref_prof.total,
        top_unseen=top_unseen,
        quality_severity=q_severity,
        quality_issues=issues,
        warning_threshold=limits.warning,
        critical_threshold=limits.critical,
        labels=labels,
        reference_shares=ref_shares,
        current_shares=cur_shares,
        role="output" if name in baseline.outputs else "input",
        **rates,
    )


def _empty_reason(state: WindowState, name: str, count: int) -> str:
    """Why a feature has no value to score: no rows, an absent column, all missing or all invalid."""
    if count == 0:
        return "no rows counted"
    invalid = state.invalid[name]
    if name in state.missing_columns and state.extra_missing[name] == count:
        return "column absent from every batch"
    if invalid == 0:
        return f"all {count:,} values missing"
    if invalid == count:
        return f"all {count:,} values invalid (wrong type)"
    return f"no valid values ({count - invalid:,} missing, {invalid:,} invalid)"


def evaluate(
    baseline: Baseline,
    state: WindowState,
    thresholds: Thresholds,
    quality: QualityThresholds,
    window_seconds: float | None = None,
) -> DriftReport:
    """The drift report of one window (``window_seconds`` set for time windows: exact bounds)."""
    features = {name: feature_drift(baseline, state, name, thresholds, quality) for name in baseline.features}
    score, share, _ = overall(features, baseline.feature_importance)
    start, end = state.start, state.end
    if window_seconds:
        start = datetime.fromtimestamp(state.key * window_seconds, timezone.utc)
        end = start + timedelta(seconds=window_seconds)
    q_worst: Severity = max(
        (f.quality_severity for f in features.values()), key=SEVERITY_ORDER.__getitem__, default="ok"
    )
    weighted = any(baseline.feature_importance.get(n, 0.0) > 0 for n in features)
    return DriftReport(
        severity=worst_severity(features.values()),
        prediction_severity=worst_severity(f for f in features.values() if f.role == "output"),
        score=score,
        drifted_share=share,
        features=features,
        drifted_count=sum(f.drifted for f in features.values() if f.role == "input"),
        score_weighting="importance" if weighted else "equal",
        reference_rows=baseline.n_rows,
        current_rows=state.rows,
        row_start=state.row_start,
        row_end=state.row_start + state.rows,
        window_start=start,
        window_end=end,
        missing_columns=sorted(state.missing_columns),
        unexpected_columns=sorted(state.unexpected),
        quality_severity=q_worst,
        model=baseline.model,
        version=baseline.version,
        thresholds=thresholds,
    )
